#include "gates/prompt.h"

#include "text/one_line.h"

namespace coco::gates {
namespace {

constexpr std::size_t kTitleMax = 80;
// Labels become buttons; the full text of a long one (a command prefix) is in the detail.
constexpr std::size_t kLabelMax = 60;

std::string str(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string one_line(const std::string& s) { return text::one_line(s, kTitleMax); }

// Quotes a word the POSIX shell way when it needs it, so a displayed argv reads as it would run.
std::string shell_quote(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == std::string::npos)
    return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string join_argv(const json& argv) {
  std::string out;
  if (!argv.is_array()) return out;
  for (const auto& a : argv) {
    if (!a.is_string()) continue;
    if (!out.empty()) out += ' ';
    out += shell_quote(a.get<std::string>());
  }
  return out;
}

// A code fence that cannot be closed early by the content.
std::string fenced(const std::string& body, const std::string& lang) {
  std::string fence = "```";
  while (body.find(fence) != std::string::npos) fence += '`';
  return fence + lang + "\n" + body + (body.empty() || body.back() == '\n' ? "" : "\n") + fence + "\n";
}

Option make_option(std::string id, std::string label, OptionKind kind, json answer) {
  return Option{std::move(id), text::one_line(label, kLabelMax), kind, false, std::move(answer)};
}

// Allow once / for the session / deny / cancel, answered with `{decision}` in the request's dialect
// (v2 camelCase or the legacy snake_case).
std::vector<Option> four_decisions(const char* once, const char* session, json deny, const char* cancel) {
  return {make_option("accept", "Allow once", OptionKind::AllowOnce, {{"decision", once}}),
          make_option("acceptForSession", "Allow for this session", OptionKind::AllowSession, {{"decision", session}}),
          make_option("decline", "Deny", OptionKind::Deny, {{"decision", std::move(deny)}}),
          make_option("cancel", "Deny and stop the turn", OptionKind::Cancel, {{"decision", cancel}})};
}

// The legacy requests' denial carries its reason: {"denied": {"rejection": TEXT}} (codex's
// ReviewDecision has no bare "denied"). codex_answer puts the editor's feedback there.
constexpr const char* kDefaultRejection = "The user declined.";
json legacy_denial(const std::string& rejection) { return {{"denied", {{"rejection", rejection}}}}; }
bool is_legacy(const Prompt& p) { return p.method == "execCommandApproval" || p.method == "applyPatchApproval"; }

void mark_default(Prompt& p) {
  // "Allow once" is the first, focused choice.
  for (auto& o : p.options) {
    if (o.kind == OptionKind::AllowOnce) {
      o.is_default = true;
      return;
    }
  }
  if (!p.options.empty()) p.options.front().is_default = true;
}

// --- commands --------------------------------------------------------------------------------

// The whole text of an amendment choice (its button label may be cut to kLabelMax).
std::string full_label(const json& decision) {
  if (decision.is_object() && decision.contains("acceptWithExecpolicyAmendment")) {
    const json& a = decision["acceptWithExecpolicyAmendment"];
    return "Always allow commands starting with `" + join_argv(a.is_object() ? a.value("execpolicy_amendment", json::array()) : json::array()) + "`";
  }
  if (decision.is_object() && decision.contains("applyNetworkPolicyAmendment")) {
    const json& a0 = decision["applyNetworkPolicyAmendment"];
    const json& a = a0.is_object() && a0.contains("network_policy_amendment") ? a0["network_policy_amendment"] : json::object();
    return (str(a, "action") == "allow" ? "Always allow network access to " : "Always deny network access to ") + str(a, "host");
  }
  return decision.is_string() ? decision.get<std::string>() : decision.dump();
}

Option command_option_for_decision(const json& decision, std::size_t index) {
  if (decision.is_string()) {
    std::string d = decision.get<std::string>();
    json ans = {{"decision", d}};
    if (d == "accept") return make_option("accept", "Allow once", OptionKind::AllowOnce, ans);
    if (d == "acceptForSession") return make_option("acceptForSession", "Allow for this session", OptionKind::AllowSession, ans);
    if (d == "decline") return make_option("decline", "Deny", OptionKind::Deny, ans);
    if (d == "cancel") return make_option("cancel", "Deny and stop the turn", OptionKind::Cancel, ans);
    bool allows = d.find("accept") != std::string::npos || d.find("approve") != std::string::npos;
    return make_option(d, d, allows ? OptionKind::AllowOnce : OptionKind::Deny, ans);
  }
  if (decision.is_object() && decision.contains("acceptWithExecpolicyAmendment"))
    return make_option("acceptAlways", full_label(decision), OptionKind::AllowAlways, {{"decision", decision}});
  if (decision.is_object() && decision.contains("applyNetworkPolicyAmendment")) {
    const json& a0 = decision["applyNetworkPolicyAmendment"];
    const json& a = a0.is_object() && a0.contains("network_policy_amendment") ? a0["network_policy_amendment"] : json::object();
    std::string host = str(a, "host"), action = str(a, "action");
    return make_option("network-" + action + ":" + host, full_label(decision),
                       action == "allow" ? OptionKind::AllowAlways : OptionKind::Deny, {{"decision", decision}});
  }
  return make_option("decision-" + std::to_string(index), decision.dump(), OptionKind::Deny, {{"decision", decision}});
}

void fill_command(Prompt& p, const json& params) {
  std::string command = str(params, "command");
  std::string cwd = str(params, "cwd");
  std::string reason = str(params, "reason");
  p.fields["command"] = command;
  if (!cwd.empty()) p.fields["cwd"] = cwd;
  if (!reason.empty()) p.fields["reason"] = reason;
  if (params.contains("networkApprovalContext") && !params["networkApprovalContext"].is_null())
    p.fields["network"] = params["networkApprovalContext"];

  json decisions = params.value("availableDecisions", json());
  if (!decisions.is_array() || decisions.empty()) {
    // Older servers list nothing: offer what the request makes possible.
    decisions = json::array({"accept", "acceptForSession"});
    if (params.contains("proposedExecpolicyAmendment") && params["proposedExecpolicyAmendment"].is_array() &&
        !params["proposedExecpolicyAmendment"].empty())
      decisions.push_back({{"acceptWithExecpolicyAmendment", {{"execpolicy_amendment", params["proposedExecpolicyAmendment"]}}}});
    if (params.contains("proposedNetworkPolicyAmendments") && params["proposedNetworkPolicyAmendments"].is_array())
      for (const auto& a : params["proposedNetworkPolicyAmendments"])
        decisions.push_back({{"applyNetworkPolicyAmendment", {{"network_policy_amendment", a}}}});
    decisions.push_back("decline");
    decisions.push_back("cancel");
  }
  std::vector<std::string> always;  // the "always allow" choices in full (their labels may be cut short)
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    p.options.push_back(command_option_for_decision(decisions[i], i));
    if (p.options.back().kind == OptionKind::AllowAlways) always.push_back(full_label(decisions[i]));
  }
  // codex 0.169 lists only accept, the amendment and cancel for escalation requests, yet its answer
  // type accepts (and honors) acceptForSession and decline. People need both: "for this session",
  // and "deny but let the agent go on" (decline, unlike cancel, does not end the turn).
  if (!p.find_option("acceptForSession"))
    p.options.push_back(make_option("acceptForSession", "Allow for this session", OptionKind::AllowSession, {{"decision", "acceptForSession"}}));
  if (!p.find_option("decline"))
    p.options.push_back(make_option("decline", "Deny", OptionKind::Deny, {{"decision", "decline"}}));
  std::stable_sort(p.options.begin(), p.options.end(),
                   [](const Option& a, const Option& b) { return static_cast<int>(a.kind) < static_cast<int>(b.kind); });

  p.title = one_line("Run `" + command + "`?");
  p.detail = "**Codex wants to run a command**\n\n" + fenced(command, "sh");
  if (!cwd.empty()) p.detail += "\n- Working directory: `" + cwd + "`";
  if (!reason.empty()) p.detail += "\n- Reason: " + reason;
  if (p.fields.contains("network")) p.detail += "\n- Network: `" + p.fields["network"].dump() + "`";
  for (const auto& text : always) p.detail += "\n- Option: " + text;
  p.detail += "\n";
}

void fill_legacy_command(Prompt& p, const json& params) {
  std::string command = join_argv(params.value("command", json::array()));
  std::string cwd = str(params, "cwd"), reason = str(params, "reason");
  p.fields["command"] = command;
  if (!cwd.empty()) p.fields["cwd"] = cwd;
  if (!reason.empty()) p.fields["reason"] = reason;
  p.item_id = str(params, "callId");
  p.thread_id = str(params, "conversationId");
  p.options = four_decisions("approved", "approved_for_session", legacy_denial(kDefaultRejection), "abort");
  p.title = one_line("Run `" + command + "`?");
  p.detail = "**Codex wants to run a command**\n\n" + fenced(command, "sh");
  if (!cwd.empty()) p.detail += "\n- Working directory: `" + cwd + "`";
  if (!reason.empty()) p.detail += "\n- Reason: " + reason;
  p.detail += "\n";
}

// --- file changes ----------------------------------------------------------------------------

void fill_file_change(Prompt& p, const json& params, const json& known_changes, bool legacy, const FileTexts& files) {
  json changes = json::array();
  for (const FileChange& c : parse_changes(legacy ? params.value("fileChanges", json::object()) : known_changes)) {
    DiskText before;
    if (!files.read) before.state = DiskText::State::Unreadable;
    else if (c.kind != "add") before = files.read(c.path);
    changes.push_back(describe_change(c, before, files.cwd, files.max_text_bytes));
  }
  std::string reason = str(params, "reason"), grant_root = str(params, "grantRoot");
  p.fields["changes"] = changes;
  if (!reason.empty()) p.fields["reason"] = reason;
  if (!grant_root.empty()) p.fields["grantRoot"] = grant_root;
  if (legacy) {
    p.item_id = str(params, "callId");
    p.thread_id = str(params, "conversationId");
    p.options = four_decisions("approved", "approved_for_session", legacy_denial(kDefaultRejection), "abort");
  } else {
    p.options = four_decisions("accept", "acceptForSession", "decline", "cancel");
  }
  if (changes.size() == 1) p.title = one_line("Apply changes to " + changes[0]["path"].get<std::string>() + "?");
  else if (changes.empty()) p.title = "Apply file changes?";
  else p.title = "Apply changes to " + std::to_string(changes.size()) + " files?";
  p.detail = "**Codex wants to change files**\n";
  if (!reason.empty()) p.detail += "\n- Reason: " + reason + "\n";
  if (!grant_root.empty()) p.detail += "\n- Asks for write access under `" + grant_root + "` for the session\n";
  for (const auto& c : changes) {
    std::string what = c["kind"].get<std::string>();
    if (c.contains("movePath")) what += ", moves to `" + c["movePath"].get<std::string>() + "`";
    p.detail += "\n`" + c["path"].get<std::string>() + "` (" + what + ")\n\n";
    p.detail += fenced(c["diff"].get<std::string>(), "diff");
  }
  if (changes.empty()) p.detail += "\n(the bridge saw no diff for this change)\n";
}

// --- permissions, elicitation, user input ----------------------------------------------------

void fill_permissions(Prompt& p, const json& params) {
  json requested = params.value("permissions", json::object());
  std::string reason = str(params, "reason"), cwd = str(params, "cwd");
  p.fields["permissions"] = requested;
  if (!reason.empty()) p.fields["reason"] = reason;
  if (!cwd.empty()) p.fields["cwd"] = cwd;
  // Not a decision: the answer is the granted subset and a scope; what is left out is denied.
  p.options = {make_option("accept", "Allow for this turn", OptionKind::AllowOnce, {{"permissions", requested}, {"scope", "turn"}}),
               make_option("acceptForSession", "Allow for this session", OptionKind::AllowSession,
                           {{"permissions", requested}, {"scope", "session"}}),
               make_option("decline", "Deny", OptionKind::Deny, {{"permissions", json::object()}, {"scope", "turn"}})};
  std::vector<std::string> wants;
  if (requested.contains("network") && requested["network"].is_object() &&
      requested["network"].value("enabled", json(false)) == json(true))
    wants.push_back("network access");
  if (requested.contains("fileSystem") && requested["fileSystem"].is_object()) wants.push_back("file system access");
  std::string what = wants.empty() ? "extra permissions" : wants[0] + (wants.size() > 1 ? " and " + wants[1] : "");
  p.title = one_line("Grant " + what + "?");
  p.detail = "**Codex asks for " + what + "**\n";
  if (!reason.empty()) p.detail += "\n- Reason: " + reason;
  if (!cwd.empty()) p.detail += "\n- Working directory: `" + cwd + "`";
  p.detail += "\n\n" + fenced(requested.dump(2), "json");
}

void fill_elicitation(Prompt& p, const json& params) {
  std::string server = str(params, "serverName"), message = str(params, "message"), mode = str(params, "mode");
  p.fields["serverName"] = server;
  p.fields["message"] = message;
  p.fields["mode"] = mode;
  if (mode == "url") p.fields["url"] = str(params, "url");
  if (params.contains("requestedSchema")) p.fields["requestedSchema"] = params["requestedSchema"];
  p.options = {make_option("accept", mode == "url" ? "Open and continue" : "Submit", OptionKind::AllowOnce,
                           {{"action", "accept"}, {"content", nullptr}, {"_meta", nullptr}}),
               make_option("decline", "Decline", OptionKind::Deny, {{"action", "decline"}, {"content", nullptr}, {"_meta", nullptr}}),
               make_option("cancel", "Cancel", OptionKind::Cancel, {{"action", "cancel"}, {"content", nullptr}, {"_meta", nullptr}})};
  p.title = one_line((server.empty() ? std::string("An MCP server") : server) + " asks: " + message);
  p.detail = "**MCP server `" + server + "` asks**\n\n" + message + "\n";
  if (mode == "url") p.detail += "\n- URL: " + str(params, "url") + "\n";
  if (params.contains("requestedSchema")) p.detail += "\n" + fenced(params["requestedSchema"].dump(2), "json");
}

void fill_user_input(Prompt& p, const json& params) {
  json questions = params.value("questions", json::array());
  if (!questions.is_array()) questions = json::array();  // a question list of another shape reads as none
  p.fields["questions"] = questions;
  p.options = {make_option("submit", "Answer", OptionKind::AllowOnce, {{"answers", json::object()}}),
               make_option("skip", "Skip", OptionKind::Deny, {{"answers", json::object()}})};
  std::string first = !questions.empty() ? str(questions[0], "question") : std::string();
  p.title = one_line(first.empty() ? "Codex has a question" : first);
  p.detail = "**Codex asks**\n";
  for (const auto& q : questions) {
    p.detail += "\n- " + str(q, "header") + (str(q, "header").empty() ? "" : ": ") + str(q, "question");
    if (q.contains("options") && q["options"].is_array())
      for (const auto& o : q["options"]) p.detail += "\n  - " + str(o, "label") + (str(o, "description").empty() ? "" : " — " + str(o, "description"));
  }
  p.detail += "\n";
}

}  // namespace

std::string_view to_string(GateKind kind) {
  switch (kind) {
  case GateKind::Command: return "command";
  case GateKind::FileChange: return "fileChange";
  case GateKind::Permissions: return "permissions";
  case GateKind::Elicitation: return "elicitation";
  case GateKind::UserInput: return "userInput";
  }
  return "unknown";
}

std::string_view to_string(OptionKind kind) {
  switch (kind) {
  case OptionKind::AllowOnce: return "allowOnce";
  case OptionKind::AllowSession: return "allowSession";
  case OptionKind::AllowAlways: return "allowAlways";
  case OptionKind::Deny: return "deny";
  case OptionKind::Cancel: return "cancel";
  }
  return "deny";
}

bool needs_human(std::string_view method) {
  return method == "item/commandExecution/requestApproval" || method == "item/fileChange/requestApproval" ||
         method == "item/permissions/requestApproval" || method == "mcpServer/elicitation/request" ||
         method == "item/tool/requestUserInput" || method == "execCommandApproval" || method == "applyPatchApproval";
}

const Option* Prompt::find_option(std::string_view id) const {
  for (const auto& o : options)
    if (o.id == id) return &o;
  return nullptr;
}

const Option* Prompt::first_of(OptionKind kind) const {
  for (const auto& o : options)
    if (o.kind == kind) return &o;
  return nullptr;
}

json Prompt::to_json(std::string_view gate_id) const {
  json j = {{"gateId", gate_id},     {"kind", to_string(kind)}, {"method", method},
            {"threadId", thread_id}, {"turnId", turn_id},        {"itemId", item_id},
            {"title", title},        {"detail", detail}};
  for (const auto& [k, v] : fields.items()) j[k] = v;
  json opts = json::array();
  for (const auto& o : options) {
    json oj = {{"id", o.id}, {"label", o.label}, {"kind", to_string(o.kind)}};
    if (o.is_default) oj["isDefault"] = true;
    opts.push_back(std::move(oj));
  }
  j["options"] = std::move(opts);
  return j;
}

Prompt make_prompt(std::string_view method, const json& params, const json& known_changes, const FileTexts& files) {
  Prompt p;
  p.method = std::string(method);
  p.thread_id = str(params, "threadId");
  p.turn_id = str(params, "turnId");
  p.item_id = str(params, "itemId");
  if (method == "item/commandExecution/requestApproval") {
    p.kind = GateKind::Command;
    fill_command(p, params);
  } else if (method == "execCommandApproval") {
    p.kind = GateKind::Command;
    fill_legacy_command(p, params);
  } else if (method == "item/fileChange/requestApproval") {
    p.kind = GateKind::FileChange;
    fill_file_change(p, params, known_changes, false, files);
  } else if (method == "applyPatchApproval") {
    p.kind = GateKind::FileChange;
    fill_file_change(p, params, nullptr, true, files);
  } else if (method == "item/permissions/requestApproval") {
    p.kind = GateKind::Permissions;
    fill_permissions(p, params);
  } else if (method == "mcpServer/elicitation/request") {
    p.kind = GateKind::Elicitation;
    fill_elicitation(p, params);
  } else {
    p.kind = GateKind::UserInput;
    fill_user_input(p, params);
  }
  mark_default(p);
  return p;
}

json codex_answer(const Prompt& prompt, const Option& option, const json& answers, const std::string& feedback) {
  json answer = option.answer;
  if (is_legacy(prompt) && option.kind == OptionKind::Deny && !feedback.empty()) answer["decision"] = legacy_denial(feedback);
  if (prompt.kind == GateKind::UserInput && option.kind == OptionKind::AllowOnce && answers.is_object()) {
    // Accept {qid: "text"} or {qid: ["a", "b"]} or codex's own {qid: {answers: [...]}}.
    json out = json::object();
    for (const auto& [qid, a] : answers.items()) {
      if (a.is_object() && a.contains("answers")) out[qid] = a;
      else if (a.is_array()) out[qid] = {{"answers", a}};
      else if (a.is_string()) out[qid] = {{"answers", json::array({a})}};
    }
    answer["answers"] = std::move(out);
  } else if (prompt.kind == GateKind::Elicitation && option.kind == OptionKind::AllowOnce && !answers.is_null()) {
    answer["content"] = answers;
  }
  return answer;
}

}  // namespace coco::gates
