#include "workers/worker_pool.h"

#include "workers/git_worktree.h"
#include "workers/worker_report.h"
#include "taskdir/fs_util.h"
#include "text/one_line.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <sys/stat.h>

namespace coco::workers {
using text::one_line;
namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxFinalBytes = 16u << 20;
constexpr std::size_t kMaxErrorsKept = 50;

bool is_terminal(std::string_view state) {
  return state == "completed" || state == "failed" || state == "cancelled" || state == "timedOut";
}

std::string iso(std::chrono::system_clock::time_point t) { return taskdir::detail::iso_utc_ms(t); }

// Reads codex's --output-last-message file. Missing or unreadable means "no final message".
std::string read_final(const fs::path& file) {
  ::chmod(file.c_str(), 0600);  // codex creates it with the umask; the artifacts are private
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::string text(kMaxFinalBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

}  // namespace

struct WorkerPool::Worker {
  explicit Worker(asio::io_context& io) : timeout_timer(io) {}

  std::string id;
  WorkerSpec spec;
  fs::path dir, artifacts, codex_home, final_file;
  std::optional<fs::path> schema_file;
  std::string run_cwd;     // where codex works: spec.cwd, or the same place in the worktree
  std::string writer_key;  // the canonical cwd when the single-writer rule applies, else ""
  fs::path repo_root;      // worktree isolation: the repository's top level
  std::string branch;
  fs::path worktree;
  bool worktree_ready = false;
  std::string prepare_error;  // the worker could not be set up; it fails when it would start

  std::string state = "queued";
  std::string reason;
  taskdir::AgentLog log;
  bool log_closed = false;  // between runs the worker's two files are closed (TaskWriter::close_agent)
  std::unique_ptr<ExecRun> run;
  std::unique_ptr<CapturedCommand> git;
  ExecProgress progress;  // of the current run
  std::string prompt;     // of the current run
  bool resuming = false;
  std::string thread_id;
  int runs = 0;
  json final;
  json usage;
  std::vector<std::string> errors;
  std::size_t malformed = 0;
  std::optional<process::ExitStatus> exit;
  std::chrono::system_clock::time_point spawned_at, started_at, ended_at;
  Clock::time_point started_steady;
  bool started = false;
  long long duration_ms = -1;
  asio::steady_timer timeout_timer;
  bool cancel_requested = false, timed_out = false;
  std::string cancel_reason;
  bool end_recorded = false;  // cancel_all(record_now): the end is already in the task
};

struct WorkerPool::Join {
  std::uint64_t id = 0;
  std::vector<std::string> ids;
  std::unique_ptr<asio::steady_timer> timer;
  std::function<void(const json&)> done;
};

WorkerPool::WorkerPool(asio::io_context& io, taskdir::TaskWriter& task, PoolOptions options)
    : io_(io), task_(task), options_(std::move(options)) {
  max_parallel_ = options_.max_parallel > 0 ? options_.max_parallel
                                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  reports_dir_ = task_.dir() / "shared" / "reports";
  if (options_.seed_codex_home.empty()) options_.seed_codex_home = user_codex_home(options_.env);
}

WorkerPool::~WorkerPool() {
  *alive_ = false;
  // Members go first: ~ExecRun and ~CapturedCommand kill their process groups.
}

void WorkerPool::defer(std::function<void()> fn) {
  asio::post(io_, [alive = std::weak_ptr<bool>(alive_), fn = std::move(fn)] {
    if (auto a = alive.lock(); a && *a) fn();
  });
}

WorkerPool::Worker& WorkerPool::get(const std::string& id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) throw std::invalid_argument("no worker named '" + id + "'");
  return *it->second;
}

const WorkerPool::Worker* WorkerPool::find(const std::string& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

std::string WorkerPool::generate_name() const {
  for (std::size_t n = workers_.size() + 1;; ++n) {
    std::string name = "worker-" + std::to_string(n);
    bool reserved = std::find(options_.reserved_names.begin(), options_.reserved_names.end(), name) !=
                    options_.reserved_names.end();
    if (!workers_.count(name) && !reserved) return name;
  }
}

// ---------------------------------------------------------------------------------------------
// spawn, prepare

WorkerPool::Spawned WorkerPool::spawn(std::string name, WorkerSpec spec) {
  if (closed_) throw std::invalid_argument("the bridge is shutting down; no new workers");
  if (spec.prompt.empty()) throw std::invalid_argument("prompt must not be empty");
  if (!is_valid_sandbox(spec.sandbox)) throw std::invalid_argument("invalid sandbox '" + spec.sandbox + "'");
  if (name.empty()) {
    name = generate_name();
  } else {
    if (!taskdir::is_valid_name(name)) {
      throw std::invalid_argument("invalid worker name '" + name + "': use 1-64 of a-z, 0-9, '-', '_'");
    }
    bool reserved = std::find(options_.reserved_names.begin(), options_.reserved_names.end(), name) !=
                    options_.reserved_names.end();
    if (workers_.count(name) || reserved) throw std::invalid_argument("the name '" + name + "' is already taken");
  }
  std::optional<fs::path> repo;
  if (spec.isolation == Isolation::Worktree) {
    repo = find_git_root(spec.cwd);
    if (!repo) {
      throw std::invalid_argument("worktree isolation needs a git repository, and " + spec.cwd + " is not inside one");
    }
  }

  taskdir::AgentLog log = task_.add_agent(name, "exec");  // may throw: nothing recorded yet
  auto owned = std::make_unique<Worker>(io_);
  Worker& w = *owned;
  w.id = name;
  w.spec = std::move(spec);
  w.log = log;
  w.dir = task_.dir() / "agents" / name;
  w.artifacts = w.dir / "artifacts";
  w.codex_home = options_.codex_homes_root.empty() ? w.dir / "codex-home"
                                                  : options_.codex_homes_root / task_.id() / name;
  w.final_file = w.artifacts / "final.json";
  w.prompt = w.spec.prompt;
  w.run_cwd = w.spec.cwd;
  w.spawned_at = std::chrono::system_clock::now();
  if (repo) {
    w.repo_root = *repo;
    w.branch = worktree_branch(task_.id(), name);
    w.worktree = w.dir / "worktree";
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(w.spec.cwd, ec);
    fs::path rel = (ec ? fs::path(w.spec.cwd) : canonical).lexically_relative(*repo);
    w.run_cwd = (rel.empty() || rel == "." ? w.worktree : w.worktree / rel).lexically_normal().string();
  } else if (is_writable_sandbox(w.spec.sandbox)) {
    std::error_code ec;
    fs::path canonical = fs::canonical(w.spec.cwd, ec);
    w.writer_key = ec ? fs::path(w.spec.cwd).lexically_normal().string() : canonical.string();
  }
  workers_.emplace(name, std::move(owned));
  order_.push_back(name);

  task_.set_agent_status(name, "queued");
  json fields = {{"agentId", name},
                 {"prompt", one_line(w.prompt, 200)},
                 {"cwd", w.spec.cwd},
                 {"sandbox", w.spec.sandbox},
                 {"isolation", to_string(w.spec.isolation)},
                 {"outputSchema", w.spec.output_schema.has_value()}};
  if (!w.spec.model.empty()) fields["model"] = w.spec.model;
  if (w.spec.timeout.count() > 0) fields["timeoutMs"] = w.spec.timeout.count();
  if (!w.branch.empty()) fields["branch"] = w.branch;
  task_.event("agent.spawned", std::move(fields));
  spdlog::debug("exec worker {} queued", name);

  prepare(w);
  // Start (or fail) from the loop, not from here: the caller's answer (agentId) should reach the
  // editor before anything the worker reports.
  if (!w.prepare_error.empty()) {
    defer([this, id = name] {
      Worker& failed = get(id);
      if (failed.state == "queued") finish(failed, "failed", failed.prepare_error);
    });
  } else {
    queue_.push_back(name);
    defer([this] { pump(); });
  }
  return {name, w.dir};
}

void WorkerPool::prepare(Worker& w) {
  try {
    if (!taskdir::detail::make_private_dir(w.artifacts, false)) {
      throw std::runtime_error("cannot create " + w.artifacts.string() + ": " + std::strerror(errno));
    }
    seed_codex_home(options_.seed_codex_home, w.codex_home);
    if (w.codex_home.parent_path() != w.dir) {
      // The task directory still shows where the worker's sessions are.
      std::error_code ec;
      fs::create_directory_symlink(w.codex_home, w.dir / "codex-home", ec);
      if (ec && ec != std::errc::file_exists) spdlog::warn("cannot link {}: {}", (w.dir / "codex-home").string(), ec.message());
    }
    if (w.spec.output_schema) {
      w.schema_file = w.artifacts / "schema.json";
      write_private_file(*w.schema_file, w.spec.output_schema->dump(2) + "\n");
    }
  } catch (const std::exception& e) {
    w.prepare_error = std::string("cannot prepare the worker: ") + e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// scheduling

bool WorkerPool::may_start(const Worker& w) const {
  if (w.writer_key.empty()) return true;
  for (const auto& [id, other] : workers_) {
    if (other.get() != &w && other->writer_key == w.writer_key &&
        (other->state == "starting" || other->state == "running")) {
      return false;
    }
  }
  return true;
}

void WorkerPool::pump() {
  if (closed_) return;
  auto active = [this] {
    int n = 0;
    for (const auto& [id, w] : workers_) n += (w->state == "starting" || w->state == "running") ? 1 : 0;
    return n;
  };
  // In queue order, but a writer waiting for its cwd does not hold up the workers behind it.
  for (auto it = queue_.begin(); it != queue_.end() && active() < max_parallel_;) {
    Worker& w = get(*it);
    if (!may_start(w)) {
      ++it;
      continue;
    }
    it = queue_.erase(it);
    start(w);
    it = queue_.begin();  // start() may have finished workers (and changed the queue)
  }
}

void WorkerPool::start(Worker& w) {
  w.state = "starting";
  task_.set_agent_status(w.id, "starting");
  changed(w);
  if (w.spec.isolation == Isolation::Worktree && !w.worktree_ready) {
    git_queue_.push_back(w.id);
    run_next_git();
    return;
  }
  launch(w);
}

void WorkerPool::run_next_git() {
  if (git_busy_ || git_queue_.empty()) return;
  Worker& w = get(git_queue_.front());
  git_queue_.pop_front();
  git_busy_ = true;
  w.git = std::make_unique<CapturedCommand>(io_, worktree_add_argv(w.repo_root, w.branch, w.worktree));
  w.git->on_done = [this, &w](const process::ExitStatus& st, const std::string& output) {
    git_busy_ = false;
    defer([this, done = std::shared_ptr<CapturedCommand>(std::move(w.git))] { run_next_git(); });
    if (st.signal == 0 && st.exit_code == 0) {
      w.worktree_ready = true;
      task_.event("agent.worktree", {{"agentId", w.id}, {"branch", w.branch}, {"worktree", w.worktree.string()}});
      if (w.cancel_requested) finish(w, "cancelled", w.cancel_reason);
      else launch(w);
    } else {
      finish(w, "failed", "git worktree add failed (" + st.describe() + "): " + one_line(output, 500));
    }
  };
  try {
    w.git->start();
  } catch (const std::exception& e) {
    git_busy_ = false;
    w.git.reset();
    finish(w, "failed", std::string("cannot run git: ") + e.what());
    defer([this] { run_next_git(); });
  }
}

void WorkerPool::launch(Worker& w) {
  if (w.cancel_requested) {
    finish(w, "cancelled", w.cancel_reason);
    return;
  }
  std::vector<std::string> argv;
  try {
    // A stale final.json from an earlier run must not pass for this run's answer.
    write_private_file(w.final_file, "");
    ExecArgs args;
    args.codex = options_.codex;
    args.cwd = w.run_cwd;
    args.sandbox = w.spec.sandbox;
    args.model = w.spec.model;
    args.config = w.spec.config;
    args.final_file = w.final_file;
    args.schema_file = w.schema_file;
    if (w.resuming) args.resume_thread = w.thread_id;
    args.prompt = w.prompt;
    argv = build_exec_argv(args);
  } catch (const std::exception& e) {
    finish(w, "failed", std::string("cannot prepare the run: ") + e.what());
    return;
  }

  if (w.log_closed) {  // a resumed worker: its files were closed when the last run ended
    try {
      w.log = task_.add_agent(w.id, "exec");
      w.log_closed = false;
    } catch (const std::exception& e) {
      finish(w, "failed", std::string("cannot reopen the worker's log: ") + e.what());
      return;
    }
  }
  w.progress = ExecProgress{};
  w.run = std::make_unique<ExecRun>(io_, w.log);
  w.run->on_line = [this, &w](const std::string& line, const json* event) { on_line(w, line, event); };
  w.run->on_exit = [this, &w](const process::ExitStatus& st, const std::string& tail) { on_run_exit(w, st, tail); };
  try {
    w.run->start(argv, env_with_codex_home(options_.env, w.codex_home));
  } catch (const std::exception& e) {
    w.run.reset();
    finish(w, "failed", "cannot start codex (" + options_.codex + "): " + e.what());
    return;
  }

  ++w.runs;
  w.state = "running";
  w.started = true;
  w.started_at = std::chrono::system_clock::now();
  w.started_steady = Clock::now();
  if (w.spec.timeout.count() > 0) {
    w.timeout_timer.expires_after(w.spec.timeout);
    w.timeout_timer.async_wait([this, &w](const asio::error_code& ec) {
      if (ec || w.state != "running" || w.cancel_requested || !w.run) return;
      spdlog::debug("exec worker {} timed out; stopping it", w.id);
      w.timed_out = true;
      w.run->terminate(options_.kill_grace);
    });
  }
  json fields = {{"agentId", w.id}, {"pid", w.run->pid()}, {"run", w.runs}, {"cwd", w.run_cwd}};
  if (w.resuming) fields["resumes"] = w.thread_id;
  task_.event("agent.started", std::move(fields));
  task_.set_agent_status(w.id, "running");
  spdlog::debug("exec worker {} started (pid {})", w.id, w.run->pid());
  changed(w);
}

// ---------------------------------------------------------------------------------------------
// a run's output and end

void WorkerPool::on_line(Worker& w, const std::string& line, const json* event) {
  if (event) {
    w.progress.observe(*event);
    if (!w.progress.thread_id().empty()) w.thread_id = w.progress.thread_id();
    if (on_event) on_event(w.id, *event);
  } else {
    w.progress.observe_malformed();
    if (on_event) on_event(w.id, json{{"malformed", line}});
  }
  changed(w);
}

void WorkerPool::on_run_exit(Worker& w, const process::ExitStatus& status, const std::string& stderr_tail) {
  w.timeout_timer.cancel();
  std::string sandbox_warning = w.run ? w.run->sandbox_warning() : std::string();
  // Destroyed from the loop, not from inside its own callback.
  defer([run = std::shared_ptr<ExecRun>(std::move(w.run))] {});
  w.exit = status;
  w.malformed += w.progress.malformed();
  for (const auto& e : w.progress.errors()) {
    if (w.errors.size() < kMaxErrorsKept) w.errors.push_back(e);
  }
  if (w.end_recorded) return;  // cancel_all(record_now) already closed the books

  RunEnd end;
  end.exit = status;
  end.cancelled = w.cancel_requested;
  end.cancel_reason = w.cancel_reason;
  end.timed_out = w.timed_out;
  end.timeout = w.spec.timeout;
  end.stderr_tail = stderr_tail;
  end.sandboxed = w.spec.sandbox != "danger-full-access";
  end.sandbox_warning = sandbox_warning;
  Verdict verdict = derive_verdict(w.progress, end);

  std::string text = read_final(w.final_file);
  if (text.empty()) text = w.progress.last_agent_message();
  bool has_schema = w.schema_file.has_value();
  w.usage = w.progress.usage();
  if (text.empty()) {
    w.final = nullptr;
    if (verdict.status == "completed" && has_schema) verdict = {"failed", "no final message although an output schema was given"};
  } else if (auto parsed = parse_final(text, has_schema)) {
    w.final = *parsed;
  } else {
    w.final = text;
    if (verdict.status == "completed") verdict = {"failed", "the final message is not JSON although an output schema was given"};
  }
  finish(w, verdict.status, verdict.reason);
}

void WorkerPool::finish(Worker& w, const std::string& status, const std::string& reason) {
  if (w.end_recorded) return;
  w.timeout_timer.cancel();
  w.state = status;
  w.reason = reason;
  w.ended_at = std::chrono::system_clock::now();
  w.duration_ms = w.started ? std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - w.started_steady).count() : 0;

  json fields = {{"agentId", w.id},       {"status", status},     {"durationMs", w.duration_ms},
                 {"run", w.runs},         {"malformedLines", w.malformed}};
  if (!reason.empty()) fields["reason"] = reason;
  if (!w.thread_id.empty()) fields["threadId"] = w.thread_id;
  if (w.exit) {
    fields["exitCode"] = w.exit->signal == 0 ? json(w.exit->exit_code) : json(nullptr);
    if (w.exit->signal != 0) fields["signal"] = w.exit->signal;
  }
  task_.event("agent." + status, std::move(fields));
  task_.set_agent_status(w.id, status);
  // Its output is all in (the run has exited and both pipes are drained): release the two fds.
  task_.close_agent(w.id);
  w.log_closed = true;
  // Debug only: the outcome reaches people through the report, notifications and `coco exec`, and
  // log lines would tear `coco exec`'s redrawn progress lines.
  spdlog::debug("exec worker {} {}{}{}", w.id, status, reason.empty() ? "" : ": ", reason);

  if (on_completed) {
    on_completed({{"agentId", w.id},
                  {"status", status},
                  {"reason", reason.empty() ? json(nullptr) : json(reason)},
                  {"threadId", w.thread_id.empty() ? json(nullptr) : json(w.thread_id)},
                  {"final", w.final},
                  {"usage", w.usage},
                  {"durationMs", w.duration_ms},
                  {"run", w.runs}});
  }
  changed(w);
  check_joins();
  pump();
}

// ---------------------------------------------------------------------------------------------
// cancel, resume

json WorkerPool::cancel(const std::string& agent_id, const std::string& reason) {
  Worker& w = get(agent_id);
  bool cancelling = !is_terminal(w.state) && !w.cancel_requested && !w.timed_out;
  if (cancelling) {
    w.cancel_requested = true;
    w.cancel_reason = reason;
    if (w.state == "queued") {
      queue_.erase(std::remove(queue_.begin(), queue_.end(), w.id), queue_.end());
      finish(w, "cancelled", reason);
    } else if (w.state == "running" && w.run) {
      w.run->terminate(options_.kill_grace);
    }
    // "starting": the worktree is being created; launch() sees the request and stops there.
  }
  bool in_progress = w.cancel_requested && !is_terminal(w.state);  // asked before, not over yet
  return {{"agentId", w.id}, {"status", w.state}, {"cancelled", cancelling || in_progress}};
}

void WorkerPool::cancel_all(const std::string& reason, bool record_now) {
  if (record_now) closed_ = true;
  for (const auto& id : order_) {
    Worker& w = get(id);
    if (is_terminal(w.state)) continue;
    cancel(id, reason);
    if (record_now && !is_terminal(w.state)) {
      finish(w, "cancelled", reason);
      w.end_recorded = true;
    }
  }
}

WorkerPool::Spawned WorkerPool::resume(const std::string& agent_id, std::string prompt) {
  if (closed_) throw std::invalid_argument("the bridge is shutting down; no new runs");
  Worker& w = get(agent_id);
  if (prompt.empty()) throw std::invalid_argument("prompt must not be empty");
  if (!is_terminal(w.state)) throw std::invalid_argument("worker '" + w.id + "' is still " + w.state);
  if (w.thread_id.empty()) {
    throw std::invalid_argument("worker '" + w.id + "' has no codex thread to resume (it never started one)");
  }
  w.prompt = std::move(prompt);
  w.resuming = true;
  w.state = "queued";
  w.reason.clear();
  w.cancel_requested = w.timed_out = false;
  w.cancel_reason.clear();
  w.exit.reset();
  w.final = nullptr;
  w.usage = nullptr;
  w.progress = ExecProgress{};
  task_.event("agent.resumed", {{"agentId", w.id}, {"threadId", w.thread_id}, {"run", w.runs + 1},
                                {"prompt", one_line(w.prompt, 200)}});
  task_.set_agent_status(w.id, "queued");
  queue_.push_back(w.id);
  changed(w);
  defer([this] { pump(); });
  return {w.id, w.dir};
}

// ---------------------------------------------------------------------------------------------
// join and report

void WorkerPool::join(std::vector<std::string> ids, std::chrono::milliseconds timeout,
                      std::function<void(const json&)> done) {
  if (ids.empty()) ids = order_;
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (auto& id : ids) {
    get(id);  // throws for an unknown id
    if (seen.insert(id).second) unique.push_back(id);
  }
  auto finished = [this](const std::vector<std::string>& list) {
    return std::all_of(list.begin(), list.end(), [this](const std::string& id) { return is_terminal(get(id).state); });
  };
  if (finished(unique)) {
    done(write_report(unique, true));
    return;
  }
  auto join = std::make_unique<Join>();
  join->id = ++next_join_;
  join->ids = std::move(unique);
  join->done = std::move(done);
  if (timeout.count() > 0) {
    join->timer = std::make_unique<asio::steady_timer>(io_, timeout);
    join->timer->async_wait([this, jid = join->id](const asio::error_code& ec) {
      if (ec) return;
      auto it = std::find_if(joins_.begin(), joins_.end(), [jid](const auto& j) { return j->id == jid; });
      if (it == joins_.end()) return;
      std::unique_ptr<Join> j = std::move(*it);
      joins_.erase(it);
      j->done(write_report(j->ids, false));
    });
  }
  joins_.push_back(std::move(join));
}

void WorkerPool::check_joins() {
  std::vector<std::unique_ptr<Join>> ready;
  for (auto it = joins_.begin(); it != joins_.end();) {
    bool all = std::all_of((*it)->ids.begin(), (*it)->ids.end(),
                           [this](const std::string& id) { return is_terminal(get(id).state); });
    if (all) {
      ready.push_back(std::move(*it));
      it = joins_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& j : ready) {
    if (j->timer) j->timer->cancel();
    j->done(write_report(j->ids, true));
  }
}

json WorkerPool::write_report(const std::vector<std::string>& ids, bool complete) {
  json workers = json::array();
  for (const auto& id : ids) workers.push_back(describe(get(id)));
  json report = build_report(task_.id(), task_.dir().string(), workers, complete);
  fs::path report_file = reports_dir_ / "report.json";
  fs::path summary_file = reports_dir_ / "summary.md";
  try {
    taskdir::detail::make_private_dirs(reports_dir_);
    // The report is written whole or not at all: a reader never sees half of one.
    if (int err = taskdir::detail::atomic_write_file(report_file, report.dump(2) + "\n"); err != 0) {
      throw std::runtime_error("cannot write " + report_file.string() + ": " + std::strerror(err));
    }
    if (int err = taskdir::detail::atomic_write_file(summary_file, render_summary(report)); err != 0) {
      throw std::runtime_error("cannot write " + summary_file.string() + ": " + std::strerror(err));
    }
    task_.event("report.written", {{"path", report_file.string()}, {"workers", ids.size()}, {"complete", complete}});
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    report["reportError"] = e.what();
    task_.event("report.failed", {{"error", e.what()}});
  }
  report["reportPath"] = report_file.string();
  report["summaryPath"] = summary_file.string();
  return report;
}

bool WorkerPool::all_finished() const {
  return std::all_of(workers_.begin(), workers_.end(), [](const auto& kv) { return is_terminal(kv.second->state); });
}

json WorkerPool::list() const {
  json workers = json::array();
  for (const auto& id : order_) workers.push_back(describe(*find(id)));
  return {{"workers", workers}, {"maxParallel", max_parallel_}};
}

json WorkerPool::describe(const std::string& id) const {
  const Worker* w = find(id);
  return w ? describe(*w) : json(nullptr);
}

json WorkerPool::describe(const Worker& w) const {
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json d = {{"agentId", w.id},
            {"status", w.state},
            {"reason", opt(w.reason)},
            {"prompt", w.prompt},
            {"cwd", w.spec.cwd},
            {"runCwd", w.run_cwd},
            {"sandbox", w.spec.sandbox},
            {"isolation", to_string(w.spec.isolation)},
            {"model", opt(w.spec.model)},
            {"branch", opt(w.branch)},
            {"worktree", w.branch.empty() ? json(nullptr) : json(w.worktree.string())},
            {"threadId", opt(w.thread_id)},
            {"final", w.final},
            {"usage", w.usage},
            {"durationMs", is_terminal(w.state) ? json(std::max(w.duration_ms, 0LL)) : json(nullptr)},
            {"errors", w.errors},
            {"malformedLines", w.malformed + (w.run ? w.progress.malformed() : 0)},
            {"runs", w.runs},
            {"dir", w.dir.string()},
            {"codexHome", w.codex_home.string()},
            {"spawnedAt", iso(w.spawned_at)},
            {"startedAt", w.started ? json(iso(w.started_at)) : json(nullptr)},
            {"endedAt", is_terminal(w.state) ? json(iso(w.ended_at)) : json(nullptr)},
            {"latest", opt(w.progress.latest())}};
  d["pid"] = w.run && w.state == "running" ? json(w.run->pid()) : json(nullptr);
  if (w.state == "running") {
    d["durationMs"] = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - w.started_steady).count();
  }
  if (w.exit) {
    d["exitCode"] = w.exit->signal == 0 ? json(w.exit->exit_code) : json(nullptr);
    d["signal"] = w.exit->signal != 0 ? json(w.exit->signal) : json(nullptr);
  }
  if (w.spec.timeout.count() > 0) d["timeoutMs"] = w.spec.timeout.count();
  return d;
}

void WorkerPool::changed(const Worker& w) {
  if (on_change) on_change(w.id);
}

}  // namespace coco::workers
