#include "bridge/codex_face.h"

#include "bridge/session.h"
#include "text/one_line.h"

#include <spdlog/spdlog.h>

namespace coco::bridge {

using json = nlohmann::json;
namespace ec = protocol::error_code;

namespace {

constexpr std::size_t kMaxRememberedCodexRequests = 4096;
constexpr std::size_t kLspTitleMax = 32;
constexpr int kLspWarning = 2, kLspError = 1;  // LSP MessageType

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

std::vector<std::pair<std::string, std::string>> lsp_actions(const gates::Prompt& prompt) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& o : prompt.options) {
    std::string title = text::one_line(o.label, kLspTitleMax);
    // Titles are how the answer maps back, so they must differ.
    std::string unique = title;
    for (int n = 2; std::any_of(out.begin(), out.end(), [&](const auto& a) { return a.first == unique; }); ++n)
      unique = title + " (" + std::to_string(n) + ")";
    out.emplace_back(unique, o.id);
  }
  return out;
}

CodexFace::CodexFace(Session& session) : session_(session) {}

nlohmann::json CodexFace::describe() const {
  std::string_view approvals = approvals_ == Approvals::Prompt ? "prompt" : approvals_ == Approvals::Lsp ? "lsp" : "raw";
  return {{"name", "codex"}, {"approvals", approvals}};
}

std::string_view CodexFace::codex_record_direction() const { return dir::kCodexToEditor; }

std::string_view CodexFace::record_direction(const protocol::Message& m) const {
  bool bridge_bound = m.kind == protocol::Kind::Response || starts_with(m.method, "coco/") ||
                      starts_with(m.method, "$/") || m.method == "shutdown" || m.method == "exit";
  return bridge_bound ? dir::kEditorToBridge : dir::kEditorToCodex;
}

void CodexFace::notify(std::string_view method, json params) {
  session_.emit_to_editor(protocol::make_notification(method, std::move(params)));
}

// ---------------------------------------------------------------------------------------------
// The editor's messages

void CodexFace::on_editor_request(protocol::Message& m) {
  if (starts_with(m.method, "coco/")) {
    Reply reply = session_.make_reply(m.id, m.method);
    json params = m.body.contains("params") ? m.body["params"] : json::object();
    if (!params.is_object() && !params.is_null())
      return reply.error(ec::kInvalidParams, "Invalid params: coco/* methods take an object");
    return session_.methods().dispatch(m.method, params, std::move(reply));
  }
  if (m.method == "shutdown") {  // LSP's polite goodbye; codex has no such method
    session_.expect_exit();
    return session_.make_reply(m.id, m.method)(nullptr);
  }
  if (!session_.codex_ready())
    return session_.make_reply(m.id, m.method).error(ec::kUpstreamUnavailable, session_.codex_unavailable_reason());
  if (m.method == "initialize") return on_initialize(m);
  json id = m.id;
  session_.forward_request_to_codex(std::move(m.body),
                                    [this, id](CodexResponse& r) { session_.forward_response_to_editor(id, r); });
}

void CodexFace::on_initialize(protocol::Message& m) {
  json& params = m.body["params"];
  Approvals approvals = Approvals::Raw;
  if (params.is_object() && params.contains("capabilities") && params["capabilities"].is_object()) {
    json& caps = params["capabilities"];
    if (caps.contains("coco")) {
      const json& coco = caps["coco"];
      const json* mode = coco.is_object() && coco.contains("approvals") ? &coco["approvals"] : nullptr;
      bool valid = coco.is_null() || (coco.is_object() && (!mode || mode->is_null() || *mode == "prompt" || *mode == "lsp"));
      if (!valid) {
        return session_.make_reply(m.id, m.method)
            .error(ec::kInvalidParams,
                   "Invalid params: capabilities.coco.approvals must be \"prompt\" (coco/approval/request) or \"lsp\" "
                   "(window/showMessageRequest), or absent (codex's own requests), not " +
                       (mode ? mode->dump() : coco.dump()));
      }
      if (mode && *mode == "prompt") approvals = Approvals::Prompt;
      if (mode && *mode == "lsp") approvals = Approvals::Lsp;
      // Coco's own capabilities are the bridge's business, not codex's.
      caps.erase("coco");
    }
  }
  approvals_ = approvals;
  session_.remember_handshake(params.is_null() ? json::object() : params);
  json id = m.id;
  session_.forward_request_to_codex(std::move(m.body), [this, id](CodexResponse& r) {
    json body = r.body();
    body.erase("jsonrpc");
    body["id"] = id;
    if (body.contains("result") && body["result"].is_object()) {
      session_.set_codex_version_from(body["result"]);
      body["result"]["coco"] = session_.coco_info();
    }
    if (r.made_up()) session_.emit_to_editor(body);
    else session_.forward_to_editor(protocol::to_line(body));
  });
}

void CodexFace::on_editor_notification(protocol::Message& m) {
  if (m.method == "exit") return session_.on_editor_gone("exit notification");
  // No coco/* notifications are defined from editors; $/ ones (LSP's cancel and progress) mean
  // nothing to codex.
  if (starts_with(m.method, "coco/") || starts_with(m.method, "$/")) return;
  if (m.method == "initialized") session_.set_editor_initialized();
  if (!session_.codex_ready()) {
    spdlog::warn("dropping notification {}: codex is not ready", m.method);
    return;
  }
  session_.forward_to_codex(std::move(m.body));
}

void CodexFace::on_editor_response(protocol::Message& m) {
  auto entry = to_editor_.take(m.id);
  if (!entry) {
    spdlog::warn("the editor answered an unknown request id {}", m.id.dump());
    return;
  }
  gate_request_ids_.erase(m.id.get<std::int64_t>());
  if (entry->on_response) entry->on_response(m.body);
}

void CodexFace::on_editor_gone() {
  // codex requests forwarded as they were get an error, so codex does not wait for an editor that
  // left. Gates were answered by the core (approvals.on_disconnect).
  for (auto& [editor_id, entry] : to_editor_.take_all()) {
    if (gate_request_ids_.count(editor_id) || !entry.on_response) continue;
    entry.on_response({{"error", {{"code", ec::kInternalError}, {"message", "the editor disconnected before answering"}}}});
  }
  gate_requests_.clear();
  gate_request_ids_.clear();
}

std::int64_t CodexFace::request_editor(std::string_view method, json params, ResponseHandler on_response) {
  protocol::PendingRequests<ResponseHandler>::Entry entry;
  entry.method = std::string(method);
  entry.generation = session_.generation();
  entry.on_response = std::move(on_response);
  std::int64_t id = to_editor_.add(std::move(entry));
  session_.emit_to_editor(protocol::make_request(id, method, std::move(params)));
  return id;
}

// ---------------------------------------------------------------------------------------------
// codex's messages

void CodexFace::on_codex_notification(std::string&& line, const protocol::Envelope&, json* parsed) {
  if (!parsed) return session_.forward_to_editor(line);
  if (parsed->value("method", "") == "serverRequest/resolved") {
    // codex names the request by its own id; the editor only knows the id the bridge gave it.
    json& params = (*parsed)["params"];
    if (params.is_object() && params.contains("requestId") && params["requestId"].is_number_integer()) {
      auto it = codex_request_ids_.find(params["requestId"].get<std::int64_t>());
      if (it != codex_request_ids_.end()) {
        params["requestId"] = it->second;
        codex_request_ids_.erase(it);
      }
    }
  }
  session_.forward_to_editor(protocol::to_line(*parsed));
}

void CodexFace::on_codex_request(json body) {
  // Not a gate (item/tool/call, token refreshes...): to the editor as it is, under a bridge id.
  json codex_id = body["id"];
  std::uint64_t generation = session_.generation();
  protocol::PendingRequests<ResponseHandler>::Entry entry;
  entry.method = body.value("method", "");
  entry.generation = generation;
  entry.on_response = [this, codex_id, generation](const json& response) {
    if (generation != session_.generation()) {
      spdlog::info("dropping the editor's answer to codex request {}: the codex that asked has exited", codex_id.dump());
      return;
    }
    json answer = {{"id", codex_id}};
    if (response.contains("error")) answer["error"] = response["error"];
    else answer["result"] = response.contains("result") ? response["result"] : json();
    session_.forward_to_codex(std::move(answer));
  };
  std::int64_t editor_id = to_editor_.add(std::move(entry));
  if (codex_id.is_number_integer()) {
    codex_request_ids_[codex_id.get<std::int64_t>()] = editor_id;
    if (codex_request_ids_.size() > kMaxRememberedCodexRequests) codex_request_ids_.erase(codex_request_ids_.begin());
  }
  body["id"] = editor_id;
  session_.forward_to_editor(protocol::to_line(body));
}

void CodexFace::on_upstream_exit() { codex_request_ids_.clear(); }

// ---------------------------------------------------------------------------------------------
// Gates

void CodexFace::ask(const Gate& gate) {
  std::string gate_id = gate.id;
  std::int64_t id = 0;
  switch (approvals_) {
  case Approvals::Prompt:
    id = request_editor("coco/approval/request", gate.prompt.to_json(gate.id),
                        [this, gate_id](const json& r) { on_prompt_answer(gate_id, r); });
    break;
  case Approvals::Lsp: {
    json actions = json::array();
    for (const auto& [title, _] : lsp_actions(gate.prompt)) actions.push_back({{"title", title}});
    id = request_editor("window/showMessageRequest",
                        {{"type", kLspWarning}, {"message", gate.prompt.title + "\n\n" + gate.prompt.detail}, {"actions", actions}},
                        [this, gate_id](const json& r) { on_lsp_answer(gate_id, r); });
    break;
  }
  case Approvals::Raw:
    // Transparent: codex's own request, as codex sent it (with an id the editor cannot confuse).
    id = request_editor(gate.prompt.method, gate.raw_params,
                        [this, gate_id](const json& r) { session_.gates().answer_raw(gate_id, r); });
    if (gate.codex_id.is_number_integer()) codex_request_ids_[gate.codex_id.get<std::int64_t>()] = id;
    break;
  }
  gate_requests_[gate.id] = id;
  gate_request_ids_.insert(id);
}

void CodexFace::show_pending(const Gate& gate) {
  // --approvals dir: the answer comes through the task directory; a prompt client may show it.
  if (approvals_ == Approvals::Prompt) notify("coco/approval/pending", gate.prompt.to_json(gate.id));
}

namespace {
// LSP's RequestCancelled: what a client answers to a request the bridge withdrew with $/cancelRequest.
bool acknowledges_cancel(const json& response) {
  const json* error = response.contains("error") ? &response["error"] : nullptr;
  return error && error->is_object() && error->contains("code") && (*error)["code"] == json(-32800);
}
}  // namespace

std::optional<json> CodexFace::take_answer(const std::string& gate_id, const json& response) {
  gate_requests_.erase(gate_id);
  const Gate* g = session_.gates().find(gate_id);
  if (!g || g->resolved) {
    if (!acknowledges_cancel(response)) session_.gates().late_answer(gate_id, response);
    return std::nullopt;  // an acknowledgement of our $/cancelRequest is expected and not recorded
  }
  if (response.contains("error")) {
    session_.gates().reject_answer(gate_id, "the editor answered with an error: " + response["error"].dump());
    return std::nullopt;
  }
  return response.contains("result") ? response["result"] : json();
}

void CodexFace::on_prompt_answer(const std::string& gate_id, const json& response) {
  auto result = take_answer(gate_id, response);
  if (!result) return;
  auto r = session_.gates().answer(gate_id, *result);
  if (r.code != 0) session_.gates().reject_answer(gate_id, r.message);
}

void CodexFace::on_lsp_answer(const std::string& gate_id, const json& response) {
  auto taken = take_answer(gate_id, response);
  if (!taken) return;
  const Gate* g = session_.gates().find(gate_id);
  const json& result = *taken;
  if (result.is_null()) return session_.gates().dismiss(gate_id);  // Esc: the popup was closed without a choice
  const json* title = result.is_object() && result.contains("title") ? &result["title"] : nullptr;
  if (!title || !title->is_string())
    return session_.gates().reject_answer(gate_id, "the answer must be a MessageActionItem {title: string} or null");
  for (const auto& [t, option_id] : lsp_actions(g->prompt)) {
    if (t == title->get_ref<const std::string&>()) {
      auto r = session_.gates().answer(gate_id, {{"optionId", option_id}});
      if (r.code != 0) session_.gates().reject_answer(gate_id, r.message);
      return;
    }
  }
  session_.gates().reject_answer(gate_id, "no action is titled " + title->dump());
}

void CodexFace::answer_rejected(const Gate& gate, const std::string& reason, bool asking_again) {
  if (approvals_ == Approvals::Prompt) {
    notify("coco/approval/answerRejected", {{"gateId", gate.id}, {"reason", reason}, {"willAskAgain", asking_again}});
  } else if (approvals_ == Approvals::Lsp) {
    notify("window/showMessage",
           {{"type", kLspError},
            {"message", "Coco could not use that answer (" + reason + ")" +
                            (asking_again ? "; asking again." : "; the request was denied.")}});
  }
}

void CodexFace::gate_resolved(const Gate& gate) {
  // A prompt still open for this gate is withdrawn; its answer, if one comes, is recorded as late.
  if (auto it = gate_requests_.find(gate.id); it != gate_requests_.end()) {
    if (approvals_ != Approvals::Raw) notify("$/cancelRequest", {{"id", it->second}});
    gate_requests_.erase(it);
  }
  if (approvals_ != Approvals::Prompt) return;  // in raw mode codex's serverRequest/resolved says it
  json params = {{"gateId", gate.id}, {"by", gate.outcome.value("by", "")}};
  params["decision"] = gate.outcome.contains("decision") ? gate.outcome["decision"] : json();
  if (gate.outcome.contains("optionId")) params["optionId"] = gate.outcome["optionId"];
  notify("coco/approval/resolved", params);
}

}  // namespace coco::bridge
