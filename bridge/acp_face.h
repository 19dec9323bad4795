#pragma once
// The Agent Client Protocol face (`coco acp`): the editor speaks ACP v1 (JSON-RPC 2.0, one message
// per line) and the face translates both ways; codex never sees the editor's messages as they are.
//
// - An ACP session is a codex thread (sessionId = threadId). session/new -> thread/start,
//   session/prompt -> turn/start (answered with a stopReason when turn/completed arrives),
//   session/cancel -> turn/interrupt, session/resume and session/load -> thread/resume,
//   session/close -> thread/unsubscribe. session/load replays the session from the task directories
//   that recorded it (acp/translate.h, replay_updates).
// - codex's notifications become session/update notifications (acp/translate.h has the mapping);
//   what ACP has no place for is recorded and dropped.
// - Every gate becomes session/request_permission; a gate resolved elsewhere (a policy, a timeout,
//   the task directory) withdraws the request with $/cancel_request.
// - Coco's own methods are ACP extensions: `_coco/<name>` runs coco/<name> from the method table, and
//   the core's coco/* notifications go out as `_coco/*`.
// - The codex handshake runs in the background after ACP's initialize (which is answered at once);
//   requests that need codex wait for it.

#include "acp/session_config.h"
#include "bridge/face.h"
#include "bridge/reply.h"
#include "protocol/id_map.h"

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace coco::bridge {

class Session;

class AcpFace final : public Face {
public:
  explicit AcpFace(Session& session);
  ~AcpFace() override;

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
  using json = nlohmann::json;
  using SharedReply = std::shared_ptr<Reply>;
  using ResponseHandler = std::function<void(const json& response)>;

  // What the face remembers of a tool item or a message of the running turn.
  struct ItemState {
    std::string type;
    bool streamed = false;       // text arrived as deltas (so item/completed adds nothing)
    std::string output;          // a command's output: its last kOutputKeepBytes
    std::size_t output_bytes = 0;
    std::string unsent;          // output since the last update (bounded)
    std::size_t unsent_bytes = 0;
    bool dirty = false;          // output not yet shown
  };
  struct PromptState {
    SharedReply reply;
    json request_id;
    std::string turn_id;          // "" until turn/start answers (or turn/started arrives)
    bool cancel_requested = false;
  };
  struct AcpSession {
    std::string id, cwd;
    acp::SessionSettings settings;
    std::optional<PromptState> prompt;
    bool titled = false;
    std::map<std::string, ItemState> items;  // of the running turn, by item id
    std::set<std::string> announced;         // tool call ids the client knows
  };

  // --- requests from the editor ---
  void on_initialize(protocol::Message& m);
  void on_authenticate(const json& params, SharedReply reply);
  void on_session_new(const json& params, SharedReply reply);
  void on_session_load(const json& params, SharedReply reply);
  void on_session_resume(const json& params, SharedReply reply);
  void on_session_list(const json& params, SharedReply reply);
  void on_session_close(const json& params, SharedReply reply);
  void on_session_prompt(const json& params, const json& request_id, SharedReply reply);
  void on_session_set_mode(const json& params, SharedReply reply);
  void on_session_set_config_option(const json& params, SharedReply reply);
  void cancel_session(AcpSession& s, const std::string& why);

  // Runs `then` once the codex handshake is done; answers `reply` with an error if codex cannot serve.
  void with_codex(const SharedReply& reply, std::function<void()> then);
  void start_codex_handshake(const json& acp_client_info);
  void on_codex_handshake(bool ok, const std::string& problem);
  void with_models(std::function<void()> then);
  // thread/start or thread/resume answered: the session is ready (or not).
  AcpSession& open_session(const std::string& id, const std::string& cwd, const json& thread_result, std::string_view origin);
  json session_setup_result(const AcpSession& s) const;
  void send_available_commands(const AcpSession& s);
  AcpSession* find_session(const json& params, const SharedReply& reply);

  // --- codex -> editor ---
  void on_item_started(AcpSession& s, const json& params);
  void on_item_completed(AcpSession& s, const json& params);
  void on_output_delta(AcpSession& s, const json& params);
  void on_turn_completed(AcpSession& s, const json& params);
  void emit_update(const std::string& session_id, json update);
  void flush_output(AcpSession& s, const std::string& item_id, ItemState& item);
  void schedule_output_flush();
  json file_change_content(const json& changes) const;

  // --- editor requests from the face ---
  std::int64_t request_editor(std::string_view method, json params, ResponseHandler on_response);
  void on_permission_answer(const std::string& gate_id, const json& response);
  std::string session_for_gate(const Gate& gate) const;
  void answer_with_kind(const std::string& gate_id, bool cancel);

  // --- recordings ---
  std::vector<std::filesystem::path> tasks_with_session(const std::string& session_id) const;

  Session& session_;
  enum class Handshake { NotStarted, Pending, Done, Failed } handshake_ = Handshake::NotStarted;
  std::string handshake_problem_;
  std::vector<std::function<void()>> waiting_for_codex_;
  json models_;  // model/list data; null until it answered
  bool models_requested_ = false;
  std::vector<std::function<void()>> waiting_for_models_;
  bool initialized_ = false;
  std::map<std::string, AcpSession> sessions_;  // by session id (= codex thread id)
  protocol::PendingRequests<ResponseHandler> to_editor_;
  std::map<std::string, std::int64_t> gate_requests_;  // open gate -> its session/request_permission
  std::map<std::string, std::string> open_gates_;      // open gate -> session id
  std::set<std::string> gate_tool_calls_;              // gates shown as tool calls of their own
  std::int64_t replays_ = 0;
  asio::steady_timer output_timer_;
  bool output_timer_armed_ = false;
};

}  // namespace coco::bridge
