#include "gates/policy.h"

#include "gates/glob.h"
#include "gates/shell_words.h"

#include <yaml-cpp/yaml.h>

namespace coco::gates {
namespace {

[[noreturn]] void fail(const std::string& file, const YAML::Node& node, const std::string& what) {
  throw PolicyError(file + ":" + std::to_string(node.Mark().line + 1) + ": " + what);
}

std::string scalar(const std::string& file, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) fail(file, node, key + " must be a string");
  return node.as<std::string>();
}

std::optional<GateKind> parse_kind(std::string_view s) {
  for (GateKind k : {GateKind::Command, GateKind::FileChange, GateKind::Permissions, GateKind::Elicitation, GateKind::UserInput})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

// A mapping's key as a name. YAML allows a mapping or a list as a key (`? {a: 1}`); no key of ours is one.
std::string key_name(const std::string& file, const YAML::Node& key) {
  if (!key.IsScalar()) fail(file, key, "keys must be plain names");
  return key.as<std::string>();
}

OptionKind parse_fallback(const std::string& file, const YAML::Node& node, const std::string& key) {
  std::string v = scalar(file, node, key);
  if (v == "deny") return OptionKind::Deny;
  if (v == "cancel") return OptionKind::Cancel;
  fail(file, node, key + " must be deny or cancel, not '" + v + "'");
}

Rule parse_rule(const std::string& file, const YAML::Node& node, std::size_t index) {
  if (!node.IsMap()) fail(file, node, "each rule must be a mapping");
  Rule r;
  r.line = node.Mark().line + 1;
  bool has_action = false;
  for (const auto& kv : node) {
    std::string key = key_name(file, kv.first);
    const YAML::Node& v = kv.second;
    if (key == "name") {
      r.name = scalar(file, v, "name");
    } else if (key == "kind") {
      std::string k = scalar(file, v, "kind");
      if (k != "any") {
        r.kind = parse_kind(k);
        if (!r.kind) fail(file, v, "kind must be command, fileChange, permissions, elicitation, userInput or any");
      }
    } else if (key == "command") {
      // A list of words, or a string split the shell's way.
      if (v.IsSequence()) {
        for (const auto& w : v) r.command.push_back(scalar(file, w, "command word"));
      } else {
        auto words = split_shell_words(scalar(file, v, "command"));
        if (words.compound) fail(file, v, "command must be a plain command prefix (no ; | & > < $( or quotes left open)");
        r.command = words.words;
      }
      if (r.command.empty()) fail(file, v, "command must not be empty");
    } else if (key == "cwd") {
      r.cwd = scalar(file, v, "cwd");
    } else if (key == "path") {
      r.path = scalar(file, v, "path");
    } else if (key == "mcp_server") {
      r.mcp_server = scalar(file, v, "mcp_server");
    } else if (key == "action") {
      std::string a = scalar(file, v, "action");
      if (a == "allow") r.action = Action::Allow;
      else if (a == "deny") r.action = Action::Deny;
      else if (a == "ask") r.action = Action::Ask;
      else fail(file, v, "action must be allow, deny or ask, not '" + a + "'");
      has_action = true;
    } else {
      fail(file, kv.first, "unknown rule key '" + key + "' (name, kind, command, cwd, path, mcp_server, action)");
    }
  }
  if (!has_action) fail(file, node, "a rule needs an action (allow, deny or ask)");
  if (r.name.empty()) r.name = "rule " + std::to_string(index + 1) + " (line " + std::to_string(r.line) + ")";
  return r;
}

bool rule_matches(const Rule& r, const Prompt& p) {
  if (r.kind && *r.kind != p.kind) return false;
  if (!r.command.empty()) {
    if (p.kind != GateKind::Command) return false;
    auto words = command_words(p.fields.value("command", ""));
    // An allow rule must never bless a compound line that merely starts with the prefix.
    if (words.compound && r.action == Action::Allow) return false;
    if (words.words.size() < r.command.size()) return false;
    for (std::size_t i = 0; i < r.command.size(); ++i)
      if (words.words[i] != r.command[i]) return false;
  }
  if (!r.cwd.empty()) {
    std::string cwd = p.fields.value("cwd", "");
    if (cwd.empty() || !glob_match(r.cwd, cwd)) return false;
  }
  if (!r.path.empty()) {
    const json& changes = p.fields.contains("changes") ? p.fields["changes"] : json::array();
    if (!changes.is_array() || changes.empty()) return false;
    bool all = true, any = false;
    for (const auto& c : changes) {
      bool m = glob_match(r.path, c.value("path", ""));
      all = all && m;
      any = any || m;
    }
    if (r.action == Action::Deny ? !any : !all) return false;
  }
  if (!r.mcp_server.empty() && (p.kind != GateKind::Elicitation || p.fields.value("serverName", "") != r.mcp_server))
    return false;
  return true;
}

}  // namespace

std::string_view to_string(Action a) {
  switch (a) {
  case Action::Allow: return "allow";
  case Action::Deny: return "deny";
  case Action::Ask: return "ask";
  }
  return "ask";
}

std::optional<Mode> parse_mode(std::string_view s) {
  if (s == "ask") return Mode::Ask;
  if (s == "allow") return Mode::Allow;
  if (s == "deny") return Mode::Deny;
  if (s == "dir") return Mode::Dir;
  return std::nullopt;
}

std::string_view to_string(Mode m) {
  switch (m) {
  case Mode::Ask: return "ask";
  case Mode::Allow: return "allow";
  case Mode::Deny: return "deny";
  case Mode::Dir: return "dir";
  }
  return "ask";
}

PolicyConfig parse_policy(const YAML::Node& node, const std::string& file) {
  PolicyConfig c;
  if (node.IsNull()) return c;
  if (!node.IsMap()) fail(file, node, "approvals must be a mapping");
  for (const auto& kv : node) {
    std::string key = key_name(file, kv.first);
    const YAML::Node& v = kv.second;
    if (key == "mode") {
      auto m = parse_mode(scalar(file, v, "approvals.mode"));
      if (!m) fail(file, v, "approvals.mode must be ask, allow, deny or dir");
      c.mode = *m;
    } else if (key == "timeout_s") {
      try {
        double t = v.as<double>();
        if (!(t > 0)) fail(file, v, "approvals.timeout_s must be a positive number of seconds");
        c.timeout_s = t;
      } catch (const YAML::Exception&) {
        fail(file, v, "approvals.timeout_s must be a number of seconds");
      }
    } else if (key == "on_timeout") {
      c.on_timeout = parse_fallback(file, v, "approvals.on_timeout");
    } else if (key == "on_disconnect") {
      c.on_disconnect = parse_fallback(file, v, "approvals.on_disconnect");
    } else if (key == "on_dismiss") {
      std::string d = scalar(file, v, "approvals.on_dismiss");
      if (d == "ask") c.on_dismiss.reset();
      else if (d == "deny") c.on_dismiss = OptionKind::Deny;
      else if (d == "cancel") c.on_dismiss = OptionKind::Cancel;
      else fail(file, v, "approvals.on_dismiss must be deny, cancel or ask, not '" + d + "'");
    } else if (key == "max_text_kib") {
      try {
        long long kib = v.as<long long>();
        if (kib < 0) fail(file, v, "approvals.max_text_kib must be a whole number of KiB (0: never include texts)");
        c.max_text_bytes = static_cast<std::size_t>(kib) << 10;
      } catch (const YAML::Exception&) {
        fail(file, v, "approvals.max_text_kib must be a whole number of KiB");
      }
    } else if (key == "rules") {
      if (!v.IsSequence()) fail(file, v, "approvals.rules must be a list");
      for (std::size_t i = 0; i < v.size(); ++i) c.rules.push_back(parse_rule(file, v[i], i));
    } else {
      fail(file, kv.first, "unknown key approvals." + key + " (mode, timeout_s, on_timeout, on_disconnect, on_dismiss, max_text_kib, rules)");
    }
  }
  return c;
}

Verdict evaluate(const PolicyConfig& policy, const Prompt& prompt) {
  for (const auto& r : policy.rules)
    if (rule_matches(r, prompt)) return {r.action, &r};
  return {};
}

}  // namespace coco::gates
