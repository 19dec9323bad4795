#pragma once
// Gates: every codex request that waits on a human is held here until exactly one answer arrives,
// from the editor, a policy rule, a timeout, a decision file in the task directory, a disconnect,
// or codex itself (the request was resolved or its turn ended). Every gate and its outcome is
// recorded (gate.blocked / gate.resolved in events.jsonl, gates/<id>.json).
//
// How the editor is asked depends on what it said in `initialize`:
//   capabilities.coco.approvals = "prompt"  -> the request `coco/approval/request` (normalized prompt)
//   capabilities.coco.approvals = "lsp"     -> the request `window/showMessageRequest` (a native popup)
//   nothing                                 -> codex's raw request, unchanged (transparent mode)
// See docs/approvals.md.

#include "gates/policy.h"
#include "gates/prompt.h"

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace coco::bridge {

class Session;

class GateKeeper {
public:
  GateKeeper(Session& session, gates::PolicyConfig policy, std::optional<gates::Mode> mode_override);
  ~GateKeeper();

  // A codex request that needs a human (gates::needs_human). Always takes it over.
  void open(const nlohmann::json& codex_id, const std::string& method, const nlohmann::json& params,
            std::uint64_t generation);
  // Codex notifications the gates care about: fileChange items (their diffs), turn/completed.
  void on_codex_notification(const std::string& method, const nlohmann::json& params);
  // serverRequest/resolved: codex no longer waits for this request.
  void on_codex_request_resolved(const nlohmann::json& codex_id);
  // codex exited: nobody waits for the open gates any more.
  void on_upstream_exit();
  // The editor went away: open gates get the on_disconnect answer.
  void on_editor_gone();

  std::size_t open_count() const;

private:
  enum class Delivery { None, Prompt, Lsp, Raw };
  struct Gate {
    std::string id;
    nlohmann::json codex_id;
    nlohmann::json raw_params;  // codex's params, for transparent delivery
    std::uint64_t generation = 0;
    gates::Prompt prompt;
    std::chrono::steady_clock::time_point opened;
    Delivery delivery = Delivery::None;
    std::optional<std::int64_t> editor_request_id;
    bool resolved = false;
    nlohmann::json outcome;  // what gate.resolved recorded
    std::unique_ptr<asio::steady_timer> timeout;
  };

  void deliver(Gate& gate);
  std::string client_approvals() const;  // "prompt", "lsp" or "" (transparent)
  void on_editor_answer(const std::string& gate_id, const nlohmann::json& response);
  void on_raw_answer(const std::string& gate_id, const nlohmann::json& response);
  // Answers codex with `option` and records who decided. Returns false if the gate was already resolved.
  bool resolve(Gate& gate, const gates::Option& option, std::string_view by, const std::string& feedback = {},
               const nlohmann::json& answers = nullptr, const gates::Rule* rule = nullptr, std::string_view note = {});
  // Closes a gate that codex no longer waits for (nothing is sent to codex).
  void close_unanswered(Gate& gate, std::string_view by, std::string_view reason);
  void finish(Gate& gate, nlohmann::json outcome);
  void write_gate_file(const Gate& gate);
  void notify_resolved(const Gate& gate, const std::string& option_id, const nlohmann::json& decision, std::string_view by);
  void schedule_directory_poll();
  void poll_directory();
  void register_methods();
  Gate* find(const std::string& gate_id);
  Gate* find_by_codex_id(const nlohmann::json& codex_id);
  std::filesystem::path gates_dir() const;

  Session& session_;
  gates::PolicyConfig policy_;
  gates::Mode mode_;
  std::map<std::string, Gate> gates_;
  std::map<std::string, nlohmann::json> file_changes_;  // itemId -> changes, for fileChange prompts
  std::uint64_t next_gate_ = 1;
  asio::steady_timer poll_timer_;
  bool polling_ = false;
};

}  // namespace coco::bridge
