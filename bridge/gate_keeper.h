#pragma once
// Gates: every codex request that waits on a human is held here until it has exactly one outcome:
// an answer from the editor, a policy rule, a timeout, a decision file in the task directory, a
// disconnect, or codex itself (the request was resolved, its turn ended, codex exited). Every gate
// and its outcome is recorded (gate.* in events.jsonl, gates/<id>.json).
//
// The GateKeeper decides; the face delivers. It calls Face::ask to put a gate before the editor (and
// again, same gate id, after an answer that could not be used), Face::gate_resolved once the outcome
// is known, whatever decided it. The face reports what came back through answer(), reject_answer(),
// dismiss() and answer_raw(). How a face asks (coco/approval/request, window/showMessageRequest,
// codex's raw request) is its own business. See docs/approvals.md.

#include "gates/answer.h"
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

struct Gate {
  std::string id;               // "g1", "g2", ...: unique within the task, across bridge runs
  nlohmann::json codex_id;      // codex's id for the request
  std::uint64_t generation = 0; // which codex asked
  nlohmann::json raw_params;    // codex's params, for faces that pass the request through
  gates::Prompt prompt;
  std::chrono::steady_clock::time_point opened;
  bool resolved = false;
  nlohmann::json outcome;       // what gate.resolved recorded
  int rejected_answers = 0;
  std::unique_ptr<asio::steady_timer> timeout;
};

class GateKeeper {
public:
  // How many unusable answers in a row the editor may give before the gate is denied.
  static constexpr int kMaxRejectedAnswers = 3;

  GateKeeper(Session& session, gates::PolicyConfig policy, std::optional<gates::Mode> mode_override);
  ~GateKeeper();

  // A codex request that needs a human (gates::needs_human). Always takes it over.
  void open(const nlohmann::json& codex_id, const std::string& method, const nlohmann::json& params,
            std::uint64_t generation);

  // --- what the face reports ------------------------------------------------------------------
  struct Result {
    int code = 0;  // 0: the gate was resolved; else a JSON-RPC error code
    std::string message;
    nlohmann::json data;  // for an already resolved gate: its outcome
  };
  // The editor (or any client, through coco/approval/answer) chose `value` = {optionId, feedback?,
  // answers?}. An unknown gate or option, or a wrong type, is an error and changes nothing.
  Result answer(const std::string& gate_id, const nlohmann::json& value);
  // The editor's answer to a prompt could not be used (`reason`): tell the editor, ask again (same gate
  // id) up to kMaxRejectedAnswers times in a row, then deny the gate so that the turn goes on.
  void reject_answer(const std::string& gate_id, const std::string& reason);
  // The editor dismissed the prompt without choosing (Esc): approvals.on_dismiss decides.
  void dismiss(const std::string& gate_id);
  // A face that passes codex's raw request through: the editor's response goes to codex as it is.
  void answer_raw(const std::string& gate_id, const nlohmann::json& response);
  // An answer for a gate that was resolved already: recorded, otherwise ignored.
  void late_answer(const std::string& gate_id, const nlohmann::json& response);
  const Gate* find(const std::string& gate_id) const;

  // --- what the core reports ------------------------------------------------------------------
  // Codex notifications the gates care about: fileChange items (their diffs), turn/completed.
  void on_codex_notification(const std::string& method, const nlohmann::json& params);
  // serverRequest/resolved: codex no longer waits for this request.
  void on_codex_request_resolved(const nlohmann::json& codex_id);
  // codex exited: nobody waits for the open gates any more.
  void on_upstream_exit();
  // The editor went away: open gates get the on_disconnect answer.
  void on_editor_gone();

  std::size_t open_count() const;
  gates::Mode mode() const { return mode_; }
  // How gates read the files a change touches (approvals.max_text_kib, the bridge's cwd): a face
  // showing a file change outside a gate reads them the same way.
  gates::FileTexts file_texts() const;

private:
  Gate* find_open(const std::string& gate_id);
  Gate* find_by_codex_id(const nlohmann::json& codex_id);
  // Answers codex with `option` and records who decided. Returns false if the gate was already resolved.
  bool resolve(Gate& gate, const gates::Option& option, std::string_view by, const std::string& feedback = {},
               const nlohmann::json& answers = nullptr, const gates::Rule* rule = nullptr, std::string_view note = {});
  // Resolves with the first option of `kind` (falling back to Deny), or closes the gate unanswered.
  void resolve_with(Gate& gate, gates::OptionKind kind, std::string_view by, std::string_view note);
  // Closes a gate that codex no longer waits for (nothing is sent to codex).
  void close_unanswered(Gate& gate, std::string_view by, std::string_view reason);
  void finish(Gate& gate, nlohmann::json outcome);
  void write_gate_file(const Gate& gate);
  void schedule_directory_poll();
  void poll_directory();
  void register_methods();
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
