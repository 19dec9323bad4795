#include "bridge/acp_face.h"

#include "acp/translate.h"
#include "bridge/session.h"
#include "bridge/version.h"
#include "protocol/json_fields.h"
#include "protocol/json_text.h"
#include "taskdir/task_reader.h"
#include "text/one_line.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

namespace coco::bridge {

using json = nlohmann::json;
namespace ec = protocol::error_code;
namespace aec = acp::error_code;
namespace fs = std::filesystem;

using protocol::find_member;
using protocol::string_member;

namespace {

constexpr std::size_t kTitleMax = 80;
// A running command's output: what the face keeps, what one live update shows, and the most that one
// update carries as the delta since the previous one. Updates come at most every kOutputFlush.
constexpr std::size_t kOutputKeepBytes = 64 * 1024;
constexpr std::size_t kOutputShowBytes = 32 * 1024;
constexpr std::size_t kOutputDeltaBytes = 32 * 1024;
constexpr auto kOutputFlush = std::chrono::milliseconds(100);
constexpr std::size_t kSessionsPerPage = 100;

// codex notifications the face never shows: asked not to be sent at all (less to parse and record).
const std::vector<std::string> kOptedOutNotifications = {
    "account/rateLimits/updated", "thread/readState/changed", "thread/settings/updated", "turn/diff/updated",
    "remoteControl/status/changed", "thread/status/changed", "deprecationNotice", "rawResponseItem/completed",
    "rawResponse/completed"};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

json params_of(const protocol::Message& m) {
  const json* p = find_member(m.body, "params");
  return p && p->is_object() ? *p : json::object();
}

// ISO 8601 UTC, to the second ("2025-03-01T10:00:00Z").
std::string now_iso() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// An absolute path from the client (ACP requires absolute paths), or "".
std::string absolute_path(const json& params, const char* key) {
  std::string p = string_member(params, key);
  return !p.empty() && p.front() == '/' ? p : std::string();
}

// ACP's McpServer[] as codex's `mcp_servers` config (stdio: command/args/env; http: url/headers).
json mcp_config(const json& params) {
  const json* servers = find_member(params, "mcpServers");
  if (!servers || !servers->is_array() || servers->empty()) return nullptr;
  json out = json::object();
  for (const auto& s : *servers) {
    std::string name;
    for (char c : string_member(s, "name")) name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
    if (name.empty()) continue;
    auto pairs = [&](const char* key) {
      json o = json::object();
      if (const json* list = find_member(s, key); list && list->is_array())
        for (const auto& kv : *list)
          if (!string_member(kv, "name").empty()) o[string_member(kv, "name")] = string_member(kv, "value");
      return o;
    };
    std::string type = string_member(s, "type");
    if (type == "http") {
      out[name] = {{"url", string_member(s, "url")}, {"http_headers", pairs("headers")}};
    } else if (type.empty() || type == "stdio") {
      json args = json::array();
      if (const json* a = find_member(s, "args"); a && a->is_array())
        for (const auto& x : *a)
          if (x.is_string()) args.push_back(x);
      out[name] = {{"command", string_member(s, "command")}, {"args", args}, {"env", pairs("env")}};
    }
  }
  return out.empty() ? json(nullptr) : json{{"mcp_servers", out}};
}

// The commands a session offers (ACP slash commands); each maps to a codex method.
json available_commands() {
  return json::array({{{"name", "review"},
                       {"description", "Review the uncommitted changes (or what you describe) with codex's reviewer"},
                       {"input", {{"hint", "optional: what to review instead of the uncommitted changes"}}}}});
}

// A prompt that is a slash command: its name and the rest of the text.
std::optional<std::pair<std::string, std::string>> slash_command(const json& prompt) {
  if (!prompt.is_array() || prompt.size() != 1 || string_member(prompt[0], "type") != "text") return std::nullopt;
  std::string text = string_member(prompt[0], "text");
  if (!starts_with(text, "/review")) return std::nullopt;
  std::string rest = text.substr(7);
  if (!rest.empty() && rest.front() != ' ' && rest.front() != '\n') return std::nullopt;
  auto b = rest.find_first_not_of(" \n\t");
  return std::make_pair(std::string("review"), b == std::string::npos ? std::string() : rest.substr(b));
}

bool acknowledges_cancel(const json& response) {
  const json* e = find_member(response, "error");
  const json* code = e ? find_member(*e, "code") : nullptr;
  return code && *code == json(aec::kRequestCancelled);
}

}  // namespace

AcpFace::AcpFace(Session& session) : session_(session), output_timer_(session.io()) {}

AcpFace::~AcpFace() = default;

std::string_view AcpFace::record_direction(const protocol::Message&) const { return dir::kEditorToBridge; }
std::string_view AcpFace::codex_record_direction() const { return dir::kCodexToBridge; }

json AcpFace::describe() const {
  std::string_view hs = handshake_ == Handshake::Done      ? "done"
                        : handshake_ == Handshake::Pending ? "pending"
                        : handshake_ == Handshake::Failed  ? "failed"
                                                           : "not started";
  return {{"name", "acp"}, {"sessions", sessions_.size()}, {"codexHandshake", hs}};
}

void AcpFace::notify(std::string_view method, json params) {
  // The core's coco/* news as ACP extension notifications.
  std::string name = starts_with(method, "coco/") ? "_" + std::string(method) : std::string(method);
  session_.emit_to_editor(protocol::make_notification(name, std::move(params)));
  if (method == "coco/upstream/restarted") {
    // The core gave the new codex the handshake, but it knows none of the threads: resume them all
    // before anything else reaches it (requests wait meanwhile, as during the first handshake).
    if (handshake_ == Handshake::NotStarted) return;  // the core had no handshake to give it
    handshake_ = Handshake::Pending;
    auto left = std::make_shared<std::size_t>(sessions_.size());
    if (*left == 0) return on_codex_handshake(true, {});
    for (auto& [id, s] : sessions_) {
      session_.request_codex("thread/resume", {{"threadId", id}, {"cwd", s.cwd}, {"excludeTurns", true}},
                             [this, id, left](CodexResponse& r) {
                               if (r.is_error()) spdlog::warn("could not resume session {} after codex restarted", id);
                               if (--*left == 0) on_codex_handshake(true, {});
                             });
    }
  }
}

void AcpFace::emit_update(const std::string& session_id, json update) {
  session_.emit_to_editor(
      protocol::make_notification("session/update", {{"sessionId", session_id}, {"update", std::move(update)}}));
}

// ---------------------------------------------------------------------------------------------
// The editor's messages

void AcpFace::on_editor_request(protocol::Message& m) {
  const std::string& method = m.method;
  if (method == "initialize") return on_initialize(m);
  auto reply = std::make_shared<Reply>(session_.make_reply(m.id, method));
  json params = params_of(m);
  if (starts_with(method, "_coco/")) {
    const json* raw = find_member(m.body, "params");
    if (raw && !raw->is_object()) return reply->error(ec::kInvalidParams, "Invalid params: _coco/* methods take an object");
    return session_.methods().dispatch(method.substr(1), params, std::move(*reply));
  }
  if (!initialized_) return reply->error(ec::kInvalidRequest, "initialize first");
  if (method == "authenticate") return on_authenticate(params, reply);
  if (method == "session/new") return on_session_new(params, reply);
  if (method == "session/load") return on_session_load(params, reply);
  if (method == "session/resume") return on_session_resume(params, reply);
  if (method == "session/list") return on_session_list(params, reply);
  if (method == "session/close") return on_session_close(params, reply);
  if (method == "session/prompt") return on_session_prompt(params, m.id, reply);
  if (method == "session/set_mode") return on_session_set_mode(params, reply);
  if (method == "session/set_config_option") return on_session_set_config_option(params, reply);
  reply->error(ec::kMethodNotFound, "Method not found: " + method);
}

void AcpFace::on_editor_notification(protocol::Message& m) {
  json params = params_of(m);
  if (m.method == "session/cancel") {
    auto it = sessions_.find(string_member(params, "sessionId"));
    if (it != sessions_.end()) cancel_session(it->second, "session/cancel");
    return;
  }
  if (m.method == "$/cancel_request") {
    // The client gave up on one of its requests: for a prompt, that is a cancel of the turn.
    const json* id = find_member(params, "requestId");
    for (auto& [_, s] : sessions_)
      if (id && s.prompt && s.prompt->request_id == *id) cancel_session(s, "$/cancel_request");
  }
  // Other notifications (extensions Coco does not know) are ignored, as ACP asks.
}

void AcpFace::on_editor_response(protocol::Message& m) {
  auto entry = to_editor_.take(m.id);
  if (!entry) {
    spdlog::warn("the client answered an unknown request id {}", m.id.dump());
    return;
  }
  if (entry->on_response) entry->on_response(m.body);
}

void AcpFace::on_editor_gone() {
  // Gates were answered by the core (approvals.on_disconnect); nothing else waits on the client.
  to_editor_.take_all();
  gate_requests_.clear();
}

std::int64_t AcpFace::request_editor(std::string_view method, json params, ResponseHandler on_response) {
  protocol::PendingRequests<ResponseHandler>::Entry entry;
  entry.method = std::string(method);
  entry.generation = session_.generation();
  entry.on_response = std::move(on_response);
  std::int64_t id = to_editor_.add(std::move(entry));
  session_.emit_to_editor(protocol::make_request(id, method, std::move(params)));
  return id;
}

// ---------------------------------------------------------------------------------------------
// initialize, authenticate, and the codex handshake

void AcpFace::on_initialize(protocol::Message& m) {
  Reply reply = session_.make_reply(m.id, m.method);
  json params = params_of(m);
  if (!find_member(params, "protocolVersion") || !params["protocolVersion"].is_number_integer())
    return reply.error(ec::kInvalidParams, "Invalid params: protocolVersion must be an integer");
  initialized_ = true;
  if (handshake_ == Handshake::NotStarted) start_codex_handshake(params.value("clientInfo", json()));

  json coco = session_.coco_info();
  json methods = json::array();
  for (const auto& name : session_.methods().names()) methods.push_back("_" + name);
  coco["capabilities"] = {{"methods", methods}};
  json result = {
      {"protocolVersion", acp::kProtocolVersion},
      {"agentCapabilities",
       {{"loadSession", true},
        {"promptCapabilities", {{"image", true}, {"audio", false}, {"embeddedContext", true}}},
        {"mcpCapabilities", {{"http", true}, {"sse", false}}},
        {"sessionCapabilities", {{"list", json::object()}, {"resume", json::object()}, {"close", json::object()}}},
        {"_meta", {{"coco", {{"methods", methods}}}}}}},
      {"agentInfo", {{"name", "coco"}, {"title", "Coco (Codex)"}, {"version", kCocoVersion}}},
      {"authMethods",
       json::array({{{"id", "codex-login"},
                     {"name", "Codex account"},
                     {"description", "The account codex is logged in with (`codex login`)"}},
                    {{"id", "openai-api-key"},
                     {"name", "OpenAI API key"},
                     {"description", "Log codex in with the OPENAI_API_KEY of Coco's environment"}}})},
      {"_meta", {{"coco", coco}}}};
  reply(result);
}

void AcpFace::start_codex_handshake(const json& acp_client_info) {
  handshake_ = Handshake::Pending;
  // The client's name becomes codex's originator, as it would for a direct connection.
  json client_info = {{"name", "coco_acp"}, {"version", kCocoVersion}};
  if (!string_member(acp_client_info, "name").empty()) {
    client_info["name"] = string_member(acp_client_info, "name");
    client_info["version"] = string_member(acp_client_info, "version");
    if (!string_member(acp_client_info, "title").empty()) client_info["title"] = string_member(acp_client_info, "title");
  }
  json params = {{"clientInfo", client_info}, {"capabilities", {{"optOutNotificationMethods", kOptedOutNotifications}}}};
  // A restarted codex gets the same handshake from the core, `initialized` included.
  session_.remember_handshake(params);
  session_.set_editor_initialized();
  if (!session_.codex_ready()) return on_codex_handshake(false, session_.codex_unavailable_reason());
  session_.request_codex("initialize", params, [this](CodexResponse& r) {
    if (r.is_error()) return on_codex_handshake(false, "codex refused initialize: " + r.body()["error"].dump());
    session_.set_codex_version_from(r.body().value("result", json::object()));
    session_.notify_codex("initialized", nullptr);
    on_codex_handshake(true, {});
  });
}

void AcpFace::on_codex_handshake(bool ok, const std::string& problem) {
  handshake_ = ok ? Handshake::Done : Handshake::Failed;
  handshake_problem_ = problem;
  if (!ok) spdlog::error("codex handshake failed: {}", problem);
  auto waiting = std::move(waiting_for_codex_);
  waiting_for_codex_.clear();
  for (auto& fn : waiting) fn();
  if (!ok || models_requested_) return;
  // The model catalog, for the sessions' config options (fetched once, while the client is busy).
  models_requested_ = true;
  session_.request_codex("model/list", json::object(), [this](CodexResponse& r) {
    const json& body = r.body();
    const json* result = r.is_error() ? nullptr : find_member(body, "result");
    const json* data = result ? find_member(*result, "data") : nullptr;
    models_ = data && data->is_array() ? *data : json::array();
    auto waiting = std::move(waiting_for_models_);
    waiting_for_models_.clear();
    for (auto& fn : waiting) fn();
  });
}

void AcpFace::with_codex(const SharedReply& reply, std::function<void()> then) {
  if (handshake_ == Handshake::Pending) {
    waiting_for_codex_.push_back([this, reply, then = std::move(then)] { with_codex(reply, then); });
    return;
  }
  if (handshake_ == Handshake::Failed) return reply->error(ec::kUpstreamUnavailable, handshake_problem_);
  if (!session_.codex_ready()) return reply->error(ec::kUpstreamUnavailable, session_.codex_unavailable_reason());
  then();
}

void AcpFace::with_models(std::function<void()> then) {
  if (!models_.is_null() || !models_requested_) return then();
  waiting_for_models_.push_back(std::move(then));
}

void AcpFace::on_authenticate(const json& params, SharedReply reply) {
  std::string method = string_member(params, "methodId");
  if (method != "codex-login" && method != "openai-api-key")
    return reply->error(ec::kInvalidParams, "no authentication method '" + method + "' (codex-login, openai-api-key)");
  with_codex(reply, [this, reply, method] {
    if (method == "openai-api-key") {
      const char* key = std::getenv("OPENAI_API_KEY");
      if (!key || !*key) return reply->error(ec::kInvalidParams, "OPENAI_API_KEY is not set in Coco's environment");
      return session_.request_codex("account/login/start", {{"type", "apiKey"}, {"apiKey", key}}, [reply](CodexResponse& r) {
        if (r.is_error()) return reply->error(aec::kAuthRequired, "codex refused the API key: " + r.body()["error"].dump());
        (*reply)(json::object());
      });
    }
    session_.request_codex("account/read", json::object(), [reply](CodexResponse& r) {
      if (r.is_error()) return reply->error(ec::kInternalError, "codex could not read its account: " + r.body()["error"].dump());
      json result = r.body().value("result", json::object());
      bool logged_in = find_member(result, "account") != nullptr;
      const json* requires_auth = find_member(result, "requiresOpenaiAuth");
      if (!logged_in && !(requires_auth && *requires_auth == json(false)))
        return reply->error(aec::kAuthRequired, "codex is not logged in: run `codex login` (or use openai-api-key)");
      (*reply)({{"_meta", {{"coco", {{"account", result.value("account", json())}}}}}});
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Sessions

AcpFace::AcpSession* AcpFace::find_session(const json& params, const SharedReply& reply) {
  auto it = sessions_.find(string_member(params, "sessionId"));
  if (it != sessions_.end()) return &it->second;
  reply->error(aec::kResourceNotFound, "no open session '" + string_member(params, "sessionId") + "' (session/load or session/resume opens one)");
  return nullptr;
}

AcpFace::AcpSession& AcpFace::open_session(const std::string& id, const std::string& cwd, const json& thread_result,
                                           std::string_view origin) {
  AcpSession& s = sessions_[id];
  s.id = id;
  const json* thread = find_member(thread_result, "thread");
  s.cwd = !cwd.empty() ? cwd : string_member(thread_result, "cwd");
  s.settings = acp::settings_from_thread(thread_result);
  std::string name = thread ? string_member(*thread, "name") : std::string();
  s.titled = !name.empty();
  session_.task().event("acp.session", {{"sessionId", id}, {"cwd", s.cwd}, {"origin", origin}});
  return s;
}

json AcpFace::session_setup_result(const AcpSession& s) const {
  return {{"modes", acp::modes_state(s.settings)}, {"configOptions", acp::config_options(s.settings, models_)}};
}

void AcpFace::send_available_commands(const AcpSession& s) {
  emit_update(s.id, {{"sessionUpdate", "available_commands_update"}, {"availableCommands", available_commands()}});
}

void AcpFace::on_session_new(const json& params, SharedReply reply) {
  std::string cwd = absolute_path(params, "cwd");
  if (cwd.empty()) return reply->error(ec::kInvalidParams, "Invalid params: cwd must be an absolute path");
  with_codex(reply, [this, reply, cwd, params] {
    json start = {{"cwd", cwd}};
    if (json config = mcp_config(params); !config.is_null()) start["config"] = config;
    session_.request_codex("thread/start", start, [this, reply, cwd](CodexResponse& r) {
      if (r.is_error()) return reply->error(ec::kInternalError, "codex could not start a thread: " + r.body()["error"].dump());
      json result = r.body().value("result", json::object());
      std::string id = string_member(result.value("thread", json::object()), "id");
      if (id.empty()) return reply->error(ec::kInternalError, "codex started a thread without an id");
      open_session(id, cwd, result, "new");
      with_models([this, reply, id] {
        auto it = sessions_.find(id);
        if (it == sessions_.end()) return reply->error(aec::kResourceNotFound, "the session was closed");
        json out = session_setup_result(it->second);
        out["sessionId"] = id;
        (*reply)(out);
        send_available_commands(it->second);
      });
    });
  });
}

void AcpFace::on_session_resume(const json& params, SharedReply reply) {
  std::string id = string_member(params, "sessionId"), cwd = absolute_path(params, "cwd");
  if (id.empty()) return reply->error(ec::kInvalidParams, "Invalid params: sessionId is required");
  with_codex(reply, [this, reply, id, cwd, params] {
    json resume = {{"threadId", id}, {"excludeTurns", true}};
    if (!cwd.empty()) resume["cwd"] = cwd;
    if (json config = mcp_config(params); !config.is_null()) resume["config"] = config;
    session_.request_codex("thread/resume", resume, [this, reply, id, cwd](CodexResponse& r) {
      if (r.is_error()) return reply->error(aec::kResourceNotFound, "codex could not resume session '" + id + "': " + r.body()["error"].dump());
      open_session(id, cwd, r.body().value("result", json::object()), "resume");
      with_models([this, reply, id] {
        auto it = sessions_.find(id);
        if (it == sessions_.end()) return reply->error(aec::kResourceNotFound, "the session was closed");
        (*reply)(session_setup_result(it->second));
        send_available_commands(it->second);
      });
    });
  });
}

std::vector<fs::path> AcpFace::tasks_with_session(const std::string& session_id) const {
  // Oldest first: task ids sort by creation time.
  std::vector<fs::path> out;
  auto tasks = taskdir::list_tasks(session_.options().task_root);
  std::reverse(tasks.begin(), tasks.end());
  for (const auto& t : tasks) {
    for (const auto& e : taskdir::read_jsonl(t.dir / "events.jsonl")) {
      if (string_member(e, "type") == "acp.session" && string_member(e, "sessionId") == session_id) {
        out.push_back(t.dir);
        break;
      }
    }
  }
  return out;
}

void AcpFace::on_session_load(const json& params, SharedReply reply) {
  std::string id = string_member(params, "sessionId"), cwd = absolute_path(params, "cwd");
  if (id.empty()) return reply->error(ec::kInvalidParams, "Invalid params: sessionId is required");
  with_codex(reply, [this, reply, id, cwd, params] {
    // Reading the recordings happens on the loop: session/load is rare, and the client waits for it.
    auto dirs = tasks_with_session(id);
    std::vector<std::vector<json>> recordings;
    json sources = json::array();
    for (const auto& d : dirs) {
      recordings.push_back(taskdir::read_jsonl(d / "agents" / "app-server" / "runtime" / "events.jsonl"));
      sources.push_back(d.filename().string());
    }
    // A task run with --no-record holds no messages: then codex's own history stands in.
    bool recorded = std::any_of(recordings.begin(), recordings.end(), [](const auto& r) { return !r.empty(); });
    json resume = {{"threadId", id}, {"excludeTurns", recorded}};
    if (!cwd.empty()) resume["cwd"] = cwd;
    if (json config = mcp_config(params); !config.is_null()) resume["config"] = config;
    session_.request_codex("thread/resume", resume, [this, reply, id, cwd, recorded, recordings = std::move(recordings), sources](CodexResponse& r) {
      if (r.is_error()) return reply->error(aec::kResourceNotFound, "codex could not load session '" + id + "': " + r.body()["error"].dump());
      json result = r.body().value("result", json::object());
      AcpSession& s = open_session(id, cwd, result, "load");
      std::int64_t mark = ++replays_;
      std::vector<json> updates;
      if (recorded) {
        updates = acp::replay_updates(recordings, id, mark);
      } else {
        // A thread Coco never recorded (started by another codex client): its history as codex keeps it.
        const json* thread = find_member(result, "thread");
        const json* turns = thread ? find_member(*thread, "turns") : nullptr;
        for (const auto& turn : turns && turns->is_array() ? *turns : json::array()) {
          for (const auto& item : turn.value("items", json::array())) {
            std::string type = string_member(item, "type");
            json u;
            if (type == "userMessage") {
              for (const auto& c : item.value("content", json::array()))
                if (string_member(c, "type") == "text")
                  updates.push_back({{"sessionUpdate", "user_message_chunk"}, {"content", {{"type", "text"}, {"text", string_member(c, "text")}}}});
              continue;
            }
            if (type == "agentMessage" || type == "reasoning") {
              std::string text = acp::item_text(item);
              if (!text.empty())
                updates.push_back({{"sessionUpdate", type == "agentMessage" ? "agent_message_chunk" : "agent_thought_chunk"},
                                   {"content", {{"type", "text"}, {"text", text}}}});
              continue;
            }
            json call = acp::tool_call(item);
            if (call.is_null()) continue;
            updates.push_back(call);
            updates.push_back(acp::tool_call_completed(item, json::array(), kOutputKeepBytes));
          }
        }
        for (auto& u : updates) u = {{"sessionId", id}, {"update", std::move(u)}, {"_meta", {{"coco", {{"replay", mark}}}}}};
      }
      for (auto& u : updates) {
        const json& update = u["update"];
        if (string_member(update, "sessionUpdate") == "tool_call") s.announced.insert(string_member(update, "toolCallId"));
        if (string_member(update, "sessionUpdate") == "session_info_update" && !string_member(update, "title").empty()) s.titled = true;
        session_.emit_to_editor(protocol::make_notification("session/update", std::move(u)));
      }
      session_.task().event("acp.replayed", {{"sessionId", id}, {"updates", updates.size()}, {"from", sources}});
      with_models([this, reply, id, n = updates.size(), sources] {
        auto it = sessions_.find(id);
        if (it == sessions_.end()) return reply->error(aec::kResourceNotFound, "the session was closed");
        json out = session_setup_result(it->second);
        out["_meta"] = {{"coco", {{"replayedUpdates", n}, {"recordedIn", sources}}}};
        (*reply)(out);
        send_available_commands(it->second);
      });
    });
  });
}

void AcpFace::on_session_list(const json& params, SharedReply reply) {
  std::string cwd = string_member(params, "cwd");
  std::size_t offset = 0;
  if (std::string cursor = string_member(params, "cursor"); !cursor.empty()) {
    try {
      offset = std::stoul(cursor);
    } catch (const std::exception&) {
      return reply->error(ec::kInvalidParams, "Invalid params: unknown cursor");
    }
  }
  // Every session Coco recorded under the task root, newest activity first.
  struct Entry {
    std::string id, cwd, title, updated;
  };
  std::map<std::string, Entry> found;
  for (const auto& t : taskdir::list_tasks(session_.options().task_root)) {
    for (const auto& e : taskdir::read_jsonl(t.dir / "events.jsonl")) {
      std::string type = string_member(e, "type"), id = string_member(e, "sessionId");
      if (id.empty() || (type != "acp.session" && type != "acp.sessionInfo")) continue;
      Entry& entry = found[id];
      entry.id = id;
      if (type == "acp.session" && entry.cwd.empty()) entry.cwd = string_member(e, "cwd");
      if (type == "acp.sessionInfo" && !string_member(e, "title").empty()) entry.title = string_member(e, "title");
      std::string ts = string_member(e, "ts");
      if (ts > entry.updated) entry.updated = ts;
    }
  }
  std::vector<Entry> list;
  for (auto& [_, e] : found)
    if (cwd.empty() || e.cwd == cwd) list.push_back(std::move(e));
  std::sort(list.begin(), list.end(), [](const Entry& a, const Entry& b) { return a.updated > b.updated; });
  json sessions = json::array();
  for (std::size_t i = offset; i < list.size() && i < offset + kSessionsPerPage; ++i) {
    json s = {{"sessionId", list[i].id}, {"cwd", list[i].cwd}};
    if (!list[i].title.empty()) s["title"] = list[i].title;
    // Event times have milliseconds; ACP asks for ISO 8601, which they are.
    if (!list[i].updated.empty()) s["updatedAt"] = list[i].updated;
    sessions.push_back(s);
  }
  json out = {{"sessions", sessions}};
  if (offset + kSessionsPerPage < list.size()) out["nextCursor"] = std::to_string(offset + kSessionsPerPage);
  (*reply)(out);
}

void AcpFace::on_session_close(const json& params, SharedReply reply) {
  AcpSession* s = find_session(params, reply);
  if (!s) return;
  std::string id = s->id;
  cancel_session(*s, "session/close");
  // Its prompt, if one runs, ends now: the client will not hear about this session again.
  if (s->prompt) {
    (*s->prompt->reply)({{"stopReason", "cancelled"}});
    s->prompt.reset();
  }
  sessions_.erase(id);
  session_.task().event("acp.sessionClosed", {{"sessionId", id}});
  if (!session_.codex_ready()) return (*reply)(json::object());
  session_.request_codex("thread/unsubscribe", {{"threadId", id}}, [reply](CodexResponse&) { (*reply)(json::object()); });
}

void AcpFace::on_session_set_mode(const json& params, SharedReply reply) {
  AcpSession* s = find_session(params, reply);
  if (!s) return;
  std::string problem = acp::set_mode(s->settings, string_member(params, "modeId"));
  if (!problem.empty()) return reply->error(ec::kInvalidParams, "Invalid params: " + problem);
  (*reply)(json::object());
  emit_update(s->id, {{"sessionUpdate", "config_option_update"}, {"configOptions", acp::config_options(s->settings, models_)}});
}

void AcpFace::on_session_set_config_option(const json& params, SharedReply reply) {
  AcpSession* s = find_session(params, reply);
  if (!s) return;
  std::string before = s->settings.mode;
  std::string problem = acp::set_config_option(s->settings, models_, string_member(params, "configId"), params.value("value", json()));
  if (!problem.empty()) return reply->error(ec::kInvalidParams, "Invalid params: " + problem);
  (*reply)({{"configOptions", acp::config_options(s->settings, models_)}});
  if (s->settings.mode != before) emit_update(s->id, {{"sessionUpdate", "current_mode_update"}, {"currentModeId", s->settings.mode}});
}

// ---------------------------------------------------------------------------------------------
// Prompts

void AcpFace::on_session_prompt(const json& params, const json& request_id, SharedReply reply) {
  AcpSession* found = find_session(params, reply);
  if (!found) return;
  json prompt = params.value("prompt", json());
  acp::CodexInput input = acp::codex_input(prompt);
  if (!input.problem.empty()) return reply->error(ec::kInvalidParams, "Invalid params: " + input.problem);
  std::string id = found->id;
  with_codex(reply, [this, id, input, prompt, request_id, reply] {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return reply->error(aec::kResourceNotFound, "the session was closed");
    AcpSession& s = it->second;
    if (s.prompt) return reply->error(ec::kInvalidRequest, "a prompt is already running in this session (session/cancel ends it)");
    s.prompt = PromptState{reply, request_id, "", false};
    s.items.clear();
    s.announced.clear();
    if (!s.titled && !input.first_text.empty()) {
      s.titled = true;
      std::string title = text::one_line(input.first_text, kTitleMax);
      emit_update(id, {{"sessionUpdate", "session_info_update"}, {"title", title}, {"updatedAt", now_iso()}});
      session_.task().event("acp.sessionInfo", {{"sessionId", id}, {"title", title}});
    }
    auto on_started = [this, id](CodexResponse& r) {
      auto it = sessions_.find(id);
      if (it == sessions_.end() || !it->second.prompt) return;
      AcpSession& s = it->second;
      if (r.is_error()) {
        SharedReply reply = s.prompt->reply;
        s.prompt.reset();
        return reply->error(ec::kInternalError, "codex could not start the turn: " + r.body()["error"].dump());
      }
      const json* result = find_member(r.body(), "result");
      const json* turn = result ? find_member(*result, "turn") : nullptr;
      if (s.prompt->turn_id.empty() && turn) s.prompt->turn_id = string_member(*turn, "id");
      if (s.prompt->cancel_requested && !s.prompt->turn_id.empty())
        session_.request_codex("turn/interrupt", {{"threadId", id}, {"turnId", s.prompt->turn_id}}, [](CodexResponse&) {});
    };
    if (auto command = slash_command(prompt)) {
      json target = command->second.empty() ? json{{"type", "uncommittedChanges"}}
                                             : json{{"type", "custom"}, {"instructions", command->second}};
      return session_.request_codex("review/start", {{"threadId", id}, {"target", target}}, on_started);
    }
    json start = {{"threadId", id}, {"input", input.input}};
    if (s.settings.dirty) {
      json overrides = acp::turn_overrides(s.settings);
      for (auto& [k, v] : overrides.items()) start[k] = v;
      s.settings.dirty = false;
    }
    session_.request_codex("turn/start", start, on_started);
  });
}

void AcpFace::cancel_session(AcpSession& s, const std::string& why) {
  if (!s.prompt) return;
  s.prompt->cancel_requested = true;
  spdlog::info("cancelling the prompt of session {} ({})", s.id, why);
  // Every permission this session still waits for is answered `cancelled` (codex's cancel).
  std::vector<std::string> gates;
  for (const auto& [gate_id, sid] : open_gates_)
    if (sid == s.id) gates.push_back(gate_id);
  for (const auto& gate_id : gates) answer_with_kind(gate_id, true);
  if (!s.prompt->turn_id.empty() && session_.codex_ready())
    session_.request_codex("turn/interrupt", {{"threadId", s.id}, {"turnId", s.prompt->turn_id}}, [](CodexResponse&) {});
}

void AcpFace::on_turn_completed(AcpSession& s, const json& params) {
  const json* turn = find_member(params, "turn");
  if (!turn || !s.prompt) return;
  std::string turn_id = string_member(*turn, "id");
  if (!s.prompt->turn_id.empty() && s.prompt->turn_id != turn_id) return;  // not the prompt's turn
  // Output still waiting for the timer goes out before the answer.
  for (auto& [id, item] : s.items)
    if (item.dirty) flush_output(s, id, item);
  acp::PromptEnd end = acp::prompt_end(*turn, s.prompt->cancel_requested);
  SharedReply reply = s.prompt->reply;
  s.prompt.reset();
  s.items.clear();
  s.announced.clear();
  if (end.error.is_null()) return (*reply)({{"stopReason", end.stop_reason}});
  reply->error(end.error["code"].get<int>(), end.error["message"].get<std::string>(), end.error["data"]);
}

// ---------------------------------------------------------------------------------------------
// codex's messages

void AcpFace::on_codex_notification(std::string&& line, const protocol::Envelope& env, json* parsed) {
  json own;
  if (!parsed) {
    protocol::ParsedJson p = protocol::parse_json(line);
    if (!p.ok() || !p.value.is_object()) return;
    own = std::move(p.value);
    parsed = &own;
  }
  const std::string method = string_member(*parsed, "method");
  const json* params_ptr = find_member(*parsed, "params");
  if (!params_ptr || !params_ptr->is_object()) return;
  const json& params = *params_ptr;
  std::string thread_id = string_member(params, "threadId");
  auto it = sessions_.find(thread_id);
  if (it == sessions_.end()) return;  // a thread no session shows (or news without a thread)
  AcpSession& s = it->second;

  if (method == "item/agentMessage/delta" || method == "item/reasoning/summaryTextDelta" ||
      method == "item/reasoning/textDelta") {
    std::string item_id = string_member(params, "itemId"), delta = string_member(params, "delta");
    s.items[item_id].streamed = true;
    if (delta.empty()) return;
    bool thought = method != "item/agentMessage/delta";
    emit_update(s.id, {{"sessionUpdate", thought ? "agent_thought_chunk" : "agent_message_chunk"},
                       {"content", {{"type", "text"}, {"text", delta}}},
                       {"messageId", item_id}});
  } else if (method == "item/commandExecution/outputDelta") {
    on_output_delta(s, params);
  } else if (method == "item/started") {
    on_item_started(s, params);
  } else if (method == "item/completed") {
    on_item_completed(s, params);
  } else if (method == "item/fileChange/patchUpdated") {
    std::string item_id = string_member(params, "itemId");
    emit_update(s.id, {{"sessionUpdate", "tool_call_update"},
                       {"toolCallId", item_id},
                       {"content", file_change_content(params.value("changes", json::array()))}});
  } else if (method == "turn/started") {
    const json* turn = find_member(params, "turn");
    if (s.prompt && s.prompt->turn_id.empty() && turn) s.prompt->turn_id = string_member(*turn, "id");
  } else if (method == "turn/completed") {
    on_turn_completed(s, params);
  } else if (method == "turn/plan/updated") {
    emit_update(s.id, acp::plan_update(params));
  } else if (method == "thread/tokenUsage/updated") {
    if (auto u = acp::usage_update(params)) emit_update(s.id, std::move(*u));
  } else if (method == "thread/name/updated") {
    std::string name = string_member(params, "threadName");
    if (name.empty()) return;
    s.titled = true;
    emit_update(s.id, {{"sessionUpdate", "session_info_update"}, {"title", name}, {"updatedAt", now_iso()}});
    session_.task().event("acp.sessionInfo", {{"sessionId", s.id}, {"title", name}});
  }
  // Everything else (warnings, retries, status) is in the recording only.
}

json AcpFace::file_change_content(const json& changes) const {
  // The texts before and after, as a diff view wants them (the same reading as a gate's prompt).
  gates::FileTexts files = session_.gates().file_texts();
  json content = json::array();
  for (const gates::FileChange& c : gates::parse_changes(changes)) {
    gates::DiskText before;
    if (c.kind != "add") before = files.read(c.path);
    content.push_back(acp::diff_content(gates::describe_change(c, before, files.cwd, files.max_text_bytes)));
  }
  return content;
}

void AcpFace::on_item_started(AcpSession& s, const json& params) {
  const json* item = find_member(params, "item");
  if (!item) return;
  std::string id = string_member(*item, "id"), type = string_member(*item, "type");
  if (id.empty()) return;
  s.items[id].type = type;
  json content = type == "fileChange" ? file_change_content(item->value("changes", json::array())) : json::array();
  json call = acp::tool_call(*item, content);
  if (call.is_null()) return;  // messages and reasoning show as they stream
  s.announced.insert(id);
  emit_update(s.id, std::move(call));
}

void AcpFace::on_item_completed(AcpSession& s, const json& params) {
  const json* item = find_member(params, "item");
  if (!item) return;
  std::string id = string_member(*item, "id"), type = string_member(*item, "type");
  ItemState& state = s.items[id];
  if (type == "agentMessage" || type == "reasoning") {
    // A message that came whole (no deltas) is sent whole.
    std::string text = acp::item_text(*item);
    if (!state.streamed && !text.empty())
      emit_update(s.id, {{"sessionUpdate", type == "agentMessage" ? "agent_message_chunk" : "agent_thought_chunk"},
                         {"content", {{"type", "text"}, {"text", text}}},
                         {"messageId", id}});
    return;
  }
  json content = type == "fileChange" ? file_change_content(item->value("changes", json::array())) : json::array();
  if (!s.announced.count(id)) {
    json call = acp::tool_call(*item, content);
    if (call.is_null()) return;
    s.announced.insert(id);
    emit_update(s.id, std::move(call));
  }
  state.dirty = false;  // the final update carries all of it
  json update = acp::tool_call_completed(*item, json::array(), kOutputKeepBytes);
  if (type == "commandExecution" && state.output_bytes > 0 && string_member(*item, "aggregatedOutput").empty()) {
    // codex gave no aggregate: what streamed is the output.
    update["content"] = json::array({acp::output_content(state.output, kOutputKeepBytes, state.output_bytes)});
  }
  emit_update(s.id, std::move(update));
}

void AcpFace::on_output_delta(AcpSession& s, const json& params) {
  std::string item_id = string_member(params, "itemId"), delta = string_member(params, "delta");
  if (item_id.empty() || delta.empty()) return;
  ItemState& item = s.items[item_id];
  item.output += delta;
  item.output_bytes += delta.size();
  if (item.output.size() > 2 * kOutputKeepBytes) item.output.erase(0, item.output.size() - kOutputKeepBytes);
  item.unsent += delta;
  item.unsent_bytes += delta.size();
  if (item.unsent.size() > 2 * kOutputDeltaBytes) item.unsent.erase(0, item.unsent.size() - kOutputDeltaBytes);
  item.dirty = true;
  schedule_output_flush();
}

void AcpFace::schedule_output_flush() {
  // Output is coalesced: at most one update per command every kOutputFlush, each bounded.
  if (output_timer_armed_) return;
  output_timer_armed_ = true;
  output_timer_.expires_after(kOutputFlush);
  output_timer_.async_wait([this](const asio::error_code& e) {
    if (e == asio::error::operation_aborted) return;
    output_timer_armed_ = false;
    for (auto& [_, s] : sessions_)
      for (auto& [id, item] : s.items)
        if (item.dirty) flush_output(s, id, item);
  });
}

void AcpFace::flush_output(AcpSession& s, const std::string& item_id, ItemState& item) {
  item.dirty = false;
  // `content` shows the last part of the output (ACP replaces a tool call's content with each
  // update); _meta.coco.outputDelta is exactly what came since the previous update, for clients that
  // append.
  json delta = {{"text", acp::output_tail(item.unsent, kOutputDeltaBytes, item.unsent_bytes)}, {"bytes", item.unsent_bytes}};
  item.unsent.clear();
  item.unsent_bytes = 0;
  emit_update(s.id, {{"sessionUpdate", "tool_call_update"},
                     {"toolCallId", item_id},
                     {"status", "in_progress"},
                     {"content", json::array({acp::output_content(item.output, kOutputShowBytes, item.output_bytes)})},
                     {"_meta", {{"coco", {{"outputDelta", delta}}}}}});
}

void AcpFace::on_codex_request(json body) {
  // Requests that are not gates (item/tool/call, token refreshes, attestations): an ACP client has
  // nothing to answer them with.
  std::string method = string_member(body, "method");
  spdlog::warn("codex asked {}, which an ACP client cannot answer", method);
  session_.answer_codex(body["id"], session_.generation(),
                        {{"error", {{"code", ec::kMethodNotFound}, {"message", "coco acp: the ACP client cannot answer " + method}}}});
}

void AcpFace::on_upstream_exit() {
  // Turns of the codex that exited never complete: their prompts end now.
  for (auto& [_, s] : sessions_) {
    if (!s.prompt) continue;
    SharedReply reply = s.prompt->reply;
    s.prompt.reset();
    s.items.clear();
    reply->error(ec::kUpstreamExited, "codex exited during the turn");
  }
}

// ---------------------------------------------------------------------------------------------
// Gates

std::string AcpFace::session_for_gate(const Gate& gate) const {
  if (sessions_.count(gate.prompt.thread_id)) return gate.prompt.thread_id;
  // A request without a thread (legacy shapes): the one session with a running prompt, if one.
  std::string only;
  for (const auto& [id, s] : sessions_) {
    if (!s.prompt) continue;
    if (!only.empty()) return {};
    only = id;
  }
  return only;
}

void AcpFace::answer_with_kind(const std::string& gate_id, bool cancel) {
  const Gate* g = session_.gates().find(gate_id);
  if (!g || g->resolved) return;
  const gates::Option* o = cancel ? g->prompt.first_of(gates::OptionKind::Cancel) : nullptr;
  if (!o) o = g->prompt.first_of(gates::OptionKind::Deny);
  if (!o) return;
  auto r = session_.gates().answer(gate_id, {{"optionId", o->id}});
  if (r.code != 0) spdlog::warn("gate {}: could not answer {}: {}", gate_id, o->id, r.message);
}

void AcpFace::ask(const Gate& gate) {
  std::string sid = session_for_gate(gate);
  if (sid.empty()) {
    spdlog::warn("gate {} belongs to no ACP session; denying it", gate.id);
    return answer_with_kind(gate.id, false);
  }
  AcpSession& s = sessions_[sid];
  std::string call_id = acp::gate_tool_call_id(gate.prompt, gate.id);
  bool announced = s.announced.count(call_id) > 0;
  if (!announced) {
    // Codex announced no item for this request: the client gets a tool call to attach it to.
    emit_update(sid, acp::gate_tool_call(gate.prompt, gate.id));
    s.announced.insert(call_id);
    gate_tool_calls_.insert(gate.id);
  }
  std::string gate_id = gate.id;
  std::int64_t id = request_editor("session/request_permission", acp::permission_request(gate.prompt, gate.id, sid, announced),
                                   [this, gate_id](const json& r) { on_permission_answer(gate_id, r); });
  gate_requests_[gate.id] = id;
  open_gates_[gate.id] = sid;
}

void AcpFace::show_pending(const Gate& gate) {
  // --approvals dir: the answer comes through the task directory. The client sees the tool call
  // waiting, and an extension notification with the whole prompt.
  std::string sid = session_for_gate(gate);
  if (!sid.empty()) {
    open_gates_[gate.id] = sid;
    AcpSession& s = sessions_[sid];
    std::string call_id = acp::gate_tool_call_id(gate.prompt, gate.id);
    if (!s.announced.count(call_id)) {
      emit_update(sid, acp::gate_tool_call(gate.prompt, gate.id));
      s.announced.insert(call_id);
      gate_tool_calls_.insert(gate.id);
    }
    emit_update(sid, {{"sessionUpdate", "tool_call_update"}, {"toolCallId", call_id}, {"status", "pending"}});
  }
  json params = gate.prompt.to_json(gate.id);
  params["sessionId"] = sid;
  notify("coco/approval/pending", params);
}

void AcpFace::on_permission_answer(const std::string& gate_id, const json& response) {
  gate_requests_.erase(gate_id);
  const Gate* g = session_.gates().find(gate_id);
  if (!g || g->resolved) {
    if (acknowledges_cancel(response)) return;  // the expected answer to our $/cancel_request
    return session_.gates().late_answer(gate_id, response);
  }
  if (find_member(response, "error"))
    return session_.gates().reject_answer(gate_id, "the client answered with an error: " + response["error"].dump());
  acp::PermissionAnswer a = acp::read_permission_answer(g->prompt, response.value("result", json()));
  switch (a.kind) {
  case acp::PermissionAnswer::Kind::Cancelled: return answer_with_kind(gate_id, true);
  case acp::PermissionAnswer::Kind::Invalid: return session_.gates().reject_answer(gate_id, a.problem);
  case acp::PermissionAnswer::Kind::Selected: {
    auto r = session_.gates().answer(gate_id, a.value);
    if (r.code != 0) session_.gates().reject_answer(gate_id, r.message);
    return;
  }
  }
}

void AcpFace::answer_rejected(const Gate& gate, const std::string& reason, bool asking_again) {
  notify("coco/approval/answerRejected", {{"gateId", gate.id}, {"reason", reason}, {"willAskAgain", asking_again}});
}

void AcpFace::gate_resolved(const Gate& gate) {
  // A permission request still open for this gate is withdrawn; its answer, if one comes, is late.
  if (auto it = gate_requests_.find(gate.id); it != gate_requests_.end()) {
    session_.emit_to_editor(protocol::make_notification("$/cancel_request", {{"requestId", it->second}}));
    gate_requests_.erase(it);
  }
  std::string sid = open_gates_.count(gate.id) ? open_gates_[gate.id] : std::string();
  open_gates_.erase(gate.id);
  // A gate shown as its own tool call ends with its outcome (codex reports items' ends itself).
  if (gate_tool_calls_.erase(gate.id) && sessions_.count(sid)) {
    std::string kind = gate.outcome.value("optionKind", "");
    bool allowed = kind == "allowOnce" || kind == "allowSession" || kind == "allowAlways";
    emit_update(sid, {{"sessionUpdate", "tool_call_update"},
                      {"toolCallId", acp::gate_tool_call_id(gate.prompt, gate.id)},
                      {"status", allowed ? "completed" : "failed"}});
  }
  json params = {{"gateId", gate.id}, {"by", gate.outcome.value("by", "")}, {"sessionId", sid}};
  params["decision"] = gate.outcome.contains("decision") ? gate.outcome["decision"] : json();
  if (gate.outcome.contains("optionId")) params["optionId"] = gate.outcome["optionId"];
  notify("coco/approval/resolved", params);
}

}  // namespace coco::bridge
