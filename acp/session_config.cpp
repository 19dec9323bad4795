#include "acp/session_config.h"

namespace coco::acp {
namespace {

std::string str(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json* find_model(const json& models, const std::string& id) {
  if (!models.is_array()) return nullptr;
  for (const auto& m : models)
    if (str(m, "id") == id || str(m, "model") == id) return &m;
  return nullptr;
}

const ModePreset* find_preset(std::string_view id) {
  for (const auto& p : mode_presets())
    if (p.id == id) return &p;
  return nullptr;
}

// Same policy, ignoring the fields the presets leave at codex's defaults.
bool same_sandbox(const json& a, const json& b) { return str(a, "type") == str(b, "type"); }

// The efforts the current model lists ({value, name, description}); empty when unknown.
json effort_values(const json& models, const std::string& model) {
  json values = json::array();
  const json* m = find_model(models, model);
  if (!m || !m->contains("supportedReasoningEfforts") || !(*m)["supportedReasoningEfforts"].is_array()) return values;
  for (const auto& e : (*m)["supportedReasoningEfforts"]) {
    std::string effort = str(e, "reasoningEffort");
    if (effort.empty()) continue;
    json v = {{"value", effort}, {"name", effort}};
    if (!str(e, "description").empty()) v["description"] = str(e, "description");
    values.push_back(v);
  }
  return values;
}

}  // namespace

const std::vector<ModePreset>& mode_presets() {
  static const std::vector<ModePreset> presets = {
      {"read-only", "Read only",
       "Codex reads files and runs read-only commands; it asks before editing files or running anything else.",
       "on-request", {{"type", "readOnly"}, {"networkAccess", false}}},
      {"auto", "Auto",
       "Codex edits files in the project and runs commands in its sandbox; it asks before leaving the sandbox "
       "(network, files outside the project).",
       "on-request",
       {{"type", "workspaceWrite"}, {"writableRoots", json::array()}, {"networkAccess", false},
        {"excludeTmpdirEnvVar", false}, {"excludeSlashTmp", false}}},
      {"full-access", "Full access",
       "Codex edits any file and runs any command, with network access, without asking. Use with care.", "never",
       {{"type", "dangerFullAccess"}}},
  };
  return presets;
}

SessionSettings settings_from_thread(const json& r) {
  SessionSettings s;
  json approval = r.value("approvalPolicy", json());
  json sandbox = r.value("sandbox", json());
  for (const auto& p : mode_presets())
    if (approval == p.approval_policy && same_sandbox(sandbox, p.sandbox_policy)) s.mode = p.id;
  if (s.mode.empty()) {
    s.mode = "custom";
    s.custom_approval = approval;
    s.custom_sandbox = sandbox;
  }
  s.model = str(r, "model");
  s.effort = str(r, "reasoningEffort");
  return s;
}

json modes_state(const SessionSettings& s) {
  json modes = json::array();
  for (const auto& p : mode_presets()) modes.push_back({{"id", p.id}, {"name", p.name}, {"description", p.description}});
  if (!s.custom_approval.is_null()) {
    std::string what = s.custom_approval.is_string() ? s.custom_approval.get<std::string>() : s.custom_approval.dump();
    modes.push_back({{"id", "custom"},
                     {"name", "As configured"},
                     {"description", "codex's own settings for this session (approvals " + what + ", sandbox " +
                                         str(s.custom_sandbox, "type") + ")"}});
  }
  return {{"currentModeId", s.mode}, {"availableModes", modes}};
}

json config_options(const SessionSettings& s, const json& models) {
  json out = json::array();
  json mode_values = json::array();
  json modes = modes_state(s);
  for (const auto& m : modes["availableModes"])
    mode_values.push_back({{"value", m["id"]}, {"name", m["name"]}, {"description", m["description"]}});
  out.push_back({{"id", "mode"},
                 {"name", "Mode"},
                 {"description", "When codex asks before acting, and what its sandbox allows"},
                 {"category", "mode"},
                 {"type", "select"},
                 {"currentValue", s.mode},
                 {"options", mode_values}});

  json model_values = json::array();
  bool current_listed = false;
  if (models.is_array()) {
    for (const auto& m : models) {
      if (m.contains("hidden") && m["hidden"] == json(true)) continue;
      std::string id = str(m, "id");
      if (id.empty()) continue;
      current_listed = current_listed || id == s.model;
      json v = {{"value", id}, {"name", str(m, "displayName").empty() ? id : str(m, "displayName")}};
      if (!str(m, "description").empty()) v["description"] = str(m, "description");
      model_values.push_back(v);
    }
  }
  if (!s.model.empty() && !current_listed)
    model_values.insert(model_values.begin(), json::object({{"value", s.model}, {"name", s.model}}));
  if (!model_values.empty())
    out.push_back({{"id", "model"}, {"name", "Model"}, {"category", "model"}, {"type", "select"}, {"currentValue", s.model},
                   {"options", model_values}});

  json efforts = effort_values(models, s.model);
  if (!efforts.empty()) {
    std::string current = s.effort;
    if (current.empty()) {
      const json* m = find_model(models, s.model);
      current = m ? str(*m, "defaultReasoningEffort") : std::string();
    }
    out.push_back({{"id", "reasoning_effort"}, {"name", "Reasoning effort"}, {"category", "thought_level"},
                   {"type", "select"}, {"currentValue", current}, {"options", efforts}});
  }
  return out;
}

std::string set_mode(SessionSettings& s, std::string_view mode_id) {
  if (mode_id != "custom" && !find_preset(mode_id)) return "no mode '" + std::string(mode_id) + "'";
  if (mode_id == "custom" && s.custom_approval.is_null()) return "no mode 'custom'";
  if (s.mode != mode_id) s.dirty = true;
  s.mode = std::string(mode_id);
  return {};
}

std::string set_config_option(SessionSettings& s, const json& models, std::string_view config_id, const json& value) {
  if (!value.is_string()) return "the value must be a string";
  std::string v = value.get<std::string>();
  if (config_id == "mode") return set_mode(s, v);
  if (config_id == "model") {
    if (v != s.model && !find_model(models, v)) return "no model '" + v + "'";
    if (v != s.model) {
      s.model = v;
      s.dirty = true;
      // The new model may not offer the effort chosen for the old one: back to its default.
      json efforts = effort_values(models, v);
      bool kept = false;
      for (const auto& e : efforts) kept = kept || e["value"] == s.effort;
      if (!kept) {
        const json* m = find_model(models, v);
        s.effort = m ? str(*m, "defaultReasoningEffort") : std::string();
      }
    }
    return {};
  }
  if (config_id == "reasoning_effort") {
    json efforts = effort_values(models, s.model);
    bool known = false;
    for (const auto& e : efforts) known = known || e["value"] == v;
    if (!known) return "model '" + s.model + "' has no reasoning effort '" + v + "'";
    if (v != s.effort) s.dirty = true;
    s.effort = v;
    return {};
  }
  return "no config option '" + std::string(config_id) + "' (mode, model, reasoning_effort)";
}

json turn_overrides(const SessionSettings& s) {
  json o = json::object();
  if (const ModePreset* p = find_preset(s.mode)) {
    o["approvalPolicy"] = p->approval_policy;
    o["sandboxPolicy"] = p->sandbox_policy;
  } else if (!s.custom_approval.is_null()) {
    o["approvalPolicy"] = s.custom_approval;
    if (!s.custom_sandbox.is_null()) o["sandboxPolicy"] = s.custom_sandbox;
  }
  if (!s.model.empty()) o["model"] = s.model;
  if (!s.effort.empty()) o["effort"] = s.effort;
  return o;
}

}  // namespace coco::acp
