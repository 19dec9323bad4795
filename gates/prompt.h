#pragma once
// One normalized prompt for every codex request that waits on a human.
//
// Codex asks in seven different shapes (command, file change, permissions, MCP elicitation, user
// input, and two legacy forms) with answers that differ per kind. make_prompt() turns each into the
// same thing an editor can show as a popup: a title, a markdown detail, and options. Each option
// carries the exact codex answer it stands for, so an answer can never be the wrong shape.

#include "gates/file_change.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coco::gates {

using json = nlohmann::json;

enum class GateKind { Command, FileChange, Permissions, Elicitation, UserInput };
std::string_view to_string(GateKind kind);

// What choosing an option means, whatever the request kind.
enum class OptionKind { AllowOnce, AllowSession, AllowAlways, Deny, Cancel };
std::string_view to_string(OptionKind kind);

struct Option {
  std::string id;     // stable within the prompt: "accept", "acceptForSession", "decline", ...
  std::string label;  // for a button
  OptionKind kind;
  bool is_default = false;
  json answer;        // codex's result for this option (userInput/elicitation: filled from answers)
};

struct Prompt {
  GateKind kind;
  std::string method;  // the codex method
  std::string thread_id, turn_id, item_id;
  std::string title;   // one line for a popup
  std::string detail;  // markdown with everything needed to decide
  json fields = json::object();  // command, cwd, reason, changes, permissions, questions, url, serverName
  std::vector<Option> options;

  const Option* find_option(std::string_view id) const;
  const Option* first_of(OptionKind kind) const;
  // The params of `coco/approval/request` (and the body of gates/<id>.json).
  json to_json(std::string_view gate_id) const;
};

// True for the requests that wait on a human (the ones that become gates).
bool needs_human(std::string_view method);

// How a file-change prompt learns what the files hold now (the caller does the I/O).
struct FileTexts {
  std::function<DiskText(const std::string& path)> read;  // unset: nothing is read (texts omitted)
  std::string cwd;                                         // diff headers are relative to it
  std::size_t max_text_bytes = 512 * 1024;
};

// `known_changes`: the `changes` of the fileChange item codex announced before asking (item/started,
// item/fileChange/patchUpdated), since file-change requests do not carry the diff themselves.
Prompt make_prompt(std::string_view method, const json& params, const json& known_changes = nullptr,
                   const FileTexts& files = {});

// The result to send to codex for `option`. `answers` come from the editor for userInput
// ({questionId: [strings]} or {questionId: string}) and elicitation forms (the content object).
// `feedback` with a deny of a legacy request becomes codex's rejection text (v2 requests have no such
// field: the bridge steers the turn with it instead).
json codex_answer(const Prompt& prompt, const Option& option, const json& answers = nullptr, const std::string& feedback = {});

}  // namespace coco::gates
