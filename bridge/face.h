#pragma once
// A face: the protocol the editor speaks, in front of the bridge's core.
//
// The core (Session) supervises codex, records every message, owns the gates (policies, timeouts, the
// task-directory hand-off), the workers and the table of coco/* methods, and knows nothing of the
// editor's protocol. A face owns everything that depends on it:
// - the handshake and the routing of the editor's messages: to a coco/* method (MethodTable), to
//   codex (forwarded, or translated), or answered by the face itself;
// - the ids toward the editor (its own id space for the requests it sends there);
// - how a codex notification or request reaches the editor (as is, or translated);
// - how a gate is asked, re-asked after a bad answer, and withdrawn once resolved elsewhere.
//
// Faces today: CodexFace (`coco bridge`: codex's own protocol, plus coco/*) and AcpFace (`coco acp`:
// the Agent Client Protocol, translated both ways). The core does not know which one is in front.
// docs/architecture.md.

#include "protocol/envelope.h"
#include "protocol/message.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace coco::bridge {

struct Gate;

class Face {
public:
  virtual ~Face() = default;

  // --- the editor's side --------------------------------------------------------------------
  // Where an incoming editor message is recorded: "editor->codex" when it is forwarded to codex as
  // it is, "editor->bridge" when the bridge answers or translates it.
  virtual std::string_view record_direction(const protocol::Message& m) const = 0;
  // Whether an editor request or notification (`m` has its kind and method only) goes to codex
  // exactly as it came: no translation, nothing in it the face reads. A large one is then forwarded
  // without building a JSON tree (Session::forward_large_unparsed). Default: never.
  virtual bool forwards_unchanged(const protocol::Message& m) const { return false; }
  // A valid JSON-RPC message from the editor (already recorded).
  virtual void on_editor_request(protocol::Message& m) = 0;
  virtual void on_editor_notification(protocol::Message& m) = 0;
  virtual void on_editor_response(protocol::Message& m) = 0;
  // The editor went away: answer whatever codex still waits for from it (the core has answered the
  // open gates by policy already).
  virtual void on_editor_gone() = 0;

  // --- codex's side -------------------------------------------------------------------------
  // Where codex's messages are recorded: "codex->editor" when they pass through, "codex->bridge"
  // when the face translates them.
  virtual std::string_view codex_record_direction() const = 0;
  // A notification from codex (recorded, and already seen by the core when the core needed to look
  // inside it: then `parsed` holds it, else it is null and `line` is untouched codex text).
  virtual void on_codex_notification(std::string&& line, const protocol::Envelope& env, nlohmann::json* parsed) = 0;
  // A request from codex that does not wait on a human (those become gates in the core).
  virtual void on_codex_request(nlohmann::json body) = 0;
  // codex exited: forget requests it made (the core has answered those codex owed).
  virtual void on_upstream_exit() = 0;

  // --- gates ---------------------------------------------------------------------------------
  // Ask the editor to decide `gate` (again, with the same gate id, after a rejected answer).
  virtual void ask(const Gate& gate) = 0;
  // `--approvals dir`: the answer must come through the task directory; show the gate if the
  // editor can display it, but do not ask.
  virtual void show_pending(const Gate& gate) = 0;
  // The editor's last answer to `gate` was not usable (`reason`); `asking_again` says whether ask()
  // follows.
  virtual void answer_rejected(const Gate& gate, const std::string& reason, bool asking_again) = 0;
  // `gate` has its one outcome (by the editor, a policy, a timeout, the directory, codex...):
  // withdraw any prompt still open for it.
  virtual void gate_resolved(const Gate& gate) = 0;

  // --- the core's own news -------------------------------------------------------------------
  // A coco/* notification (coco/exec/event, coco/upstream/exited, ...), in the face's dialect.
  virtual void notify(std::string_view method, nlohmann::json params) = 0;
  // For coco/status: {name, ...whatever the face wants to show}.
  virtual nlohmann::json describe() const = 0;
};

}  // namespace coco::bridge
