#include "bridge/session.h"

#include "bridge/version.h"
#include "protocol/json_fields.h"
#include "protocol/json_text.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace coco::bridge {

using protocol::find_member;
using protocol::Kind;
using protocol::string_member;
namespace ec = protocol::error_code;

namespace {

constexpr auto kFlushTimeout = std::chrono::milliseconds(2000);
// Editor messages from this size on that codex gets unchanged are not parsed into a tree: a 60 MB
// message would otherwise cost five copies of itself (docs/reliability.md, "Large messages").
constexpr std::size_t kLargeMessageBytes = 1u << 20;

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  auto [p, err] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (err != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

// Codex notifications the core looks inside (for the task's events and the gates); everything else
// goes to the face unparsed.
bool is_observed_notification(std::string_view method) {
  return method == "thread/started" || method == "turn/started" || method == "turn/completed" ||
         method == "serverRequest/resolved" || method == "item/started" || method == "item/fileChange/patchUpdated";
}

// "codex_cli_rs/0.169.0 (Debian 12; x86_64) ..." -> "0.169.0"
std::string version_from_user_agent(const std::string& ua) {
  auto slash = ua.find('/');
  if (slash == std::string::npos) return {};
  auto end = ua.find_first_of(" ;(", slash + 1);
  return ua.substr(slash + 1, end == std::string::npos ? std::string::npos : end - slash - 1);
}

std::string first_prompt_text(const json& params) {
  const json* input = find_member(params, "input");
  if (!input || !input->is_array()) return {};
  for (const auto& item : *input) {
    if (string_member(item, "type") == "text") {
      std::string text = string_member(item, "text");
      if (!text.empty()) return text;
    }
  }
  return {};
}

// The id of a message that could not be parsed whole (too deep), when its top level still shows one.
json readable_id(std::string_view text) {
  protocol::Envelope env = protocol::scan_envelope(text);
  if (!env.valid || !env.has_id) return nullptr;
  protocol::ParsedJson id = protocol::parse_json(text.substr(env.id_begin, env.id_end - env.id_begin));
  return id.ok() && protocol::is_valid_id(id.value) ? id.value : json(nullptr);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CodexResponse

const json& CodexResponse::body() {
  if (!parsed_) {
    parsed_ = true;
    protocol::ParsedJson parsed = protocol::parse_json(*line_);
    body_ = parsed.ok() && parsed.value.is_object()
                ? std::move(parsed.value)
                : protocol::make_error(nullptr, ec::kInternalError, "codex sent an answer that is not a JSON object");
  }
  return body_;
}

bool CodexResponse::is_error() { return body().contains("error"); }

std::string CodexResponse::line_with_id(const json& id) {
  if (!parsed_ && env_.valid && !env_.has_jsonrpc) {
    // Put the id in place without re-serializing a possibly large result.
    std::string line = *line_;
    line.replace(env_.id_begin, env_.id_end - env_.id_begin, id.dump());
    return line;
  }
  json copy = body();
  copy["id"] = id;
  copy.erase("jsonrpc");
  return protocol::to_line(copy);
}

// ---------------------------------------------------------------------------------------------
// Life cycle

Session::Session(asio::io_context& io, BridgeOptions options, std::unique_ptr<EditorTransport> editor)
    : io_(io), options_(std::move(options)), editor_(std::move(editor)), restart_timer_(io), flush_timer_(io),
      request_timer_(io) {}

Session::~Session() {
  if (task_) task_->on_recorder_relieved(nullptr);
}

void Session::set_face(std::unique_ptr<Face> face) { face_ = std::move(face); }

std::string_view Session::to_string(UpstreamState s) {
  switch (s) {
  case UpstreamState::Starting: return "starting";
  case UpstreamState::Replaying: return "replaying-handshake";
  case UpstreamState::Ready: return "ready";
  case UpstreamState::Restarting: return "restarting";
  case UpstreamState::GaveUp: return "gave-up";
  case UpstreamState::Stopping: return "stopping";
  case UpstreamState::Stopped: return "stopped";
  }
  return "unknown";
}

void Session::open_task() {
  taskdir::WriterOptions writer;
  writer.pause_above_bytes = options_.config.recording.buffer_bytes;
  writer.resume_below_bytes = writer.pause_above_bytes / 4;
  writer.max_queued_bytes = 8 * writer.pause_above_bytes;
  if (!options_.continue_task.empty()) {
    task_ = taskdir::TaskWriter::resume(options_.continue_task, writer);
    title_set_ = task_->has_title();
    spdlog::info("continuing task directory {}", task_->dir().string());
  } else {
    taskdir::TaskMeta meta;
    meta.cwd = options_.cwd;
    task_ = taskdir::TaskWriter::create(options_.task_root, meta, writer);
    spdlog::info("task directory: {}", task_->dir().string());
  }
  app_server_log_ = task_->add_agent("app-server", "app-server");
}

void Session::start() {
  if (!face_) throw std::logic_error("Session::start without a face");
  open_task();

  editor_->on_message = [this](std::string&& body) { guarded("a message from the editor", [&] { on_editor_frame(std::move(body)); }); };
  editor_->on_bad_frame = [this](const std::string& problem) { on_editor_bad_frame(problem); };
  editor_->on_drained = [this] { update_backpressure(); };
  // The disk thread says when the recorder has caught up; the loop resumes reading. `alive` keeps a
  // post that is still queued when the session goes from touching it.
  task_->on_recorder_relieved([this, alive = std::weak_ptr<int>(alive_)] {
    asio::post(io_, [this, alive] {
      if (alive.lock()) update_backpressure();
    });
  });
  editor_->on_closed = [this] { on_editor_gone("end of input"); };
  editor_->on_flushed = [this] { finish_if_done(); };

  register_core_methods();
  gates_ = std::make_unique<GateKeeper>(*this, options_.config.approvals, options_.approvals_mode);
  start_upstream();
  editor_->start();
}

template <typename Fn>
void Session::guarded(std::string_view where, Fn&& what) {
  // One bad message must never end the session: whatever escapes is logged and recorded, and the
  // bridge serves the next message.
  try {
    what();
  } catch (const std::exception& e) {
    spdlog::error("error while handling {}: {}", where, e.what());
    if (task_) task_->event("bridge.error", {{"where", where}, {"error", e.what()}});
  }
}

// ---------------------------------------------------------------------------------------------
// Supervision

void Session::start_upstream() {
  UpstreamOptions uo;
  uo.argv = {options_.codex, "app-server"};
  uo.argv.insert(uo.argv.end(), options_.codex_args.begin(), options_.codex_args.end());
  uo.env = options_.codex_env;
  uo.cwd = options_.cwd;
  uo.max_frame_bytes = options_.max_frame_bytes;
  uo.high_water = options_.high_water;
  uo.low_water = options_.low_water;

  ++generation_;
  upstream_ = std::make_unique<Upstream>(io_, std::move(uo), app_server_log_);
  upstream_->on_message = [this](std::string&& line) { guarded("a message from codex", [&] { on_codex_frame(std::move(line)); }); };
  upstream_->on_bad_frame = [this](const std::string& problem) {
    spdlog::warn("codex sent a bad frame: {}", problem);
    record_invalid(face_->codex_record_direction(), problem, "");
  };
  upstream_->on_drained = [this] { update_backpressure(); };
  upstream_->on_exit = [this](const process::ExitStatus& st, const std::string& tail) { on_upstream_exit(st, tail); };
  try {
    upstream_->start();
  } catch (const std::exception& e) {
    spdlog::error("cannot start codex: {}", e.what());
    task_->event("upstream.exited", {{"error", e.what()}, {"willRestart", false}});
    upstream_.reset();
    set_upstream_state(UpstreamState::GaveUp);
    final_status_ = "failed";
    failure_reason_ = std::string("codex could not be started: ") + e.what();
    face_->notify("coco/upstream/exited", {{"error", e.what()}, {"restarting", false}});
    return;
  }
  task_->event("upstream.started", {{"pid", upstream_->pid()}, {"generation", generation_}, {"codex", options_.codex}});
  task_->set_agent_status("app-server", "running");
  spdlog::info("codex app-server started (pid {})", upstream_->pid());
  if (generation_ > 1 && !initialize_params_.is_null()) {
    replay_handshake();
  } else {
    set_upstream_state(UpstreamState::Ready);
  }
}

void Session::set_upstream_state(UpstreamState s) {
  state_ = s;
  spdlog::debug("upstream state: {}", to_string(s));
}

std::string Session::codex_unavailable_reason() const {
  if (state_ == UpstreamState::GaveUp) return "codex is not running (it kept exiting; coco/upstream/restart tries again)";
  return "codex is not ready (" + std::string(to_string(state_)) + ")";
}

void Session::replay_handshake() {
  // A restarted codex knows nothing of the editor: give it the editor's own handshake again.
  set_upstream_state(UpstreamState::Replaying);
  request_codex("initialize", initialize_params_, [this](CodexResponse& response) {
    if (state_ != UpstreamState::Replaying) return;
    if (response.is_error()) spdlog::warn("codex rejected the replayed initialize: {}", response.body()["error"].dump());
    if (editor_initialized_) notify_codex("initialized", nullptr);
    set_upstream_state(UpstreamState::Ready);
    task_->event("upstream.restarted", {{"pid", upstream_->pid()}, {"restarts", restarts_}});
    face_->notify("coco/upstream/restarted", {{"pid", upstream_->pid()}, {"restarts", restarts_}});
  });
}

void Session::on_upstream_exit(const process::ExitStatus& status, const std::string& stderr_tail) {
  bool expected = shutting_down_;
  spdlog::log(expected ? spdlog::level::info : spdlog::level::warn, "codex app-server {}", status.describe());

  // Every request codex still owed an answer to gets an error now, not a hang.
  auto pending = to_codex_.take_all();
  for (auto& [wire_id, entry] : pending) {
    CodexResponse err(protocol::make_error(nullptr, ec::kUpstreamExited,
                                           "codex exited before answering (" + status.describe() + ")",
                                           {{"method", entry.method}}));
    if (entry.on_response) guarded("an answer for a request codex owed", [&] { entry.on_response(err); });
  }
  // Requests from the dead codex can no longer be answered; late answers are dropped by generation.
  face_->on_upstream_exit();
  gates_->on_upstream_exit();

  bool will_restart = false;
  std::chrono::milliseconds delay{0};
  if (!expected && state_ != UpstreamState::GaveUp) {
    auto now = std::chrono::steady_clock::now();
    while (!recent_restarts_.empty() && now - recent_restarts_.front() > std::chrono::minutes(1))
      recent_restarts_.pop_front();
    if (static_cast<int>(recent_restarts_.size()) < options_.max_restarts_per_minute) {
      will_restart = true;
      delay = std::chrono::milliseconds(250) * (1 << std::min<std::size_t>(recent_restarts_.size(), 5));
    }
  }
  json info = {{"exitCode", status.signal ? json(nullptr) : json(status.exit_code)},
               {"signal", status.signal ? json(status.signal) : json(nullptr)},
               {"description", status.describe()},
               {"stderrTail", stderr_tail},
               {"failedRequests", pending.size()},
               {"expected", expected},  // the bridge stopped it (shutdown), as opposed to a crash
               {"restarting", will_restart}};
  if (will_restart) info["restartInMs"] = delay.count();
  task_->event("upstream.exited", info);
  task_->set_agent_status("app-server", expected ? "stopped" : (will_restart ? "restarting" : "failed"));
  task_->sync();

  if (expected) {
    set_upstream_state(UpstreamState::Stopped);
    finish_if_done();
    return;
  }
  face_->notify("coco/upstream/exited", info);
  if (will_restart) {
    set_upstream_state(UpstreamState::Restarting);
    restart_timer_.expires_after(delay);
    restart_timer_.async_wait([this](const asio::error_code& e) {
      if (e || shutting_down_) return;
      schedule_restart();
    });
  } else {
    spdlog::error("codex exited {} times within a minute; not restarting (coco/upstream/restart tries again)",
                  recent_restarts_.size() + 1);
    set_upstream_state(UpstreamState::GaveUp);
    final_status_ = "failed";
    failure_reason_ = "codex kept exiting (" + status.describe() + ")";
  }
}

void Session::schedule_restart() {
  recent_restarts_.push_back(std::chrono::steady_clock::now());
  ++restarts_;
  // The old instance is released after its cancelled handlers have run.
  asio::post(io_, [old = std::shared_ptr<Upstream>(std::move(upstream_))] {});
  start_upstream();
}

// ---------------------------------------------------------------------------------------------
// Editor -> bridge

void Session::on_editor_bad_frame(const std::string& problem) {
  spdlog::warn("bad frame from the editor: {}", problem);
  record_invalid(dir::kEditorToBridge, problem, "");
  emit_to_editor(protocol::make_error(nullptr, ec::kBadFrame, problem));
}

void Session::on_editor_frame(std::string&& body) {
  if (!client_connected_) {
    client_connected_ = true;
    task_->event("client.connected", {{"transport", editor_->describe()}, {"face", face_->describe().value("name", "")}});
  }
  if (body.size() >= kLargeMessageBytes && forward_large_unparsed(body)) return;
  protocol::ParsedJson parsed = protocol::parse_json(body);
  if (!parsed.ok()) {
    record_invalid(dir::kEditorToBridge, parsed.problem, body);
    if (parsed.status == protocol::JsonStatus::TooDeep)
      emit_to_editor(protocol::make_error(readable_id(body), ec::kInvalidRequest, "Invalid request: " + parsed.problem));
    else
      emit_to_editor(protocol::make_error(nullptr, ec::kParseError, "Parse error: " + parsed.problem));
    return;
  }
  protocol::Message m = protocol::classify(std::move(parsed.value));
  if (m.kind == Kind::Invalid) {
    record(dir::kEditorToBridge, protocol::to_line(m.body));
    emit_to_editor(protocol::make_error(m.id, ec::kInvalidRequest, "Invalid request: " + m.problem));
    return;
  }
  // Bodies from a Content-Length editor may be pretty-printed: recordings are one line each.
  record(face_->record_direction(m),
         body.find('\n') == std::string::npos ? std::string_view(body) : std::string_view(protocol::to_line(m.body)));
  std::string().swap(body);  // recorded; the tree is what is used from here on
  switch (m.kind) {
  case Kind::Request: return face_->on_editor_request(m);
  case Kind::Notification: return face_->on_editor_notification(m);
  case Kind::Response: return face_->on_editor_response(m);
  case Kind::Invalid: return;
  }
}

bool Session::forward_large_unparsed(std::string& body) {
  protocol::Envelope env = protocol::scan_envelope(body);
  if (!env.is_request() && !env.is_notification()) return false;
  if (env.has_params && env.params_first != '{' && env.params_first != '[') return false;  // invalid: -32600 there
  protocol::Message light;
  light.kind = env.is_request() ? Kind::Request : Kind::Notification;
  light.method = std::string(env.method);
  if (!face_->forwards_unchanged(light) || !codex_ready() || !upstream_) return false;
  // One line of strict JSON within the nesting cap; anything else takes the ordinary path.
  if (body.find('\n') != std::string::npos || protocol::check_json_text(body) != protocol::JsonStatus::Ok) return false;
  json editor_id;
  if (light.kind == Kind::Request) {
    protocol::ParsedJson id = protocol::parse_json(std::string_view(body).substr(env.id_begin, env.id_end - env.id_begin));
    if (!id.ok() || !protocol::is_valid_id(id.value)) return false;
    editor_id = std::move(id.value);
  }
  record(face_->record_direction(light), body);
  if (light.kind == Kind::Request) {
    // The same as the face's forwarding: a fresh id toward codex, the answer under the editor's id.
    std::int64_t wire_id = add_codex_request(light.method, [this, editor_id](CodexResponse& r) {
      forward_response_to_editor(editor_id, r);
    });
    body.replace(env.id_begin, env.id_end - env.id_begin, std::to_string(wire_id));
  }
  // codex accepts the editor's "jsonrpc":"2.0", so the text goes as it came.
  upstream_->send(std::move(body));
  update_backpressure();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Codex -> bridge

void Session::on_codex_frame(std::string&& line) {
  record(face_->codex_record_direction(), line);
  protocol::Envelope env = protocol::scan_envelope(line);
  // The hot path: notifications the core does not look into go to the face exactly as they came.
  if (env.is_notification() && !env.has_jsonrpc && !is_observed_notification(env.method)) {
    return face_->on_codex_notification(std::move(line), env, nullptr);
  }
  if (env.is_response() && !env.has_jsonrpc) return on_codex_response(line, env);

  protocol::ParsedJson parsed = protocol::parse_json(line);
  if (!parsed.ok()) {
    spdlog::warn("codex sent a line the bridge cannot use ({} bytes): {}; not forwarded", line.size(), parsed.problem);
    task_->event("upstream.badMessage", {{"error", parsed.problem}, {"bytes", line.size()}});
    // A request too deep to parse still shows its id: codex gets an error rather than waiting forever.
    if (parsed.status == protocol::JsonStatus::TooDeep && env.valid && env.is_request())
      answer_invalid_codex_request(readable_id(line), parsed.problem);
    return;
  }
  protocol::Message m = protocol::classify(std::move(parsed.value));
  switch (m.kind) {
  case Kind::Request: return on_codex_request(std::move(m.body));
  case Kind::Notification:
    m.body.erase("jsonrpc");
    observe_codex_notification(m.body);
    return face_->on_codex_notification(std::move(line), env, &m.body);
  case Kind::Response: {
    m.body.erase("jsonrpc");
    std::string compact = protocol::to_line(m.body);
    return on_codex_response(compact, protocol::scan_envelope(compact));
  }
  case Kind::Invalid:
    spdlog::warn("codex sent an invalid message ({}); not forwarded", m.problem);
    task_->event("upstream.badMessage", {{"error", m.problem}});
    // An invalid request whose id can be read (`"params": null`, a method that is not a string) is
    // answered, as JSON-RPC wants: codex must not wait forever for an answer.
    if (m.body.is_object() && m.body.contains("method")) answer_invalid_codex_request(m.id, m.problem);
    return;
  }
}

void Session::answer_invalid_codex_request(const json& codex_id, const std::string& problem) {
  if (!protocol::is_valid_id(codex_id)) return;
  answer_codex(codex_id, generation_,
               {{"error", {{"code", ec::kInvalidRequest}, {"message", "Invalid request: " + problem}}}});
}

void Session::on_codex_response(std::string& line, const protocol::Envelope& env) {
  std::string_view id_text = std::string_view(line).substr(env.id_begin, env.id_end - env.id_begin);
  auto wire_id = parse_int(id_text);
  auto entry = wire_id ? to_codex_.take(json(*wire_id)) : std::nullopt;
  if (!entry) {
    spdlog::warn("codex answered an unknown request id {}", id_text);
    return;
  }
  CodexResponse response(line, env);
  if (entry->on_response) entry->on_response(response);
}

void Session::on_codex_request(json body) {
  body.erase("jsonrpc");
  std::string method = string_member(body, "method");
  if (gates::needs_human(method)) {
    // Requests that wait on a human become gates (policy, prompt, timeout, directory hand-off).
    const json* params = find_member(body, "params");
    return gates_->open(body["id"], method, params && params->is_object() ? *params : json::object(), generation_);
  }
  face_->on_codex_request(std::move(body));
}

void Session::observe_codex_notification(const json& body) {
  const std::string method = string_member(body, "method");
  const json* params_ptr = find_member(body, "params");
  if (!params_ptr || !params_ptr->is_object()) return;
  const json& params = *params_ptr;
  const json* turn = find_member(params, "turn");
  static const json kNoObject = json::object();
  const json& turn_obj = turn && turn->is_object() ? *turn : kNoObject;
  if (method == "item/started" || method == "item/fileChange/patchUpdated") {
    gates_->on_codex_notification(method, params);
  } else if (method == "thread/started") {
    const json* thread = find_member(params, "thread");
    task_->event("thread.started", {{"threadId", thread ? string_member(*thread, "id") : std::string()}});
  } else if (method == "turn/started") {
    task_->event("turn.started", {{"threadId", string_member(params, "threadId")}, {"turnId", string_member(turn_obj, "id")}});
  } else if (method == "turn/completed") {
    json ev = {{"threadId", string_member(params, "threadId")},
               {"turnId", string_member(turn_obj, "id")},
               {"status", string_member(turn_obj, "status")}};
    if (const json* err = find_member(turn_obj, "error")) ev["error"] = *err;
    task_->event("turn.completed", ev);
    gates_->on_codex_notification(method, params);
  } else if (method == "serverRequest/resolved") {
    if (const json* id = find_member(params, "requestId")) gates_->on_codex_request_resolved(*id);
  }
}

// ---------------------------------------------------------------------------------------------
// Sending and recording

void Session::record(std::string_view direction, std::string_view raw) {
  if (options_.record_messages && app_server_log_) app_server_log_->message(direction, raw);
}

void Session::record_invalid(std::string_view direction, std::string_view problem, std::string_view raw) {
  if (options_.record_messages && app_server_log_) app_server_log_->invalid(direction, problem, raw);
}

void Session::send_to_editor(std::string_view line) {
  editor_->send(line);
  update_backpressure();
}

void Session::send_to_codex(const json& body) {
  if (!upstream_) return;
  upstream_->send(protocol::to_line(body));
  update_backpressure();
}

void Session::emit_to_editor(const json& message) {
  std::string line = protocol::to_line(message);
  record(dir::kBridgeToEditor, line);
  send_to_editor(line);
}

void Session::forward_to_editor(std::string_view line) { send_to_editor(line); }

Reply Session::make_reply(const json& id, std::string method) {
  // The answer may come after the session is gone (a join still waiting at exit): then it is dropped.
  return Reply(id, std::move(method), [this, alive = std::weak_ptr<int>(alive_)](json response) {
    if (alive.lock() && !editor_gone_) emit_to_editor(response);
  });
}

void Session::forward_response_to_editor(const json& editor_id, CodexResponse& response) {
  if (response.made_up()) {
    json body = response.body();
    body["id"] = editor_id;
    emit_to_editor(body);
  } else {
    forward_to_editor(response.line_with_id(editor_id));
  }
}

void Session::update_backpressure() {
  // A slow editor pauses codex's output and the editor's own requests (whose answers would pile up
  // toward it); a slow codex pauses the editor's input; a disk that falls behind the recording pauses
  // both (every message is recorded as it passes), so that recordings are complete. Memory stays
  // bounded by the high-water marks plus one frame.
  bool disk_behind = task_ && task_->recorder_congested();
  bool editor_slow = editor_->congested();
  bool codex_slow = upstream_ && upstream_->congested();
  if (upstream_) {
    if (editor_slow || disk_behind) upstream_->pause_reading();
    else upstream_->resume_reading();
  }
  if (editor_slow || codex_slow || disk_behind) editor_->pause_reading();
  else editor_->resume_reading();
}

std::int64_t Session::add_codex_request(std::string method, CodexCallback on_response) {
  protocol::PendingRequests<CodexCallback>::Entry entry;
  entry.method = std::move(method);
  entry.generation = generation_;
  entry.on_response = std::move(on_response);
  auto timeout = options_.config.codex.request_timeout;
  if (timeout.count() > 0) entry.deadline = std::chrono::steady_clock::now() + timeout;
  std::int64_t id = to_codex_.add(std::move(entry));
  if (timeout.count() > 0 && !request_timer_armed_) expire_codex_requests();
  return id;
}

void Session::expire_codex_requests() {
  // Requests codex never answers would otherwise stay pending forever (and their editor waiting).
  auto now = std::chrono::steady_clock::now();
  for (auto& [wire_id, entry] : to_codex_.take_expired(now)) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(options_.config.codex.request_timeout).count();
    spdlog::warn("codex did not answer {} (id {}) within {} s", entry.method, wire_id, secs);
    task_->event("upstream.requestTimedOut", {{"method", entry.method}, {"id", wire_id}, {"timeoutS", secs}});
    CodexResponse err(protocol::make_error(nullptr, ec::kUpstreamTimeout,
                                           "codex did not answer within " + std::to_string(secs) + " s",
                                           {{"method", entry.method}}));
    if (entry.on_response) guarded("a request codex did not answer", [&] { entry.on_response(err); });
  }
  auto next = to_codex_.next_deadline();
  request_timer_armed_ = next != protocol::PendingRequests<CodexCallback>::Clock::time_point::max();
  if (!request_timer_armed_) return;
  request_timer_.expires_at(next);
  request_timer_.async_wait([this](const asio::error_code& e) {
    if (e) return;
    request_timer_armed_ = false;
    expire_codex_requests();
  });
}

void Session::title_from_turn_start(const json& request) {
  // The task's title is the first prompt, whichever face (or the bridge itself) started the turn.
  if (title_set_ || string_member(request, "method") != "turn/start") return;
  const json* params = find_member(request, "params");
  std::string prompt = params ? first_prompt_text(*params) : std::string();
  if (prompt.empty()) return;
  task_->set_title(prompt);
  title_set_ = true;
}

void Session::request_codex(std::string_view method, json params, CodexCallback on_response) {
  std::int64_t id = add_codex_request(std::string(method), std::move(on_response));
  json msg = protocol::make_request(id, method, std::move(params));
  title_from_turn_start(msg);
  record(dir::kBridgeToCodex, protocol::to_line(msg));
  send_to_codex(msg);
}

void Session::forward_request_to_codex(json body, CodexCallback on_response) {
  title_from_turn_start(body);
  body["id"] = add_codex_request(string_member(body, "method"), std::move(on_response));
  body.erase("jsonrpc");
  send_to_codex(body);
}

void Session::notify_codex(std::string_view method, json params) {
  json msg = protocol::make_notification(method, std::move(params));
  record(dir::kBridgeToCodex, protocol::to_line(msg));
  send_to_codex(msg);
}

void Session::forward_to_codex(json body) {
  body.erase("jsonrpc");
  send_to_codex(body);
}

void Session::answer_codex(const json& codex_id, std::uint64_t generation, json body) {
  if (generation != generation_ || !upstream_ || upstream_->exited()) {
    spdlog::info("not answering codex request {}: that codex is gone", codex_id.dump());
    return;
  }
  body["id"] = codex_id;
  record(dir::kBridgeToCodex, protocol::to_line(body));
  send_to_codex(body);
}

void Session::set_codex_version_from(const json& initialize_result) {
  codex_version_ = version_from_user_agent(string_member(initialize_result, "userAgent"));
  if (!codex_version_.empty()) task_->set_codex_version(codex_version_);
}

void Session::on_editor_gone(const std::string& reason) {
  if (editor_gone_) return;
  editor_gone_ = true;
  task_->event("client.disconnected", {{"reason", reason}});
  // Nothing may wait forever on an editor that left: gates get their on_disconnect answer, and what
  // the face forwarded to the editor gets an error.
  gates_->on_editor_gone();
  face_->on_editor_gone();
  shutdown("the editor went away (" + reason + ")");
}

// ---------------------------------------------------------------------------------------------
// coco/* methods of the core bridge

json Session::coco_info() const {
  return {{"version", kCocoVersion},
          {"codexVersion", codex_version_.empty() ? json(nullptr) : json(codex_version_)},
          {"pinnedCodexVersion", kPinnedCodexVersion},
          {"taskId", task_->id()},
          {"taskDir", task_->dir().string()},
          {"capabilities", {{"methods", methods_.names()}, {"framing", {"content-length", "lines"}}}}};
}

void Session::register_core_methods() {
  methods_.add("coco/status", [this](const json&, Reply reply) {
    json status = coco_info();
    status["upstream"] = {{"state", to_string(state_)},
                          {"pid", upstream_ ? json(upstream_->pid()) : json(nullptr)},
                          {"restarts", restarts_}};
    status["pending"] = {{"toCodex", to_codex_.size()}, {"gates", gates_->open_count()}};
    status["editor"] = {{"transport", editor_->describe()}, {"face", face_->describe()}};
    reply(status);
  });
  methods_.add("coco/upstream/restart", [this](const json&, Reply reply) {
    // A manual restart clears the give-up budget.
    recent_restarts_.clear();
    if (state_ == UpstreamState::GaveUp) {
      final_status_ = "completed";
      failure_reason_.clear();
      schedule_restart();
    } else if (upstream_) {
      upstream_->kill();  // the exit handler restarts it
    }
    reply({{"restarting", true}});
  });
}

// ---------------------------------------------------------------------------------------------
// Shutdown

void Session::fail(const std::string& reason) {
  spdlog::error("the bridge cannot go on: {}", reason);
  final_status_ = "failed";
  failure_reason_ = reason;
  if (task_) task_->event("bridge.failed", {{"reason", reason}});
  shutdown(reason);
}

void Session::shutdown(const std::string& reason) {
  if (finished_ || state_ == UpstreamState::Stopping) return;
  spdlog::info("shutting down: {}", reason);
  shutting_down_ = true;
  if (on_shutting_down) on_shutting_down(reason);
  restart_timer_.cancel();
  request_timer_.cancel();
  if (upstream_ && !upstream_->exited()) {
    set_upstream_state(UpstreamState::Stopping);
    upstream_->stop(options_.stop_grace);
  } else {
    set_upstream_state(UpstreamState::Stopped);
  }
  finish_if_done();
}

void Session::finish_if_done() {
  if (finished_ || !shutting_down_ || state_ != UpstreamState::Stopped) return;
  auto finish = [this] {
    finished_ = true;
    task_->finish(final_status_, failure_reason_);
    if (on_finished) on_finished();
  };
  if (!editor_->flushed()) {
    // Give the last answers a moment to reach the editor, but never wait forever on it.
    flush_timer_.expires_after(kFlushTimeout);
    flush_timer_.async_wait([this, finish](const asio::error_code& e) {
      if (e) return;
      spdlog::warn("the editor did not read our last messages; exiting anyway");
      finish();
    });
    return;
  }
  flush_timer_.cancel();
  finish();
}

}  // namespace coco::bridge
