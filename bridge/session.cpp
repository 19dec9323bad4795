#include "bridge/session.h"

#include "bridge/version.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <unistd.h>

namespace coco::bridge {

using protocol::Kind;
namespace ec = protocol::error_code;

namespace {

constexpr auto kFlushTimeout = std::chrono::milliseconds(2000);
constexpr std::size_t kMaxRememberedCodexRequests = 4096;

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  auto [p, err] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (err != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

// Codex notifications the bridge looks inside; everything else passes through unparsed.
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
  const json* input = params.is_object() && params.contains("input") ? &params["input"] : nullptr;
  if (!input || !input->is_array()) return {};
  for (const auto& item : *input) {
    if (item.is_object() && item.value("type", "") == "text" && item.contains("text") && item["text"].is_string())
      return item["text"].get<std::string>();
  }
  return {};
}

}  // namespace

Session::Session(asio::io_context& io, BridgeOptions options, std::unique_ptr<EditorTransport> editor)
    : io_(io), options_(std::move(options)), editor_(std::move(editor)), restart_timer_(io), flush_timer_(io) {}

Session::~Session() {
  if (task_) task_->on_recorder_relieved(nullptr);
}

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

void Session::start() {
  taskdir::TaskMeta meta;
  meta.cwd = options_.cwd;
  taskdir::WriterOptions writer;
  writer.pause_above_bytes = options_.config.recording.buffer_bytes;
  writer.resume_below_bytes = writer.pause_above_bytes / 4;
  writer.max_queued_bytes = 8 * writer.pause_above_bytes;
  task_ = taskdir::TaskWriter::create(options_.task_root, meta, writer);
  app_server_log_ = task_->add_agent("app-server", "app-server");
  spdlog::info("task directory: {}", task_->dir().string());

  editor_->on_message = [this](std::string&& body) { on_editor_frame(std::move(body)); };
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
  upstream_->on_message = [this](std::string&& line) { on_codex_frame(std::move(line)); };
  upstream_->on_bad_frame = [this](const std::string& problem) {
    spdlog::warn("codex sent a bad frame: {}", problem);
    if (app_server_log_) app_server_log_->invalid(dir::kCodexToEditor, problem, "");
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
    notify_editor("coco/upstream/exited", {{"error", e.what()}, {"restarting", false}});
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

void Session::replay_handshake() {
  // A restarted codex knows nothing of the editor: give it the editor's own handshake again.
  set_upstream_state(UpstreamState::Replaying);
  request_codex("initialize", initialize_params_, [this](const json& response) {
    if (state_ != UpstreamState::Replaying) return;
    if (response.contains("error")) spdlog::warn("codex rejected the replayed initialize: {}", response["error"].dump());
    if (editor_initialized_) {
      json n = protocol::make_notification("initialized", nullptr);
      record(dir::kBridgeToCodex, protocol::to_line(n));
      send_to_codex(n);
    }
    set_upstream_state(UpstreamState::Ready);
    task_->event("upstream.restarted", {{"pid", upstream_->pid()}, {"restarts", restarts_}});
    notify_editor("coco/upstream/restarted", {{"pid", upstream_->pid()}, {"restarts", restarts_}});
  });
}

void Session::on_upstream_exit(const process::ExitStatus& status, const std::string& stderr_tail) {
  bool expected = shutting_down_;
  spdlog::log(expected ? spdlog::level::info : spdlog::level::warn, "codex app-server {}", status.describe());

  // Every request codex still owed an answer to gets an error now, not a hang.
  auto pending = to_codex_.take_all();
  for (auto& [wire_id, entry] : pending) {
    json err = protocol::make_error(entry.original_id, ec::kUpstreamExited,
                                    "codex exited before answering (" + status.describe() + ")",
                                    {{"method", entry.method}});
    if (entry.on_response) entry.on_response(err);
    else {
      std::string line = protocol::to_line(err);
      record(dir::kBridgeToEditor, line);
      send_to_editor(line);
    }
  }
  // Requests from the dead codex can no longer be answered; late answers are dropped by generation.
  codex_request_ids_.clear();
  if (gates_) gates_->on_upstream_exit();

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
  notify_editor("coco/upstream/exited", info);
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
  if (app_server_log_) app_server_log_->invalid(dir::kEditorToBridge, problem, "");
  std::string line = protocol::to_line(protocol::make_error(nullptr, ec::kBadFrame, problem));
  record(dir::kBridgeToEditor, line);
  send_to_editor(line);
}

void Session::on_editor_frame(std::string&& body) {
  if (!client_connected_) {
    client_connected_ = true;
    task_->event("client.connected", {{"transport", editor_->describe()}});
  }
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    if (app_server_log_) app_server_log_->invalid(dir::kEditorToBridge, "parse error", body);
    std::string line = protocol::to_line(protocol::make_error(nullptr, ec::kParseError, "Parse error: the message is not valid JSON"));
    record(dir::kBridgeToEditor, line);
    send_to_editor(line);
    return;
  }
  protocol::Message m = protocol::classify(std::move(parsed));
  bool coco_bound = m.kind == Kind::Response || m.method.rfind("coco/", 0) == 0 || m.method == "shutdown" || m.method == "exit";
  // Bodies from a Content-Length editor may be pretty-printed: recordings are one line each.
  record(coco_bound ? dir::kEditorToBridge : dir::kEditorToCodex,
         body.find('\n') == std::string::npos ? std::string_view(body) : std::string_view(protocol::to_line(m.body)));
  switch (m.kind) {
  case Kind::Request: route_editor_request(m); break;
  case Kind::Notification: route_editor_notification(m); break;
  case Kind::Response: route_editor_response(m); break;
  case Kind::Invalid: {
    std::string line = protocol::to_line(protocol::make_error(m.id, ec::kInvalidRequest, "Invalid request: " + m.problem));
    record(dir::kBridgeToEditor, line);
    send_to_editor(line);
    break;
  }
  }
}

void Session::route_editor_request(protocol::Message& m) {
  if (m.method.rfind("coco/", 0) == 0) {
    auto it = methods_.find(m.method);
    if (it == methods_.end()) return reply_error(m.id, ec::kMethodNotFound, "Unknown method: " + m.method);
    json params = m.body.contains("params") ? m.body["params"] : json::object();
    try {
      it->second(m.id, params);
    } catch (const std::exception& e) {
      reply_error(m.id, ec::kInvalidParams, e.what());
    }
    return;
  }
  if (m.method == "shutdown") {  // LSP's polite goodbye; codex has no such method
    shutting_down_ = true;
    return reply(m.id, nullptr);
  }
  if (state_ != UpstreamState::Ready) {
    std::string why = state_ == UpstreamState::GaveUp ? "codex is not running (it kept exiting; coco/upstream/restart tries again)"
                                                      : "codex is not ready (" + std::string(to_string(state_)) + ")";
    return reply_error(m.id, ec::kUpstreamUnavailable, why);
  }
  if (m.method == "initialize") {
    initialize_params_ = m.body.value("params", json::object());
    if (initialize_params_.contains("capabilities") && initialize_params_["capabilities"].is_object()) {
      client_capabilities_ = initialize_params_["capabilities"];
      // Coco's own capabilities are the bridge's business, not codex's.
      initialize_params_["capabilities"].erase("coco");
      m.body["params"]["capabilities"].erase("coco");
    }
  } else if (m.method == "turn/start" && !title_set_) {
    std::string prompt = first_prompt_text(m.body.value("params", json::object()));
    if (!prompt.empty()) {
      task_->set_title(prompt);
      title_set_ = true;
    }
  }
  protocol::PendingRequests::Entry entry;
  entry.original_id = m.id;
  entry.method = m.method;
  entry.generation = generation_;
  m.body["id"] = to_codex_.add(std::move(entry));
  m.body.erase("jsonrpc");
  send_to_codex(m.body);
}

void Session::route_editor_notification(protocol::Message& m) {
  if (m.method == "exit") return on_editor_gone("exit notification");
  if (m.method.rfind("coco/", 0) == 0) return;  // no coco/* notifications are defined from editors
  if (m.method == "initialized") editor_initialized_ = true;
  if (state_ != UpstreamState::Ready) {
    spdlog::warn("dropping notification {}: codex is not ready", m.method);
    return;
  }
  m.body.erase("jsonrpc");
  send_to_codex(m.body);
}

void Session::route_editor_response(protocol::Message& m) {
  auto entry = to_editor_.take(m.id);
  if (!entry) {
    spdlog::warn("the editor answered an unknown request id {}", m.id.dump());
    return;
  }
  if (entry->on_response) return entry->on_response(m.body);
  if (entry->generation != generation_ || state_ == UpstreamState::Restarting || state_ == UpstreamState::GaveUp) {
    spdlog::info("dropping the editor's answer to {}: the codex that asked has exited", entry->method);
    return;
  }
  m.body["id"] = entry->original_id;
  m.body.erase("jsonrpc");
  send_to_codex(m.body);
}

// ---------------------------------------------------------------------------------------------
// Codex -> bridge

void Session::on_codex_frame(std::string&& line) {
  record(dir::kCodexToEditor, line);
  protocol::Envelope env = protocol::scan_envelope(line);
  // The hot path: notifications we do not need to look into go out exactly as they came.
  if (env.is_notification() && !env.has_jsonrpc && !is_observed_notification(env.method)) {
    return send_to_editor(line);
  }
  if (env.is_response() && !env.has_jsonrpc) return route_codex_response(line, env);

  json parsed = json::parse(line, nullptr, false);
  if (parsed.is_discarded()) {
    spdlog::warn("codex sent a line that is not JSON ({} bytes); not forwarded", line.size());
    return;
  }
  protocol::Message m = protocol::classify(std::move(parsed));
  switch (m.kind) {
  case Kind::Request: return route_codex_request(std::move(m.body));
  case Kind::Notification:
    m.body.erase("jsonrpc");
    observe_codex_notification(m.body);
    return send_to_editor(protocol::to_line(m.body));
  case Kind::Response: {
    m.body.erase("jsonrpc");
    std::string compact = protocol::to_line(m.body);
    return route_codex_response(compact, protocol::scan_envelope(compact));
  }
  case Kind::Invalid: spdlog::warn("codex sent an invalid message ({}); not forwarded", m.problem); return;
  }
}

void Session::route_codex_response(std::string& line, const protocol::Envelope& env) {
  auto wire_id = parse_int(std::string_view(line).substr(env.id_begin, env.id_end - env.id_begin));
  auto entry = wire_id ? to_codex_.take(json(*wire_id)) : std::nullopt;
  if (!entry) {
    spdlog::warn("codex answered an unknown request id {}", line.substr(env.id_begin, env.id_end - env.id_begin));
    return;
  }
  if (entry->on_response || entry->method == "initialize") {
    json body = json::parse(line, nullptr, false);
    if (body.is_discarded()) return;
    body["id"] = entry->original_id;
    if (entry->on_response) return entry->on_response(body);
    if (body.contains("result") && body["result"].is_object()) {
      codex_version_ = version_from_user_agent(body["result"].value("userAgent", ""));
      if (!codex_version_.empty()) task_->set_codex_version(codex_version_);
      body["result"]["coco"] = coco_info();
    }
    return send_to_editor(protocol::to_line(body));
  }
  // Put the editor's own id back without re-serializing a possibly large result.
  line.replace(env.id_begin, env.id_end - env.id_begin, entry->original_id.dump());
  send_to_editor(line);
}

void Session::route_codex_request(json body) {
  body.erase("jsonrpc");
  json codex_id = body["id"];
  std::string method = body.value("method", "");
  if (gates_ && gates::needs_human(method)) {
    // Requests that wait on a human become gates (policy, prompt, timeout, directory hand-off).
    return gates_->open(codex_id, method, body.value("params", json::object()), generation_);
  }
  protocol::PendingRequests::Entry entry;
  entry.original_id = codex_id;
  entry.method = body.value("method", "");
  entry.generation = generation_;
  std::int64_t editor_id = to_editor_.add(std::move(entry));
  if (codex_id.is_number_integer()) remember_codex_request_id(codex_id.get<std::int64_t>(), editor_id);
  body["id"] = editor_id;
  send_to_editor(protocol::to_line(body));
}

void Session::observe_codex_notification(json& body) {
  const std::string method = body.value("method", "");
  json& params = body["params"];
  if (!params.is_object()) return;
  if (method == "item/started" || method == "item/fileChange/patchUpdated") {
    if (gates_) gates_->on_codex_notification(method, params);
  } else if (method == "thread/started") {
    task_->event("thread.started", {{"threadId", params["thread"].value("id", "")}});
  } else if (method == "turn/started") {
    task_->event("turn.started", {{"threadId", params.value("threadId", "")}, {"turnId", params["turn"].value("id", "")}});
  } else if (method == "turn/completed") {
    json ev = {{"threadId", params.value("threadId", "")},
               {"turnId", params["turn"].value("id", "")},
               {"status", params["turn"].value("status", "")}};
    if (params["turn"].contains("error") && !params["turn"]["error"].is_null()) ev["error"] = params["turn"]["error"];
    task_->event("turn.completed", ev);
    if (gates_) gates_->on_codex_notification(method, params);
  } else if (method == "serverRequest/resolved") {
    if (gates_ && params.contains("requestId")) gates_->on_codex_request_resolved(params["requestId"]);
    // codex names the request by its own id; the editor only knows the id we gave it.
    if (params.contains("requestId") && params["requestId"].is_number_integer()) {
      auto it = codex_request_ids_.find(params["requestId"].get<std::int64_t>());
      if (it != codex_request_ids_.end()) {
        params["requestId"] = it->second;
        codex_request_ids_.erase(it);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sending and recording

void Session::record(std::string_view direction, std::string_view raw) {
  if (options_.record_messages && app_server_log_) app_server_log_->message(direction, raw);
}

void Session::send_to_editor(std::string_view body) {
  editor_->send(body);
  update_backpressure();
}

void Session::send_to_codex(const json& body) {
  if (!upstream_) return;
  upstream_->send(protocol::to_line(body));
  update_backpressure();
}

void Session::update_backpressure() {
  // A slow editor pauses codex's output; a slow codex pauses the editor's input; a disk that falls
  // behind the recording pauses both (every message is recorded as it passes), so that recordings
  // are complete. Memory stays bounded by the high-water marks plus one frame.
  bool disk_behind = task_ && task_->recorder_congested();
  if (upstream_) {
    if (editor_->congested() || disk_behind) upstream_->pause_reading();
    else upstream_->resume_reading();
    if (upstream_->congested() || disk_behind) editor_->pause_reading();
    else editor_->resume_reading();
  } else if (disk_behind) {
    editor_->pause_reading();
  } else {
    editor_->resume_reading();
  }
}

void Session::reply(const json& id, json result) {
  std::string line = protocol::to_line(protocol::make_result(id, std::move(result)));
  record(dir::kBridgeToEditor, line);
  send_to_editor(line);
}

void Session::reply_error(const json& id, int code, std::string_view message, json data) {
  std::string line = protocol::to_line(protocol::make_error(id, code, message, std::move(data)));
  record(dir::kBridgeToEditor, line);
  send_to_editor(line);
}

void Session::notify_editor(std::string_view method, json params) {
  std::string line = protocol::to_line(protocol::make_notification(method, std::move(params)));
  record(dir::kBridgeToEditor, line);
  send_to_editor(line);
}

std::int64_t Session::request_editor(std::string_view method, json params, std::function<void(const json&)> on_response) {
  protocol::PendingRequests::Entry entry;
  entry.method = std::string(method);
  entry.generation = generation_;
  entry.on_response = std::move(on_response);
  std::int64_t id = to_editor_.add(std::move(entry));
  std::string line = protocol::to_line(protocol::make_request(id, method, std::move(params)));
  record(dir::kBridgeToEditor, line);
  send_to_editor(line);
  return id;
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

void Session::remember_codex_request_id(std::int64_t codex_id, std::int64_t editor_id) {
  codex_request_ids_[codex_id] = editor_id;
  if (codex_request_ids_.size() > kMaxRememberedCodexRequests) codex_request_ids_.erase(codex_request_ids_.begin());
}

void Session::on_editor_gone(const std::string& reason) {
  if (editor_gone_) return;
  editor_gone_ = true;
  task_->event("client.disconnected", {{"reason", reason}});
  // Nothing may wait forever on an editor that left: gates get their on_disconnect answer, and
  // codex requests forwarded raw get an error.
  if (gates_) gates_->on_editor_gone();
  for (auto& [editor_id, entry] : to_editor_.take_all()) {
    if (entry.on_response) continue;  // the bridge's own prompts: the gates were just answered
    {
      answer_codex(entry.original_id, entry.generation,
                   {{"error", {{"code", ec::kInternalError}, {"message", "the editor disconnected before answering"}}}});
    }
  }
  shutdown("the editor went away (" + reason + ")");
}

void Session::request_codex(std::string_view method, json params, std::function<void(const json&)> on_response) {
  protocol::PendingRequests::Entry entry;
  entry.method = std::string(method);
  entry.generation = generation_;
  entry.on_response = std::move(on_response);
  std::int64_t id = to_codex_.add(std::move(entry));
  json msg = protocol::make_request(id, method, std::move(params));
  record(dir::kBridgeToCodex, protocol::to_line(msg));
  send_to_codex(msg);
}

void Session::register_method(std::string name, MethodHandler handler) { methods_[std::move(name)] = std::move(handler); }

// ---------------------------------------------------------------------------------------------
// coco/* methods of the core bridge

json Session::coco_info() const {
  json methods = json::array();
  for (const auto& [name, _] : methods_) methods.push_back(name);
  std::sort(methods.begin(), methods.end());
  return {{"version", kCocoVersion},
          {"codexVersion", codex_version_.empty() ? json(nullptr) : json(codex_version_)},
          {"pinnedCodexVersion", kPinnedCodexVersion},
          {"taskId", task_->id()},
          {"taskDir", task_->dir().string()},
          {"capabilities", {{"methods", methods}, {"framing", {"content-length", "lines"}}}}};
}

void Session::register_core_methods() {
  register_method("coco/status", [this](const json& id, const json&) {
    json status = coco_info();
    status["upstream"] = {{"state", to_string(state_)},
                          {"pid", upstream_ ? json(upstream_->pid()) : json(nullptr)},
                          {"restarts", restarts_}};
    status["pending"] = {{"toCodex", to_codex_.size()}, {"toEditor", to_editor_.size()}};
    status["editor"] = {{"transport", editor_->describe()}};
    reply(id, status);
  });
  register_method("coco/upstream/restart", [this](const json& id, const json&) {
    // A manual restart clears the give-up budget.
    recent_restarts_.clear();
    if (state_ == UpstreamState::GaveUp) {
      final_status_ = "completed";
      schedule_restart();
    } else if (upstream_) {
      upstream_->kill();  // the exit handler restarts it
    }
    reply(id, {{"restarting", true}});
  });
}

// ---------------------------------------------------------------------------------------------
// Shutdown

void Session::shutdown(const std::string& reason) {
  if (finished_ || state_ == UpstreamState::Stopping) return;
  spdlog::info("shutting down: {}", reason);
  shutting_down_ = true;
  if (on_shutting_down) on_shutting_down(reason);
  restart_timer_.cancel();
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
  if (!editor_->flushed()) {
    // Give the last answers a moment to reach the editor, but never wait forever on it.
    flush_timer_.expires_after(kFlushTimeout);
    flush_timer_.async_wait([this](const asio::error_code& e) {
      if (e) return;
      spdlog::warn("the editor did not read our last messages; exiting anyway");
      finished_ = true;
      task_->finish(final_status_);
      if (on_finished) on_finished();
    });
    return;
  }
  flush_timer_.cancel();
  finished_ = true;
  task_->finish(final_status_);
  if (on_finished) on_finished();
}

}  // namespace coco::bridge
