#pragma once
// Exec workers on demand: a queue, at most `max_parallel` running, the single-writer rule per cwd,
// timeouts, cancel, resume, and joins that write the task's report.
//
// The pool knows nothing about editors: the bridge turns its callbacks into coco/exec/* notifications
// (worker_methods.h) and `coco exec` into terminal output (exec_cli.h). Everything runs on one
// io_context; nothing here blocks it (git and codex are child processes watched through pidfds;
// only small artifacts are written inline).
//
// A worker's life: queued -> starting (worktree being created) -> running -> completed | failed |
// cancelled | timedOut. `resume` puts a finished worker back in the queue for another run on its
// thread. Every transition is a task event (agent.*) and a task.yaml status.

#include "workers/exec_worker.h"
#include "workers/worker_spec.h"
#include "taskdir/task_writer.h"

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace coco::workers {

struct PoolOptions {
  std::string codex;                 // the codex executable
  std::vector<std::string> env;      // base environment for workers ("K=V"); empty: ours
  int max_parallel = 0;              // 0: the number of cores
  std::chrono::milliseconds kill_grace{2000};  // SIGTERM -> SIGKILL
  std::filesystem::path seed_codex_home;       // empty: the user's (CODEX_HOME, else ~/.codex)
  // Where the workers' own CODEX_HOMEs go (<root>/<task id>/<worker>; agents/<worker>/codex-home links
  // there). Not inside the task directory: codex refuses to set up its sandbox helper under the
  // system temp dir, so a task root under /tmp would leave every sandboxed command unable to run.
  // Empty: inside the task directory (agents/<worker>/codex-home), as tests of the pool alone do.
  std::filesystem::path codex_homes_root;
  std::vector<std::string> reserved_names;     // agent names taken by others in the task (app-server)
};

class WorkerPool {
public:
  WorkerPool(asio::io_context& io, taskdir::TaskWriter& task, PoolOptions options);
  ~WorkerPool();  // running workers' process groups are killed (their children cannot outlive us)
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  struct Spawned {
    std::string agent_id;
    std::filesystem::path dir;
  };
  // Throws std::invalid_argument (a bad or taken name, a cwd outside git for worktree isolation) or
  // std::runtime_error (the agent directory cannot be created). Problems after the agent directory
  // exists (a full disk writing schema.json) do not throw: the worker ends `failed` with the reason.
  Spawned spawn(std::string name, WorkerSpec spec);
  // {agentId, status, cancelled}: `cancelled` is false when the worker had already finished.
  // Throws std::invalid_argument for an unknown id.
  nlohmann::json cancel(const std::string& agent_id, const std::string& reason = "cancelled on request");
  // Another turn on a finished worker's thread, in its own CODEX_HOME. Throws std::invalid_argument.
  Spawned resume(const std::string& agent_id, std::string prompt);
  // Waits for the named workers (all when empty) and writes shared/reports/{report.json,summary.md};
  // `done` gets the report. A timeout of 0 waits forever; when it expires the report is written
  // with `complete: false`. Throws std::invalid_argument for an unknown id.
  void join(std::vector<std::string> agent_ids, std::chrono::milliseconds timeout,
            std::function<void(const nlohmann::json& report)> done);
  // Cancels everything not finished. With `record_now` (the process is about to exit) the workers are
  // recorded as cancelled immediately instead of when their processes are gone.
  void cancel_all(const std::string& reason, bool record_now = false);

  nlohmann::json list() const;                           // {workers: [describe...]}
  nlohmann::json describe(const std::string& id) const;  // null for an unknown id
  std::vector<std::string> ids() const { return order_; }
  bool all_finished() const;
  int max_parallel() const { return max_parallel_; }

  // Each stdout line of a worker: the parsed event, or {"malformed": line} for a line that is not JSON.
  std::function<void(const std::string& agent_id, const nlohmann::json& event)> on_event;
  // The end of a run: {agentId, status, reason, threadId, final, usage, durationMs, ...}.
  std::function<void(const nlohmann::json& completed)> on_completed;
  // Any state change or new event (for progress displays).
  std::function<void(const std::string& agent_id)> on_change;

private:
  struct Worker;
  struct Join;

  Worker& get(const std::string& id);
  const Worker* find(const std::string& id) const;
  std::string generate_name() const;
  void prepare(Worker& w);
  void pump();
  bool may_start(const Worker& w) const;
  void start(Worker& w);
  void run_next_git();
  void launch(Worker& w);
  void on_line(Worker& w, const std::string& line, const nlohmann::json* event);
  void on_run_exit(Worker& w, const process::ExitStatus& status, const std::string& stderr_tail);
  void finish(Worker& w, const std::string& status, const std::string& reason);
  void check_joins();
  nlohmann::json write_report(const std::vector<std::string>& ids, bool complete);
  nlohmann::json describe(const Worker& w) const;
  void changed(const Worker& w);
  // Runs `fn` from the loop later, unless the pool is gone by then.
  void defer(std::function<void()> fn);

  asio::io_context& io_;
  taskdir::TaskWriter& task_;
  PoolOptions options_;
  int max_parallel_;
  std::filesystem::path reports_dir_;
  std::map<std::string, std::unique_ptr<Worker>, std::less<>> workers_;
  std::vector<std::string> order_;  // spawn order, for lists and reports
  std::deque<std::string> queue_;   // waiting to start, in order
  std::vector<std::unique_ptr<Join>> joins_;
  std::uint64_t next_join_ = 0;
  // `git worktree add` runs one at a time: concurrent adds race on the repository's admin files.
  std::deque<std::string> git_queue_;
  bool git_busy_ = false;
  bool closed_ = false;  // shutting down: no new workers or runs
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace coco::workers
