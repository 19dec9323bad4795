#pragma once
// Writes one task directory: task.yaml, events.jsonl and one runtime log per agent.
//
// Every public method may be called from the event loop: it stamps the record (ts, and seq in queue
// order) and queues it; a single background thread does the disk I/O and the secret redaction, so a
// slow disk never stalls the event loop. Only add_agent and create touch the disk (mkdir/open).
// A producer that can wait watches recorder_congested() and stops reading its source while the disk
// is behind (the bridge does, so its recordings are complete); beyond a hard bound the queue drops
// what others push, counts it, and reports a `recording.dropped` event as soon as there is room again
// (never silently).
//
// Layout and field meanings are documented in docs/task-directory.md.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace coco::taskdir {

struct TaskMeta {
  std::string cwd;            // the editor's working directory (bridge cwd by default)
  std::string codex_version;  // "" until known
  std::string title;          // "" until the first prompt
};

struct WriterOptions {
  // Backpressure: recorder_congested() is true from the moment this much waits for the disk until the
  // disk thread has brought it down to resume_below_bytes.
  std::size_t pause_above_bytes = std::size_t{8} << 20;
  std::size_t resume_below_bytes = std::size_t{2} << 20;
  // Hard bound of the disk queue. Once it is reached, agent records and stderr are dropped (and
  // reported by a `recording.dropped` event); task events and task.yaml are never dropped.
  std::size_t max_queued_bytes = std::size_t{64} << 20;
};

// Names that become path components (task ids, agent instances) must match [a-z0-9][a-z0-9_-]{0,63}.
bool is_valid_name(std::string_view name);
// Exactly the shape make_task_id produces (it has upper-case T and Z, so it is not an is_valid_name).
bool is_valid_task_id(std::string_view id);

// Task ids sort by time: YYYYMMDDTHHMMSSZ-<6 hex>.
std::string make_task_id(std::chrono::system_clock::time_point now);

// One line, whitespace runs collapsed, at most 80 characters (UTF-8 code points; "…" marks a cut).
std::string shorten_title(std::string_view text);

class DiskQueue;  // the background writer (disk_queue.h)

struct WriterStats {
  std::uint64_t dropped_lines = 0;  // records not written because the queue was full
  std::uint64_t dropped_bytes = 0;
  std::uint64_t write_errors = 0;  // failed write()/fsync()/task.yaml rewrites
  std::uint64_t records = 0;       // record lines given to the recorder (events included)
};

// A handle to agents/<instance>/runtime/. Cheap to copy; all writes go through the task's queue.
// Its methods may be called from any thread. A default-constructed AgentLog records nothing.
class AgentLog {
 public:
  AgentLog() = default;
  explicit operator bool() const { return queue_ != nullptr; }

  // Appends {seq, ts, dir, msg} to runtime/events.jsonl. `raw_json` must be one valid JSON value
  // (it is embedded as is, after secret redaction, which happens on the disk thread).
  void message(std::string_view dir, std::string_view raw_json);
  // Records bytes that were not a valid message: {seq, ts, dir, error, raw} (raw as a JSON string).
  void invalid(std::string_view dir, std::string_view error, std::string_view raw_bytes);
  // Appends to runtime/stderr.log verbatim (redacted).
  void stderr_bytes(std::string_view bytes);
  const std::filesystem::path& dir() const { return dir_; }

 private:
  friend class TaskWriter;
  AgentLog(std::shared_ptr<DiskQueue> q, std::filesystem::path dir, std::uint64_t events_slot,
           std::uint64_t stderr_slot, std::shared_ptr<std::uint64_t> seq);
  std::shared_ptr<DiskQueue> queue_;
  std::filesystem::path dir_;
  std::uint64_t events_slot_ = 0;  // DiskQueue::SlotId of runtime/events.jsonl
  std::uint64_t stderr_slot_ = 0;  // and of runtime/stderr.log
  std::shared_ptr<std::uint64_t> seq_;  // per-file sequence, incremented under the queue's lock
};

class TaskWriter {
 public:
  // Creates <root>/<new id>/ (0700; root created 0700 if missing), task.yaml with status
  // `running`, and events.jsonl with `task.created`. Throws std::runtime_error with a clear message.
  static std::unique_ptr<TaskWriter> create(const std::filesystem::path& root, const TaskMeta& meta);
  static std::unique_ptr<TaskWriter> create(const std::filesystem::path& root, const TaskMeta& meta,
                                            const WriterOptions& options);
  // Continues an existing task directory (`coco bridge --task`): events.jsonl and the agents' logs go
  // on where they stopped (seq keeps increasing), task.yaml is `running` again with this process as
  // its bridge, and a `task.resumed` event says so. Throws std::runtime_error when `dir` holds no
  // task, or when a live bridge is still writing it.
  static std::unique_ptr<TaskWriter> resume(const std::filesystem::path& dir, const WriterOptions& options);
  ~TaskWriter();  // finish("completed") if finish() was not called

  const std::string& id() const { return id_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Appends {seq, ts, type, ...fields} to events.jsonl.
  void event(std::string_view type, nlohmann::json fields = nlohmann::json::object());

  // Creates agents/<instance>/runtime/{events.jsonl,stderr.log} and lists the agent in task.yaml.
  // `instance` must pass is_valid_name (throws std::invalid_argument otherwise). Adding an instance
  // again (a restarted upstream) returns the same log, marks it running again and keeps its seq going.
  AgentLog add_agent(std::string_view instance, std::string_view kind);
  // Closes the agent's two files once what is queued for them is written (a finished worker: a long
  // session must not hold two fds per worker it ever ran). Copies of its AgentLog record nothing
  // more; add_agent again reopens the files (appending) and keeps the seq going.
  void close_agent(std::string_view instance);
  void set_agent_status(std::string_view instance, std::string_view status);
  // The agents task.yaml lists (a continued task's earlier ones included).
  std::vector<std::string> agent_ids() const;

  void set_title(std::string_view title);  // shortened to one line of at most 80 characters
  bool has_title() const;
  void set_codex_version(std::string_view version);
  void set_status(std::string_view status);  // running|completed|failed|interrupted

  // Asks the disk thread to fsync everything written so far (does not wait).
  void sync();
  // Writes `task.completed`, the final task.yaml, fsyncs and waits until everything is on disk.
  // Agents still `running` get `status`. `reason` (for `failed`) goes into both. Everything after
  // finish() is ignored.
  void finish(std::string_view status, std::string_view reason = {});

  // Drops and write errors so far (also reported in events.jsonl).
  WriterStats stats() const;

  // True while the disk is behind (WriterOptions::pause_above_bytes). A producer that pauses then
  // resumes when `callback` runs: once per congestion, on the disk thread, so it must only post the
  // news to its own thread. on_recorder_relieved(nullptr) stops the calls (none is running when it
  // returns).
  bool recorder_congested() const;
  void on_recorder_relieved(std::function<void()> callback);

 private:
  TaskWriter() = default;
  void write_task_yaml();  // queued atomic rewrite (temp file + rename); mutex_ held
  void open_queue(const WriterOptions& options, std::uint64_t last_event_seq);
  std::shared_ptr<DiskQueue> queue_;
  std::string id_;
  std::filesystem::path dir_;
  int events_fd_ = -1;
  mutable std::mutex mutex_;  // guards meta_, agents_, finished_: set_* may come from any thread
  nlohmann::json meta_;  // what task.yaml holds
  struct Agent {
    AgentLog log;
    bool open = true;
  };
  std::map<std::string, Agent, std::less<>> agents_;
  bool finished_ = false;
};

}  // namespace coco::taskdir
