#pragma once
// The codex-protocol face (`coco bridge`): the editor speaks to the bridge exactly as it would to
// `codex app-server`, plus the coco/* methods.
//
// - Requests go to codex with a fresh id (the answer comes back under the editor's own id); coco/*
//   requests go to the method table; `shutdown`/`exit` are LSP's goodbyes.
// - `initialize` declares how gates are asked (capabilities.coco.approvals):
//     "prompt" -> the request coco/approval/request (the normalized prompt), answered {optionId, ...};
//                 coco/approval/resolved after every outcome; coco/approval/answerRejected when an
//                 answer could not be used (the gate is then asked again, same gateId)
//     "lsp"    -> the request window/showMessageRequest (a native popup); a dismissal (null) counts as
//                 approvals.on_dismiss (deny by default); window/showMessage tells a rejected answer
//     absent   -> codex's raw request, unchanged but for its id (transparent)
//   A prompt still open when its gate is resolved elsewhere is withdrawn with $/cancelRequest.
// - codex's own requests reach the editor with ids from the bridge's id space toward the editor
//   (codex numbers from 0 on every connection), and serverRequest/resolved names those ids.

#include "bridge/face.h"
#include "gates/prompt.h"
#include "protocol/id_map.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace coco::bridge {

class Session;

class CodexFace final : public Face {
public:
  explicit CodexFace(Session& session);

  std::string_view record_direction(const protocol::Message& m) const override;
  void on_editor_request(protocol::Message& m) override;
  void on_editor_notification(protocol::Message& m) override;
  void on_editor_response(protocol::Message& m) override;
  void on_editor_gone() override;

  std::string_view codex_record_direction() const override;
  void on_codex_notification(std::string&& line, const protocol::Envelope& env, nlohmann::json* parsed) override;
  void on_codex_request(nlohmann::json body) override;
  void on_upstream_exit() override;

  void ask(const Gate& gate) override;
  void show_pending(const Gate& gate) override;
  void answer_rejected(const Gate& gate, const std::string& reason, bool asking_again) override;
  void gate_resolved(const Gate& gate) override;

  void notify(std::string_view method, nlohmann::json params) override;
  nlohmann::json describe() const override;

private:
  enum class Approvals { Raw, Prompt, Lsp };
  using ResponseHandler = std::function<void(const nlohmann::json& response)>;

  void on_initialize(protocol::Message& m);
  // Sends a request to the editor; `on_response` gets its answer (or nothing, if the editor leaves).
  std::int64_t request_editor(std::string_view method, nlohmann::json params, ResponseHandler on_response);
  // The first steps of every answer to a gate's prompt: the pending request is forgotten; a late
  // answer or an error response is dealt with here. The result to read, or nullopt when done.
  std::optional<nlohmann::json> take_answer(const std::string& gate_id, const nlohmann::json& response);
  void on_prompt_answer(const std::string& gate_id, const nlohmann::json& response);
  void on_lsp_answer(const std::string& gate_id, const nlohmann::json& response);

  Session& session_;
  Approvals approvals_ = Approvals::Raw;
  protocol::PendingRequests<ResponseHandler> to_editor_;  // requests the editor owes an answer to
  std::map<std::string, std::int64_t> gate_requests_;     // open gate -> the editor request asking it
  std::set<std::int64_t> gate_request_ids_;               // the same ids, for on_editor_gone
  std::map<std::int64_t, std::int64_t> codex_request_ids_;  // codex id -> editor id, until serverRequest/resolved
};

// The buttons of a window/showMessageRequest for `prompt`: short, unique titles in the options' order.
std::vector<std::pair<std::string, std::string>> lsp_actions(const gates::Prompt& prompt);  // {title, optionId}

}  // namespace coco::bridge
