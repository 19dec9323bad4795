#include "taskdir/task_writer.h"

#include "protocol/json_text.h"
#include "text/one_line.h"

#include "taskdir/disk_queue.h"
#include "taskdir/fs_util.h"
#include "taskdir/record_lines.h"
#include "taskdir/redact.h"
#include "taskdir/task_reader.h"
#include "taskdir/task_yaml.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>
#include <fcntl.h>
#include <sys/stat.h>
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

// The seq of the last record of a JSONL file the writer made (0 for none). Every record starts a
// line with `{"seq":N,`, so the file is searched backwards for that, without parsing JSON; a torn
// last line is passed over.
std::uint64_t last_seq(const std::filesystem::path& file) {
  static constexpr std::string_view kStart = "{\"seq\":";
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st {};
  std::uint64_t found = 0;
  if (::fstat(fd, &st) == 0) {
    constexpr off_t kChunk = 64 * 1024;
    std::string window;  // bytes from `from` to the end of what was read before
    for (off_t end = st.st_size; end > 0 && found == 0;) {
      off_t from = std::max<off_t>(0, end - kChunk);
      std::string chunk(static_cast<std::size_t>(end - from), '\0');
      if (::pread(fd, chunk.data(), chunk.size(), from) != static_cast<ssize_t>(chunk.size())) break;
      window = chunk + window.substr(0, std::min<std::size_t>(window.size(), 64));
      for (std::size_t pos = window.size(); pos > 0;) {
        std::size_t at = window.rfind(kStart, pos - 1);
        if (at == std::string::npos) break;
        if ((at == 0 && from == 0) || (at > 0 && window[at - 1] == '\n')) {
          std::uint64_t v = 0;
          std::size_t i = at + kStart.size();
          bool digits = false;
          for (; i < window.size() && window[i] >= '0' && window[i] <= '9'; ++i, digits = true) v = v * 10 + (window[i] - '0');
          if (digits && i < window.size() && window[i] == ',') {
            found = v;
            break;
          }
        }
        if (at == 0) break;
        pos = at;
      }
      end = from;
    }
  }
  ::close(fd);
  return found;
}

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

AgentLog::AgentLog(std::shared_ptr<DiskQueue> q, std::filesystem::path dir, std::uint64_t events_slot,
                   std::uint64_t stderr_slot, std::shared_ptr<std::uint64_t> seq)
    : queue_(std::move(q)), dir_(std::move(dir)), events_slot_(events_slot), stderr_slot_(stderr_slot),
      seq_(std::move(seq)) {}

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
    queue_->push_record(events_slot_, seq_.get(), {head, raw_json, "}\n"});
    return;
  }
  // A pretty-printed message would break one-record-per-line. Rare (the bridge compacts such bodies),
  // so it is checked here: newlines outside JSON strings are mere whitespace and become spaces; inside
  // strings they are invalid JSON, and the message is recorded as text.
  if (protocol::check_json_text(raw_json) != protocol::JsonStatus::Ok) {
    invalid(dir, "the message is not valid JSON; recorded as text", raw_json);
    return;
  }
  thread_local std::string body;
  body = head;
  std::size_t msg_start = body.size();
  body += raw_json;
  for (std::size_t i = msg_start; i < body.size(); ++i) {
    if (body[i] == '\n' || body[i] == '\r') body[i] = ' ';
  }
  body += "}\n";
  queue_->push_record(events_slot_, seq_.get(), body);
}

void AgentLog::invalid(std::string_view dir, std::string_view error, std::string_view raw_bytes) {
  if (!queue_) return;
  std::string body = "\"ts\":\"";
  detail::append_now_ms(body);
  body += "\",\"dir\":";
  append_json_string(body, dir);
  body += ",\"error\":";
  append_json_string(body, error);
  body += ',';
  // Escaped (and base64 when the bytes are not UTF-8), so that the line is valid JSON whatever came.
  append_raw_fields(body, raw_bytes);
  body += "}\n";
  queue_->push_record(events_slot_, seq_.get(), body);
}

void AgentLog::stderr_bytes(std::string_view bytes) {
  if (!queue_) return;
  queue_->push_stderr(stderr_slot_, bytes);
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

  w->open_queue(options, 0);

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

void TaskWriter::open_queue(const WriterOptions& options, std::uint64_t last_event_seq) {
  events_fd_ = detail::open_private_append(dir_ / "events.jsonl");
  queue_ = std::make_shared<DiskQueue>(dir_, events_fd_, options.max_queued_bytes);
  queue_->set_backpressure_marks(options.pause_above_bytes, options.resume_below_bytes);
  queue_->set_event_seq(last_event_seq);
}

std::unique_ptr<TaskWriter> TaskWriter::resume(const std::filesystem::path& dir, const WriterOptions& options) {
  auto task = load_task(dir);
  if (!task) throw std::runtime_error(dir.string() + " is not a task directory (no readable task.yaml)");
  // load_task reports a `running` task whose bridge is gone as `interrupted`: only a live one stays running.
  if (task->status == "running" && task->bridge_pid != static_cast<long>(::getpid()))
    throw std::runtime_error("task " + task->id + " is still being written by the bridge with pid " +
                             std::to_string(task->bridge_pid));
  std::unique_ptr<TaskWriter> w(new TaskWriter());
  w->id_ = task->id;
  w->dir_ = dir;
  nlohmann::json agents = nlohmann::json::array();
  for (const auto& a : task->agents) agents.push_back({{"id", a.id}, {"kind", a.kind}, {"status", a.status}});
  w->meta_ = {
      {"id", task->id},
      {"title", task->title},
      {"status", "running"},
      {"created", task->created},
      {"updated", now_seconds()},
      {"cwd", task->cwd},
      {"bridge_pid", static_cast<long>(::getpid())},
      {"bridge_start_ticks", detail::process_start_ticks(::getpid())},
      {"codex_version", task->codex_version},
      {"agents", agents},
  };
  w->open_queue(options, last_seq(dir / "events.jsonl"));
  if (int err = detail::atomic_write_file(dir / "task.yaml", detail::render_task_yaml(w->meta_)); err != 0) {
    w->finished_ = true;
    throw std::runtime_error("cannot write " + (dir / "task.yaml").string() + ": " + std::strerror(err));
  }
  w->queue_->start();
  w->event("task.resumed", {{"id", w->id_}, {"previousStatus", task->recorded_status}, {"bridge_pid", static_cast<long>(::getpid())}});
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
  auto known = agents_.find(instance);
  if (known != agents_.end()) {
    for (auto& a : agents) {
      if (a["id"] == std::string(instance)) {
        a["kind"] = kind;
        a["status"] = "running";
      }
    }
    if (known->second.open) {
      write_task_yaml();
      return known->second.log;
    }
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
  std::uint64_t continued_seq = last_seq(runtime / "events.jsonl");  // an agent of a continued task goes on
  auto events_slot = queue_->adopt_fd(events_fd, runtime / "events.jsonl", true);
  auto stderr_slot = queue_->adopt_fd(stderr_fd, runtime / "stderr.log", false);
  queue_->add_sync_dir(dir_ / "agents");
  queue_->add_sync_dir(agent_dir);
  queue_->add_sync_dir(runtime);

  if (known != agents_.end()) {  // reopened: the seq goes on where it stopped
    known->second = Agent{AgentLog(queue_, runtime, events_slot, stderr_slot, known->second.log.seq_), true};
    write_task_yaml();
    return known->second.log;
  }
  AgentLog log(queue_, runtime, events_slot, stderr_slot, std::make_shared<std::uint64_t>(continued_seq));
  agents_.emplace(std::string(instance), Agent{log, true});
  bool listed = false;  // a continued task lists its agents already
  for (auto& a : agents) {
    if (a["id"] == std::string(instance)) {
      a["kind"] = kind;
      a["status"] = "running";
      listed = true;
    }
  }
  if (!listed) agents.push_back({{"id", instance}, {"kind", kind}, {"status", "running"}});
  write_task_yaml();
  return log;
}

void TaskWriter::close_agent(std::string_view instance) {
  std::lock_guard lock(mutex_);
  auto it = agents_.find(instance);
  if (it == agents_.end() || !it->second.open || !queue_) return;
  it->second.open = false;
  queue_->close_slot(it->second.log.events_slot_);
  queue_->close_slot(it->second.log.stderr_slot_);
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

std::vector<std::string> TaskWriter::agent_ids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  if (auto it = meta_.find("agents"); it != meta_.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_object() && a.contains("id") && a["id"].is_string()) ids.push_back(a["id"].get<std::string>());
  return ids;
}

bool TaskWriter::has_title() const {
  std::lock_guard lock(mutex_);
  auto it = meta_.find("title");
  return it != meta_.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
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

void TaskWriter::finish(std::string_view status, std::string_view reason) {
  {
    std::lock_guard lock(mutex_);
    if (finished_ || !queue_) return;
    finished_ = true;
    meta_["status"] = status;
    if (!reason.empty()) meta_["reason"] = reason;
    else meta_.erase("reason");
    for (auto& a : meta_["agents"]) {
      if (a["status"] == "running") a["status"] = status;
    }
  }
  nlohmann::json fields = {{"status", status}};
  if (!reason.empty()) fields["reason"] = reason;
  event("task.completed", std::move(fields));
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
