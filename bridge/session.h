#pragma once
// The bridge's router: one editor, one supervised codex app-server, one task directory.
//
// Where things happen (each in one place):
// - a message from the editor enters at on_editor_frame(), from codex at on_codex_frame();
// - routing decisions are made there: `coco/*` requests are answered by the bridge (the method
//   table in register_core_methods()), everything else is forwarded with its id mapped;
// - recording happens in record(), called once for every message that enters or that the bridge
//   itself originates.

#include "bridge/config.h"
#include "bridge/editor_transport.h"
#include "bridge/gate_keeper.h"
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
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace coco::bridge {

using json = nlohmann::json;

struct BridgeOptions {
  std::string codex;                    // the codex executable
  std::vector<std::string> codex_args;  // extra arguments after `app-server`
  std::vector<std::string> codex_env;   // environment for codex ("K=V"); empty: inherit
  std::filesystem::path task_root;
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
}  // namespace dir

class Session {
public:
  Session(asio::io_context& io, BridgeOptions options, std::unique_ptr<EditorTransport> editor);
  ~Session();

  void start();
  // Stops codex in stages, finishes the task directory, then calls on_finished.
  void shutdown(const std::string& reason);
  std::function<void(const std::string& reason)> on_shutting_down;  // first thing shutdown() does
  std::function<void()> on_finished;

  // --- for features built on the session (coco/* methods, gates, workers) ---
  using MethodHandler = std::function<void(const json& id, const json& params)>;
  void register_method(std::string name, MethodHandler handler);
  void reply(const json& id, json result);
  void reply_error(const json& id, int code, std::string_view message, json data = nullptr);
  void notify_editor(std::string_view method, json params);
  // Returns the id the request carries toward the editor.
  std::int64_t request_editor(std::string_view method, json params, std::function<void(const json& response)> on_response);
  // Answers a codex request (`body` is {"result": ...} or {"error": ...}); dropped if that codex is gone.
  void answer_codex(const json& codex_id, std::uint64_t generation, json body);
  // Lets serverRequest/resolved name the id the editor saw for a codex request.
  void remember_codex_request_id(std::int64_t codex_id, std::int64_t editor_id);
  std::uint64_t generation() const { return generation_; }
  bool editor_connected() const { return !editor_gone_; }
  void request_codex(std::string_view method, json params, std::function<void(const json& response)> on_response);
  taskdir::TaskWriter& task() { return *task_; }
  const BridgeOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }
  const json& client_capabilities() const { return client_capabilities_; }

private:
  enum class UpstreamState { Starting, Replaying, Ready, Restarting, GaveUp, Stopping, Stopped };
  static std::string_view to_string(UpstreamState s);

  // editor -> bridge
  void on_editor_frame(std::string&& body);
  void on_editor_bad_frame(const std::string& problem);
  void route_editor_request(protocol::Message& m);
  void route_editor_notification(protocol::Message& m);
  void route_editor_response(protocol::Message& m);
  // codex -> bridge
  void on_codex_frame(std::string&& line);
  void route_codex_response(std::string& line, const protocol::Envelope& env);
  void route_codex_request(json body);
  void observe_codex_notification(json& body);
  // supervision
  void start_upstream();
  void on_upstream_exit(const process::ExitStatus& status, const std::string& stderr_tail);
  void schedule_restart();
  void replay_handshake();
  void set_upstream_state(UpstreamState s);
  // sending and recording
  void send_to_editor(std::string_view body);
  void send_to_codex(const json& body);
  void record(std::string_view direction, std::string_view raw);
  void update_backpressure();
  void finish_if_done();
  void register_core_methods();
  void on_editor_gone(const std::string& reason);
  json coco_info() const;

  asio::io_context& io_;
  BridgeOptions options_;
  std::unique_ptr<EditorTransport> editor_;
  std::unique_ptr<taskdir::TaskWriter> task_;
  std::optional<taskdir::AgentLog> app_server_log_;
  std::unique_ptr<Upstream> upstream_;
  UpstreamState state_ = UpstreamState::Stopped;
  std::uint64_t generation_ = 0;
  int restarts_ = 0;
  std::deque<std::chrono::steady_clock::time_point> recent_restarts_;
  asio::steady_timer restart_timer_;
  asio::steady_timer flush_timer_;

  protocol::PendingRequests to_codex_;   // requests codex owes an answer to
  protocol::PendingRequests to_editor_;  // requests the editor owes an answer to
  std::map<std::int64_t, std::int64_t> codex_request_ids_;  // codex id -> editor id, until serverRequest/resolved
  std::unordered_map<std::string, MethodHandler> methods_;
  std::unique_ptr<GateKeeper> gates_;

  json initialize_params_;   // replayed to a restarted codex
  bool editor_initialized_ = false;  // sent `initialized`
  bool client_connected_ = false;
  json client_capabilities_ = json::object();
  std::string codex_version_;
  bool title_set_ = false;
  bool shutting_down_ = false;
  bool editor_gone_ = false;
  bool finished_ = false;
  std::string final_status_ = "completed";
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // watched by posts from other threads
};

}  // namespace coco::bridge
