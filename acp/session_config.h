#pragma once
// An ACP session's modes and config options, from codex's approval and sandbox presets and its model
// catalog. Pure: the face asks codex (thread/start's answer, model/list) and keeps one SessionSettings
// per session; these functions say what ACP shows and what codex gets at the next turn/start.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coco::acp {

using json = nlohmann::json;

// A mode: one of codex's approval + sandbox presets (the ones its own UI offers).
struct ModePreset {
  std::string id, name, description;
  json approval_policy;  // AskForApproval
  json sandbox_policy;   // SandboxPolicy (turn/start)
};
// read-only, auto, full-access.
const std::vector<ModePreset>& mode_presets();

// What a session runs with. Starts from what codex reported for the thread; set_mode /
// set_config_option change it, and turn/start carries the changes to codex.
struct SessionSettings {
  std::string mode;             // a preset id, or "custom" when codex's settings match no preset
  json custom_approval, custom_sandbox;  // codex's own settings when they match no preset (else null)
  std::string model;
  std::string effort;           // "" when codex reports none
  bool dirty = false;           // changed since the last turn/start
};

// From thread/start's (or thread/resume's) result: approvalPolicy, sandbox, model, reasoningEffort.
SessionSettings settings_from_thread(const json& thread_result);

// SessionModeState {currentModeId, availableModes}.
json modes_state(const SessionSettings& s);
// SessionConfigOption[]: mode, model (codex's catalog from model/list, plus the current model if the
// catalog lacks it), and reasoning effort when the current model lists its efforts.
json config_options(const SessionSettings& s, const json& models);

// Applies set_mode / set_config_option. Returns an error message, or "" when applied.
std::string set_mode(SessionSettings& s, std::string_view mode_id);
std::string set_config_option(SessionSettings& s, const json& models, std::string_view config_id, const json& value);

// What turn/start gets so that codex runs with `s` (approvalPolicy, sandboxPolicy, model, effort);
// the face sends it only when `dirty`, so that codex's own configuration stands until the client
// changes something.
json turn_overrides(const SessionSettings& s);

}  // namespace coco::acp
