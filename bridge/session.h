#pragma once
// The bridge's core: one editor (behind a Face), one supervised codex app-server, one task directory.
//
// Where things happen (each in one place):
// - a message from the editor enters at on_editor_frame(): parsed (with the nesting cap), recorded,
//   classified; the face then routes it (face.h);
// - a message from codex enters at on_codex_frame(): recorded, classified without a JSON tree when
//   possible (protocol::scan_envelope), requests that wait on a human become gates (GateKeeper),
//   answers go to whoever asked (the pending map toward codex), the rest goes to the face;
// - recording: record(), called once for every message that enters or that the bridge itself
//   originates (emit_to_editor, request_codex, notify_codex, answer_codex);
// - backpressure: update_backpressure(), the one place that pauses and resumes the two readers.
// Nothing here depends on the editor's protocol; that is the face's business.

#include "bridge/config.h"
#include "bridge/editor_transport.h"
#include "bridge/face.h"
#include "bridge/gate_keeper.h"
#include "bridge/method_table.h"
#include "bridge/upstream.h"
#include "protocol/envelope.h"
#include "protocol/id_map.h"
#include "protocol/message.h"
#include "taskdir/task_writer.h"

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace coco::bridge {

using json = nlohmann::json;

struct BridgeOptions {
  std::string codex;                    // the codex executable
  std::vector<std::string> codex_args;  // extra arguments after `app-server`
  std::vector<std::string> codex_env;   // environment for codex ("K=V"); empty: inherit
  std::filesystem::path task_root;
  std::filesystem::path continue_task;  // --task: an existing task directory to continue; empty: a new one
  std::string cwd;
  std::size_t max_frame_bytes = protocol::kDefaultMaxFrameBytes;
  bool record_messages = true;
  int max_restarts_per_minute = 5;
  std::chrono::milliseconds stop_grace{2000};
  std::size_t high_water = 4u << 20;  // bytes queued toward a peer before we stop reading the other side
  std::size_t low_water = 1u << 20;
  // After handling something the event loop polls this long before it sleeps (bridge_runner.cpp).
  std::chrono::microseconds spin{50};
  Config config;
  std::optional<gates::Mode> approvals_mode;  // --approvals, overrides config
};

// Directions used in recordings (docs/task-directory.md).
namespace dir {
inline constexpr std::string_view kEditorToCodex = "editor->codex";
inline constexpr std::string_view kCodexToEditor = "codex->editor";
inline constexpr std::string_view kBridgeToEditor = "bridge->editor";
inline constexpr std::string_view kBridgeToCodex = "bridge->codex";
inline constexpr std::string_view kEditorToBridge = "editor->bridge";
inline constexpr std::string_view kCodexToBridge = "codex->bridge";
}  // namespace dir

// codex's answer to a request the bridge sent (the editor's, forwarded, or the bridge's own), or an
// error the bridge made up because codex can no longer answer (it exited, or did not answer in time).
// Most forwarded answers only need their id replaced, so the text is parsed only when asked for.
class CodexResponse {
public:
  CodexResponse(std::string& line, const protocol::Envelope& env) : line_(&line), env_(env) {}
  explicit CodexResponse(json made_up) : body_(std::move(made_up)), parsed_(true), made_up_(true) {}

  // {result} or {error}, with codex's id; an object with an "error" when the text was not JSON.
  const json& body();
  bool is_error();
  // Made up by the bridge rather than sent by codex (so it was not recorded on the way in).
  bool made_up() const { return made_up_; }
  // The response as one line, carrying `id` instead of codex's wire id.
  std::string line_with_id(const json& id);

private:
  std::string* line_ = nullptr;
  protocol::Envelope env_;
  json body_;
  bool parsed_ = false;
  bool made_up_ = false;
};
using CodexCallback = std::function<void(CodexResponse& response)>;

class Session {
public:
  Session(asio::io_context& io, BridgeOptions options, std::unique_ptr<EditorTransport> editor);
  ~Session();

  // The face is made with the session it serves; it must be set before start().
  void set_face(std::unique_ptr<Face> face);
  // Opens (or continues) the task directory and starts codex. Throws when the task directory cannot be
  // written or continued.
  void start();
  // Stops codex in stages, finishes the task directory, then calls on_finished.
  void shutdown(const std::string& reason);
  // Something went wrong that the bridge cannot serve through: the task ends `failed` with `reason`.
  void fail(const std::string& reason);
  std::function<void(const std::string& reason)> on_shutting_down;  // first thing shutdown() does
  std::function<void()> on_finished;

  // --- what faces and features use ------------------------------------------------------------
  Face& face() { return *face_; }
  MethodTable& methods() { return methods_; }
  GateKeeper& gates() { return *gates_; }
  taskdir::TaskWriter& task() { return *task_; }
  const BridgeOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }
  bool editor_connected() const { return !editor_gone_; }

  // Toward the editor. emit_*: made by the bridge (recorded here); forward_*: passing through (recorded
  // when it entered).
  void emit_to_editor(const json& message);
  void forward_to_editor(std::string_view line);
  // The one answer to an editor request the bridge handles itself (recorded and sent when given).
  Reply make_reply(const json& id, std::string method);
  // codex's answer to a forwarded editor request, under the editor's id.
  void forward_response_to_editor(const json& editor_id, CodexResponse& response);

  // Toward codex.
  bool codex_ready() const { return state_ == UpstreamState::Ready; }
  std::string codex_unavailable_reason() const;  // why not ready, for an error message
  void request_codex(std::string_view method, json params, CodexCallback on_response);
  // The editor's request (recorded when it entered): it leaves with a fresh id; the answer (or an
  // error if codex exits or does not answer in time) goes to `on_response`.
  void forward_request_to_codex(json body, CodexCallback on_response);
  void notify_codex(std::string_view method, json params);
  void forward_to_codex(json body);  // an editor notification or response, recorded when it entered
  // Answers a codex request (`body` is {"result": ...} or {"error": ...}); dropped if that codex is gone.
  void answer_codex(const json& codex_id, std::uint64_t generation, json body);
  std::uint64_t generation() const { return generation_; }

  // The handshake: remembered so that a restarted codex gets it again.
  void remember_handshake(json initialize_params) { initialize_params_ = std::move(initialize_params); }
  void set_editor_initialized() { editor_initialized_ = true; }
  void set_codex_version_from(const json& initialize_result);
  // LSP's `shutdown`: the editor is about to leave; codex's exit is then expected.
  void expect_exit() { shutting_down_ = true; }
  void on_editor_gone(const std::string& reason);
  // The `coco` object of the initialize result and coco/status.
  json coco_info() const;

private:
  enum class UpstreamState { Starting, Replaying, Ready, Restarting, GaveUp, Stopping, Stopped };
  static std::string_view to_string(UpstreamState s);

  void open_task();
  // editor -> bridge
  void on_editor_frame(std::string&& body);
  // A large editor message that codex gets as it came (Face::forwards_unchanged): checked without a
  // JSON tree (protocol::check_json_text), recorded, and sent on with only its id replaced. False when
  // it must take the ordinary path (which then gives any error).
  bool forward_large_unparsed(std::string& body);
  void on_editor_bad_frame(const std::string& problem);
  // codex -> bridge
  void on_codex_frame(std::string&& line);
  void on_codex_response(std::string& line, const protocol::Envelope& env);
  void on_codex_request(json body);
  void answer_invalid_codex_request(const json& codex_id, const std::string& problem);
  void observe_codex_notification(const json& body);
  // supervision
  void start_upstream();
  void on_upstream_exit(const process::ExitStatus& status, const std::string& stderr_tail);
  void schedule_restart();
  void replay_handshake();
  void set_upstream_state(UpstreamState s);
  void expire_codex_requests();
  std::int64_t add_codex_request(std::string method, CodexCallback on_response);
  // sending and recording
  void title_from_turn_start(const json& request);
  void send_to_editor(std::string_view line);
  void send_to_codex(const json& body);
  void record(std::string_view direction, std::string_view raw);
  // Bytes that were not a valid message (the recording, like record(), obeys --no-record).
  void record_invalid(std::string_view direction, std::string_view problem, std::string_view raw);
  void update_backpressure();
  void finish_if_done();
  void register_core_methods();
  // Runs `what` for one incoming message; an exception is logged and recorded, and the session goes on.
  template <typename Fn>
  void guarded(std::string_view where, Fn&& what);

  asio::io_context& io_;
  BridgeOptions options_;
  std::unique_ptr<EditorTransport> editor_;
  std::unique_ptr<Face> face_;
  std::unique_ptr<taskdir::TaskWriter> task_;
  std::optional<taskdir::AgentLog> app_server_log_;
  std::unique_ptr<Upstream> upstream_;
  UpstreamState state_ = UpstreamState::Stopped;
  std::uint64_t generation_ = 0;
  int restarts_ = 0;
  std::deque<std::chrono::steady_clock::time_point> recent_restarts_;
  asio::steady_timer restart_timer_;
  asio::steady_timer flush_timer_;
  asio::steady_timer request_timer_;  // expires requests codex does not answer in time
  bool request_timer_armed_ = false;

  // Requests codex owes an answer to: whom to give the answer, and when to give up waiting.
  protocol::PendingRequests<CodexCallback> to_codex_;
  MethodTable methods_;
  std::unique_ptr<GateKeeper> gates_;

  json initialize_params_;           // replayed to a restarted codex
  bool editor_initialized_ = false;  // sent `initialized`
  bool client_connected_ = false;
  std::string codex_version_;
  bool title_set_ = false;
  bool shutting_down_ = false;
  bool editor_gone_ = false;
  bool finished_ = false;
  std::string final_status_ = "completed";
  std::string failure_reason_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // watched by posts from other threads and by replies
};

}  // namespace coco::bridge
