#include "taskdir/task_writer.h"

#include "text/one_line.h"

#include "taskdir/disk_queue.h"
#include "taskdir/fs_util.h"
#include "taskdir/redact.h"
#include "taskdir/task_yaml.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace coco::taskdir {
namespace {

constexpr std::size_t kMaxTitleChars = 80;

bool is_plain_json_text(std::string_view s) {
  for (char c : s) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

// Appends `s` as a JSON string. Direction labels and event types are plain ASCII, so the common case
// is a copy.
void append_json_string(std::string& out, std::string_view s) {
  if (is_plain_json_text(s)) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

std::string now_seconds() { return detail::iso_utc_seconds(std::chrono::system_clock::now()); }

}  // namespace

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(name[0])) return false;
  for (char c : name) {
    if (!lower_digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

bool is_valid_task_id(std::string_view id) {
  // YYYYMMDDTHHMMSSZ-xxxxxx
  static constexpr std::string_view kShape = "ddddddddTddddddZ-hhhhhh";
  if (id.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    switch (kShape[i]) {
    case 'd':
      if (c < '0' || c > '9') return false;
      break;
    case 'h':
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
      break;
    default:
      if (c != kShape[i]) return false;
    }
  }
  return true;
}

std::string make_task_id(std::chrono::system_clock::time_point now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::size_t n = std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  static thread_local std::mt19937 rng{std::random_device{}()};
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%06x", static_cast<unsigned>(rng() & 0xFFFFFF));
  return std::string(stamp, n) + "-" + suffix;
}

std::string shorten_title(std::string_view text) { return text::one_line(text, kMaxTitleChars); }

// ---- AgentLog ----

AgentLog::AgentLog(std::shared_ptr<DiskQueue> q, std::filesystem::path dir, int events_fd, int stderr_fd)
    : queue_(std::move(q)), dir_(std::move(dir)), events_fd_(events_fd), stderr_fd_(stderr_fd),
      seq_(std::make_shared<std::uint64_t>(0)) {}

void AgentLog::message(std::string_view dir, std::string_view raw_json) {
  if (!queue_) return;
  if (raw_json.empty()) {
    invalid(dir, "empty message", raw_json);
    return;
  }
  // This runs for every proxied message on the event loop: only concatenation, and in the common case
  // (no raw newline) the pieces go straight into the queue's chunk, one copy per byte.
  thread_local std::string head;
  head.clear();
  head += "\"ts\":\"";
  detail::append_now_ms(head);
  head += "\",\"dir\":";
  append_json_string(head, dir);
  head += ",\"msg\":";
  if (std::memchr(raw_json.data(), '\n', raw_json.size()) == nullptr &&
      std::memchr(raw_json.data(), '\r', raw_json.size()) == nullptr) {
    queue_->push_record(events_fd_, seq_.get(), {head, raw_json, "}\n"});
    return;
  }
  thread_local std::string body;
  body = head;
  std::size_t msg_start = body.size();
  body += raw_json;
  // A pretty-printed message would break one-record-per-line. Newlines outside JSON strings are mere
  // whitespace (inside strings they are invalid anyway), so they become spaces.
  for (std::size_t i = msg_start; i < body.size(); ++i) {
    if (body[i] == '\n' || body[i] == '\r') body[i] = ' ';
  }
  body += "}\n";
  queue_->push_record(events_fd_, seq_.get(), body);
}

void AgentLog::invalid(std::string_view dir, std::string_view error, std::string_view raw_bytes) {
  if (!queue_) return;
  std::string body = "\"ts\":\"";
  detail::append_now_ms(body);
  body += "\",\"dir\":";
  append_json_string(body, dir);
  body += ",\"error\":";
  append_json_string(body, error);
  body += ",\"raw\":";
  // Invalid input may be invalid UTF-8 as well: such bytes become U+FFFD rather than failing.
  body +=
      nlohmann::json(std::string(raw_bytes)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  body += "}\n";
  queue_->push_record(events_fd_, seq_.get(), body);
}

void AgentLog::stderr_bytes(std::string_view bytes) {
  if (!queue_) return;
  queue_->push_stderr(stderr_fd_, bytes);
}

// ---- TaskWriter ----

std::unique_ptr<TaskWriter> TaskWriter::create(const std::filesystem::path& root, const TaskMeta& meta) {
  return create(root, meta, WriterOptions{});
}

std::unique_ptr<TaskWriter> TaskWriter::create(const std::filesystem::path& root, const TaskMeta& meta,
                                               const WriterOptions& options) {
  detail::make_private_dirs(root);
  std::unique_ptr<TaskWriter> w(new TaskWriter());
  auto now = std::chrono::system_clock::now();
  for (int attempt = 0;; ++attempt) {
    w->id_ = make_task_id(now);
    w->dir_ = root / w->id_;
    if (detail::make_private_dir(w->dir_, true)) break;
    // Two bridges started in the same second: another random suffix.
    if (errno != EEXIST || attempt >= 16) {
      throw std::runtime_error("cannot create task directory " + w->dir_.string() + ": " +
                               std::strerror(errno));
    }
  }

  std::string cwd = meta.cwd;
  if (cwd.empty()) {
    std::error_code ec;
    cwd = std::filesystem::current_path(ec).string();
  }
  std::string created = detail::iso_utc_seconds(now);
  w->meta_ = {
      {"id", w->id_},
      {"title", shorten_title(meta.title)},
      {"status", "running"},
      {"created", created},
      {"updated", created},
      {"cwd", cwd},
      {"bridge_pid", static_cast<long>(::getpid())},
      {"bridge_start_ticks", detail::process_start_ticks(::getpid())},
      {"codex_version", meta.codex_version},
      {"agents", nlohmann::json::array()},
  };

  w->events_fd_ = detail::open_private_append(w->dir_ / "events.jsonl");
  w->queue_ = std::make_shared<DiskQueue>(w->dir_, w->events_fd_, options.max_queued_bytes);
  w->queue_->set_backpressure_marks(options.pause_above_bytes, options.resume_below_bytes);

  // The first task.yaml is written here, not queued, so that a task directory never exists without
  // one for longer than this call and a failure is reported to the caller.
  nlohmann::json first = w->meta_;
  first["title"] = redact_secrets(first["title"].get<std::string>());
  if (int err = detail::atomic_write_file(w->dir_ / "task.yaml", detail::render_task_yaml(first)); err != 0) {
    w->finished_ = true;  // the destructor must not record a task that never started
    throw std::runtime_error("cannot write " + (w->dir_ / "task.yaml").string() + ": " + std::strerror(err));
  }
  w->queue_->start();
  w->event("task.created", {{"id", w->id_}, {"cwd", cwd}, {"bridge_pid", static_cast<long>(::getpid())}});
  return w;
}

TaskWriter::~TaskWriter() {
  try {
    finish("completed");
  } catch (...) {
    // Never throw from a destructor; the disk thread already logged what went wrong.
  }
}

void TaskWriter::event(std::string_view type, nlohmann::json fields) {
  if (!queue_) return;
  std::string body = "\"ts\":\"";
  detail::append_now_ms(body);
  body += "\",\"type\":";
  append_json_string(body, type);
  if (fields.is_null()) fields = nlohmann::json::object();
  if (!fields.is_object()) fields = {{"data", std::move(fields)}};
  // These three belong to the record itself.
  fields.erase("seq");
  fields.erase("ts");
  fields.erase("type");
  if (!fields.empty()) {
    std::string f = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    body += ',';
    body.append(f, 1, f.size() - 2);  // the members, without the braces
  }
  body += "}\n";
  queue_->push_event(std::move(body));
}

AgentLog TaskWriter::add_agent(std::string_view instance, std::string_view kind) {
  if (!is_valid_name(instance)) {
    throw std::invalid_argument("invalid agent instance name: \"" + std::string(instance) + "\"");
  }
  std::lock_guard lock(mutex_);
  if (finished_) return AgentLog();
  auto& agents = meta_["agents"];
  if (auto it = agents_.find(instance); it != agents_.end()) {
    for (auto& a : agents) {
      if (a["id"] == std::string(instance)) {
        a["kind"] = kind;
        a["status"] = "running";
      }
    }
    write_task_yaml();
    return it->second;
  }

  std::filesystem::path agent_dir = dir_ / "agents" / std::string(instance);
  std::filesystem::path runtime = agent_dir / "runtime";
  for (const auto& d : {dir_ / "agents", agent_dir, runtime}) {
    if (!detail::make_private_dir(d, false)) {
      throw std::runtime_error("cannot create directory " + d.string() + ": " + std::strerror(errno));
    }
  }
  int events_fd = detail::open_private_append(runtime / "events.jsonl");
  int stderr_fd = -1;
  try {
    stderr_fd = detail::open_private_append(runtime / "stderr.log");
  } catch (...) {
    ::close(events_fd);
    throw;
  }
  queue_->adopt_fd(events_fd, runtime / "events.jsonl", true);
  queue_->adopt_fd(stderr_fd, runtime / "stderr.log", false);
  queue_->add_sync_dir(dir_ / "agents");
  queue_->add_sync_dir(agent_dir);
  queue_->add_sync_dir(runtime);

  AgentLog log(queue_, runtime, events_fd, stderr_fd);
  agents_.emplace(std::string(instance), log);
  agents.push_back({{"id", instance}, {"kind", kind}, {"status", "running"}});
  write_task_yaml();
  return log;
}

void TaskWriter::set_agent_status(std::string_view instance, std::string_view status) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  for (auto& a : meta_["agents"]) {
    if (a["id"] == std::string(instance)) a["status"] = status;
  }
  write_task_yaml();
}

void TaskWriter::set_title(std::string_view title) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  meta_["title"] = shorten_title(title);
  write_task_yaml();
}

void TaskWriter::set_codex_version(std::string_view version) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  meta_["codex_version"] = version;
  write_task_yaml();
}

void TaskWriter::set_status(std::string_view status) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  meta_["status"] = status;
  write_task_yaml();
}

void TaskWriter::write_task_yaml() {
  meta_["updated"] = now_seconds();
  queue_->push_task_yaml(meta_);
}

void TaskWriter::sync() {
  if (queue_) queue_->request_sync();
}

void TaskWriter::finish(std::string_view status) {
  {
    std::lock_guard lock(mutex_);
    if (finished_ || !queue_) return;
    finished_ = true;
    meta_["status"] = status;
    for (auto& a : meta_["agents"]) {
      if (a["status"] == "running") a["status"] = status;
    }
  }
  event("task.completed", {{"status", status}});
  {
    std::lock_guard lock(mutex_);
    write_task_yaml();
  }
  queue_->finish();
}

WriterStats TaskWriter::stats() const { return queue_ ? queue_->stats() : WriterStats{}; }

bool TaskWriter::recorder_congested() const { return queue_ && queue_->congested(); }

void TaskWriter::on_recorder_relieved(std::function<void()> callback) {
  if (queue_) queue_->set_on_relieved(std::move(callback));
}

}  // namespace coco::taskdir
