#pragma once
// One turn through a `coco bridge` child, driven the way an editor drives it: initialize (asking for
// coco/approval/request prompts), thread/start, turn/start, then every message until the turn ends.
// `coco run` and `coco demo` share this loop; each says what to show and how to answer approvals
// through a TurnView. Blocking is fine here: this is a front end, never the bridge.

#include "cli/bridge_client.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace coco::cli {

class TurnView {
public:
  virtual ~TurnView() = default;
  virtual void started(const std::string& task_dir) {}   // the bridge answered initialize
  virtual void agent_text(const std::string& text) = 0;  // a delta, or a whole message that came without deltas
  virtual void agent_message_done() {}
  virtual void command_started(const nlohmann::json& item) {}
  virtual void command_completed(const nlohmann::json& item) {}
  // A gate to decide: {optionId, feedback?}, or nullopt to leave it to policy, timeout or the directory.
  virtual std::optional<nlohmann::json> approve(const nlohmann::json& prompt) = 0;
  virtual void approval_pending(const nlohmann::json& prompt) {}   // --approvals dir
  virtual void approval_resolved(const nlohmann::json& params) {}
  virtual void problem(const std::string& what) {}  // codex errors, codex exiting, a failed turn
};

struct TurnRequest {
  std::string client_name;  // clientInfo.name
  std::string cwd;
  std::string prompt;
  std::chrono::milliseconds reply_timeout{std::chrono::seconds(120)};  // for each request's answer
  std::chrono::milliseconds turn_timeout{std::chrono::hours(24)};      // for the turn to end
};

struct TurnResult {
  std::string status;    // completed | interrupted | failed; "" when the turn never ended
  std::string task_dir;  // from initialize's result, when it came
  std::string error;     // what went wrong before the turn could run ("thread/start failed: ...")
};

TurnResult run_turn(BridgeClient& client, const TurnRequest& request, TurnView& view);

}  // namespace coco::cli
