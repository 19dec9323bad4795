#include "acp/translate.h"

#include "gates/answer.h"
#include "gates/shell_words.h"
#include "protocol/json_fields.h"
#include "text/one_line.h"

#include <algorithm>
#include <set>

namespace coco::acp {
using protocol::find_member;
using protocol::string_member;

namespace {

constexpr std::size_t kTitleMax = 120;

const json& arr(const json& obj, const char* key) {
  static const json kEmpty = json::array();
  const json* v = find_member(obj, key);
  return v && v->is_array() ? *v : kEmpty;
}

json location(const std::string& path) { return {{"path", path}}; }

// A file path on one line for a title: relative paths stay as they are, absolute ones too (ACP wants
// absolute paths in locations; titles are for people).
std::string short_path(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Cuts `text` to at most `max_bytes` from its end, on a UTF-8 boundary.
std::string_view utf8_tail(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t start = text.size() - max_bytes;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return text.substr(start);
}

std::string_view permission_kind(const gates::Option& o) {
  switch (o.kind) {
  case gates::OptionKind::AllowOnce: return "allow_once";
  case gates::OptionKind::AllowSession:
  case gates::OptionKind::AllowAlways: return "allow_always";
  case gates::OptionKind::Deny:
    // A network amendment that denies a host for good is the one standing denial codex offers.
    return o.id.rfind("network-deny:", 0) == 0 ? "reject_always" : "reject_once";
  case gates::OptionKind::Cancel: return "reject_once";
  }
  return "reject_once";
}

// A question with a single list of choices (codex's request_user_input with one question): each
// choice can be an option of its own.
const json* single_question_with_choices(const gates::Prompt& p) {
  if (p.kind != gates::GateKind::UserInput) return nullptr;
  const json* questions = find_member(p.fields, "questions");
  if (!questions || !questions->is_array() || questions->size() != 1) return nullptr;
  const json& q = (*questions)[0];
  const json& options = arr(q, "options");
  if (options.empty() || string_member(q, "id").empty()) return nullptr;
  return &q;
}

constexpr std::string_view kChoicePrefix = "choice-";

json gate_kind_meta(const gates::Prompt& p, std::string_view gate_id) {
  return {{"coco", {{"gateId", gate_id}, {"kind", gates::to_string(p.kind)}, {"title", p.title}, {"detail", p.detail}}}};
}

std::string_view gate_tool_kind(const gates::Prompt& p) {
  switch (p.kind) {
  case gates::GateKind::Command: return command_kind(p.fields.value("commandActions", json::array()));
  case gates::GateKind::FileChange: return "edit";
  case gates::GateKind::Permissions: return "other";
  case gates::GateKind::Elicitation: return "fetch";
  case gates::GateKind::UserInput: return "think";
  }
  return "other";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Tool calls

std::string_view command_kind(const json& command_actions) {
  if (!command_actions.is_array() || command_actions.empty()) return "execute";
  bool all_read = true, all_search = true;
  for (const auto& a : command_actions) {
    std::string type = string_member(a, "type");
    all_read = all_read && type == "read";
    all_search = all_search && (type == "search" || type == "listFiles");
  }
  if (all_read) return "read";
  if (all_search) return "search";
  return "execute";
}

std::string command_title(const json& item) {
  std::string command = string_member(item, "command");
  gates::ShellWords words = gates::split_shell_words(command);
  if (words.words.size() == 3 && !words.compound) {
    std::string shell = short_path(words.words[0]);
    if ((shell == "bash" || shell == "sh" || shell == "zsh") && (words.words[1] == "-lc" || words.words[1] == "-c"))
      command = words.words[2];
  }
  return text::one_line(command, kTitleMax);
}

std::string_view tool_status(std::string_view codex_status) {
  if (codex_status == "completed") return "completed";
  if (codex_status == "failed" || codex_status == "declined") return "failed";
  return "in_progress";
}

json tool_call(const json& item, const json& content) {
  std::string type = string_member(item, "type"), id = string_member(item, "id");
  if (id.empty()) return nullptr;
  json u = {{"sessionUpdate", "tool_call"}, {"toolCallId", id}, {"status", tool_status(string_member(item, "status"))}};
  json locations = json::array();
  if (type == "commandExecution") {
    const json& actions = arr(item, "commandActions");
    u["title"] = command_title(item);
    u["kind"] = command_kind(actions);
    u["rawInput"] = {{"command", string_member(item, "command")}, {"cwd", string_member(item, "cwd")}, {"commandActions", actions}};
    for (const auto& a : actions) {
      std::string path = string_member(a, "path");
      if (path.empty()) continue;
      // Read actions name the file relative to the command's directory; ACP wants absolute paths.
      if (path.front() != '/' && !string_member(item, "cwd").empty()) path = string_member(item, "cwd") + "/" + path;
      locations.push_back(location(path));
    }
  } else if (type == "fileChange") {
    const json& changes = arr(item, "changes");
    std::vector<std::string> names;
    for (const auto& c : changes) {
      std::string path = string_member(c, "path");
      if (path.empty()) continue;
      names.push_back(short_path(path));
      locations.push_back(location(path));
      if (const json* kind = find_member(c, "kind"); kind && !string_member(*kind, "move_path").empty())
        locations.push_back(location(string_member(*kind, "move_path")));
    }
    std::string title = "Edit";
    for (std::size_t i = 0; i < names.size() && i < 3; ++i) title += (i ? ", " : " ") + names[i];
    if (names.size() > 3) title += " and " + std::to_string(names.size() - 3) + " more";
    u["title"] = title;
    u["kind"] = "edit";
    u["rawInput"] = {{"changes", changes}};
  } else if (type == "mcpToolCall") {
    u["title"] = string_member(item, "server") + "." + string_member(item, "tool");
    u["kind"] = "other";
    u["rawInput"] = item.value("arguments", json());
  } else if (type == "dynamicToolCall") {
    u["title"] = string_member(item, "tool");
    u["kind"] = "other";
    u["rawInput"] = item.value("arguments", json());
  } else if (type == "webSearch") {
    std::string query = string_member(item, "query");
    u["title"] = text::one_line(query.empty() ? std::string("Web search") : "Search the web: " + query, kTitleMax);
    u["kind"] = "fetch";
    u["rawInput"] = {{"query", query}, {"action", item.value("action", json())}};
  } else if (type == "imageView") {
    std::string path = string_member(item, "path");
    u["title"] = "View image " + short_path(path);
    u["kind"] = "read";
    if (!path.empty()) locations.push_back(location(path));
    u["rawInput"] = {{"path", path}};
  } else if (type == "collabAgentToolCall") {
    u["title"] = "Agent: " + string_member(item, "tool");
    u["kind"] = "other";
    u["rawInput"] = {{"tool", item.value("tool", json())}, {"prompt", item.value("prompt", json())}};
  } else {
    return nullptr;
  }
  if (!locations.empty()) u["locations"] = std::move(locations);
  if (content.is_array() && !content.empty()) u["content"] = content;
  return u;
}

json tool_call_completed(const json& item, const json& content, std::size_t max_output_bytes) {
  std::string type = string_member(item, "type"), id = string_member(item, "id");
  json u = {{"sessionUpdate", "tool_call_update"}, {"toolCallId", id}, {"status", tool_status(string_member(item, "status"))}};
  json out_content = content.is_array() ? content : json::array();
  if (type == "commandExecution") {
    std::string output = string_member(item, "aggregatedOutput");
    if (!output.empty()) out_content = json::array({output_content(output, max_output_bytes, output.size())});
    json raw = {{"exitCode", item.value("exitCode", json())}, {"durationMs", item.value("durationMs", json())}};
    if (string_member(item, "status") == "declined") raw["declined"] = true;
    u["rawOutput"] = raw;
  } else if (type == "mcpToolCall") {
    const json* result = find_member(item, "result");
    if (result) {
      for (const auto& block : arr(*result, "content"))
        if (string_member(block, "type") == "text") out_content.push_back(text_content(string_member(block, "text")));
      u["rawOutput"] = *result;
    }
    if (const json* error = find_member(item, "error")) {
      out_content.push_back(text_content(string_member(*error, "message")));
      u["rawOutput"] = {{"error", *error}};
    }
  } else if (type == "dynamicToolCall") {
    for (const auto& block : arr(item, "contentItems"))
      if (string_member(block, "type") == "inputText") out_content.push_back(text_content(string_member(block, "text")));
  }
  if (!out_content.empty()) u["content"] = std::move(out_content);
  return u;
}

json diff_content(const json& c) {
  std::string path = string_member(c, "path");
  if (c.value("textsOmitted", false) || !find_member(c, "newText") && string_member(c, "kind") != "delete") {
    return text_content("`" + path + "`: " + string_member(c, "omittedReason") + "\n\n```diff\n" + string_member(c, "diff") + "```\n");
  }
  json d = {{"type", "diff"}, {"path", path}, {"newText", string_member(c, "newText")}};  // a delete: "" after
  const json* old_text = find_member(c, "oldText");
  d["oldText"] = old_text && old_text->is_string() ? *old_text : json(nullptr);
  if (!string_member(c, "movePath").empty()) d["_meta"] = {{"coco", {{"movePath", string_member(c, "movePath")}}}};
  return d;
}

json text_content(std::string text) {
  return {{"type", "content"}, {"content", {{"type", "text"}, {"text", std::move(text)}}}};
}

json output_content(std::string_view output, std::size_t max_bytes, std::size_t total_bytes) {
  std::string body = output_tail(output, max_bytes, total_bytes);
  // A fence the output cannot close early, so that it shows as it was printed.
  std::string fence = "```";
  while (body.find(fence) != std::string::npos) fence += '`';
  if (!body.empty() && body.back() != '\n') body += '\n';
  return text_content(fence + "\n" + body + fence);
}

std::string output_tail(std::string_view text, std::size_t max_bytes, std::size_t total_bytes) {
  std::string_view tail = utf8_tail(text, max_bytes);
  std::size_t omitted = total_bytes - tail.size();
  if (omitted == 0) return std::string(tail);
  return "[" + std::to_string(omitted) + " bytes of earlier output not shown]\n" + std::string(tail);
}

// ---------------------------------------------------------------------------------------------
// Other updates

json plan_update(const json& params) {
  json entries = json::array();
  for (const auto& step : arr(params, "plan")) {
    std::string status = string_member(step, "status");
    entries.push_back({{"content", string_member(step, "step")},
                       {"priority", "medium"},
                       {"status", status == "inProgress" ? "in_progress" : status == "completed" ? "completed" : "pending"}});
  }
  return {{"sessionUpdate", "plan"}, {"entries", entries}};
}

std::optional<json> usage_update(const json& params) {
  const json* usage = find_member(params, "tokenUsage");
  if (!usage) return std::nullopt;
  const json* window = find_member(*usage, "modelContextWindow");
  const json* last = find_member(*usage, "last");
  if (!window || !window->is_number_integer() || !last) return std::nullopt;
  const json* used = find_member(*last, "totalTokens");
  if (!used || !used->is_number_integer()) return std::nullopt;
  return json{{"sessionUpdate", "usage_update"}, {"used", *used}, {"size", *window}};
}

std::string item_text(const json& item) {
  std::string type = string_member(item, "type");
  if (type == "agentMessage") return string_member(item, "text");
  if (type != "reasoning") return {};
  std::string out;
  const json& parts = arr(item, "summary").empty() ? arr(item, "content") : arr(item, "summary");
  for (const auto& p : parts) {
    if (!p.is_string()) continue;
    if (!out.empty()) out += "\n\n";
    out += p.get<std::string>();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Turns

PromptEnd prompt_end(const json& turn, bool cancel_requested) {
  if (cancel_requested) return {"cancelled", nullptr};
  std::string status = string_member(turn, "status");
  if (status == "completed") return {"end_turn", nullptr};
  if (status == "interrupted") return {"cancelled", nullptr};
  const json* error = find_member(turn, "error");
  json info = error ? error->value("codexErrorInfo", json()) : json();
  std::string code = info.is_string() ? info.get<std::string>() : std::string();
  if (code == "contextWindowExceeded") return {"max_tokens", nullptr};
  if (code == "cyberPolicy" || code == "misalignmentPolicyViolation") return {"refusal", nullptr};
  std::string message = error ? string_member(*error, "message") : std::string();
  json data = {{"turnStatus", status}};
  if (error) data["codexError"] = *error;
  return {"", {{"code", -32603}, {"message", message.empty() ? "the turn failed" : message}, {"data", data}}};
}

CodexInput codex_input(const json& prompt) {
  CodexInput out;
  if (!prompt.is_array()) {
    out.problem = "prompt must be an array of content blocks";
    return out;
  }
  auto text = [&](std::string t) {
    if (out.first_text.empty() && t.find_first_not_of(" \t\r\n") != std::string::npos) out.first_text = t;
    out.input.push_back({{"type", "text"}, {"text", std::move(t)}, {"text_elements", json::array()}});
  };
  for (const auto& block : prompt) {
    std::string type = string_member(block, "type");
    if (type == "text") {
      text(string_member(block, "text"));
    } else if (type == "image") {
      std::string data = string_member(block, "data"), mime = string_member(block, "mimeType");
      if (data.empty() || mime.empty()) {
        out.problem = "an image block needs data and mimeType";
        return out;
      }
      out.input.push_back({{"type", "image"}, {"url", "data:" + mime + ";base64," + data}});
    } else if (type == "resource_link") {
      // The model reads files itself: name the file so that it can.
      std::string uri = string_member(block, "uri"), name = string_member(block, "name");
      text("[@" + (name.empty() ? uri : name) + "](" + uri + ")");
    } else if (type == "resource") {
      const json* res = find_member(block, "resource");
      if (!res || !find_member(*res, "text")) {
        out.problem = "embedded resources must be text (a blob resource is not supported)";
        return out;
      }
      std::string uri = string_member(*res, "uri");
      text("<context ref=\"" + uri + "\">\n" + string_member(*res, "text") + "\n</context>");
    } else {
      out.problem = "content blocks of type '" + type + "' are not supported (text, image, resource_link, resource)";
      return out;
    }
  }
  if (out.input.empty()) out.problem = "the prompt is empty";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Permission requests

std::string gate_tool_call_id(const gates::Prompt& p, std::string_view gate_id) {
  return p.item_id.empty() ? "coco-gate-" + std::string(gate_id) : p.item_id;
}

json gate_tool_call(const gates::Prompt& p, std::string_view gate_id) {
  return {{"sessionUpdate", "tool_call"},
          {"toolCallId", gate_tool_call_id(p, gate_id)},
          {"title", p.title},
          {"kind", gate_tool_kind(p)},
          {"status", "pending"},
          {"content", json::array({text_content(p.detail)})},
          {"rawInput", p.fields}};
}

json permission_request(const gates::Prompt& p, std::string_view gate_id, std::string_view session_id,
                        bool tool_call_announced) {
  json options = json::array();
  const json* question = single_question_with_choices(p);
  if (question) {
    const json& choices = arr(*question, "options");
    for (std::size_t i = 0; i < choices.size(); ++i) {
      std::string label = string_member(choices[i], "label");
      options.push_back({{"optionId", std::string(kChoicePrefix) + std::to_string(i)},
                         {"name", label},
                         {"kind", "allow_once"},
                         {"_meta", {{"coco", {{"optionId", "submit"}, {"answers", {{string_member(*question, "id"), {label}}}}}}}}});
    }
  }
  for (const auto& o : p.options) {
    if (question && o.kind == gates::OptionKind::AllowOnce) continue;  // the choices stand for "submit"
    json meta = {{"optionId", o.id}, {"optionKind", gates::to_string(o.kind)}, {"decision", o.answer}};
    options.push_back({{"optionId", o.id}, {"name", o.label}, {"kind", permission_kind(o)}, {"_meta", {{"coco", meta}}}});
  }

  json tool = {{"toolCallId", gate_tool_call_id(p, gate_id)}, {"status", "pending"}};
  if (!tool_call_announced) tool["title"] = p.title;
  if (p.kind == gates::GateKind::FileChange) {
    json content = json::array();
    for (const auto& c : arr(p.fields, "changes")) content.push_back(diff_content(c));
    if (!content.empty()) tool["content"] = std::move(content);
  }
  return {{"sessionId", session_id}, {"toolCall", tool}, {"options", options}, {"_meta", gate_kind_meta(p, gate_id)}};
}

PermissionAnswer read_permission_answer(const gates::Prompt& p, const json& result) {
  PermissionAnswer a;
  const json* outcome = find_member(result, "outcome");
  std::string kind = outcome ? string_member(*outcome, "outcome") : std::string();
  if (kind == "cancelled") {
    a.kind = PermissionAnswer::Kind::Cancelled;
    return a;
  }
  if (kind != "selected") {
    a.problem = "the answer must be {outcome: {outcome: \"selected\", optionId} | {outcome: \"cancelled\"}}";
    return a;
  }
  std::string option_id = string_member(*outcome, "optionId");
  json value = {{"optionId", option_id}};
  if (option_id.rfind(kChoicePrefix, 0) == 0) {
    const json* question = single_question_with_choices(p);
    std::size_t index = 0;
    try {
      index = std::stoul(option_id.substr(kChoicePrefix.size()));
    } catch (const std::exception&) {
      question = nullptr;
    }
    if (!question || index >= arr(*question, "options").size()) {
      a.problem = "no option '" + option_id + "'";
      return a;
    }
    value = {{"optionId", "submit"}, {"answers", {{string_member(*question, "id"), {string_member(arr(*question, "options")[index], "label")}}}}};
  }
  // Coco's extension: a reason for a denial, passed on to the running turn (docs/acp.md).
  if (const json* meta = find_member(result, "_meta"); meta && find_member(*meta, "coco")) {
    std::string feedback = string_member((*meta)["coco"], "feedback");
    if (!feedback.empty()) value["feedback"] = feedback;
  }
  auto parsed = gates::parse_answer(p, value);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    a.problem = *problem;
    return a;
  }
  a.kind = PermissionAnswer::Kind::Selected;
  a.value = std::move(value);
  return a;
}

// ---------------------------------------------------------------------------------------------
// session/load

namespace {

bool is_session_message(const json& msg, const char* method, std::string_view session_id) {
  if (string_member(msg, "method") != method) return false;
  const json* params = find_member(msg, "params");
  return params && string_member(*params, "sessionId") == session_id;
}

// The replay mark of a recorded update (_meta.coco.replay), or nullopt for a live one.
std::optional<std::int64_t> replay_mark_of(const json& params) {
  const json* meta = find_member(params, "_meta");
  const json* coco = meta ? find_member(*meta, "coco") : nullptr;
  const json* mark = coco ? find_member(*coco, "replay") : nullptr;
  if (!mark || !mark->is_number_integer()) return std::nullopt;
  return mark->get<std::int64_t>();
}

}  // namespace

std::vector<json> replay_updates(const std::vector<std::vector<json>>& recordings, std::string_view session_id,
                                 std::int64_t replay_mark) {
  std::vector<json> history;  // the `update` objects, in order
  for (const auto& records : recordings) {
    // Where this log's last replay of the session starts and ends (it holds all history before it).
    std::optional<std::int64_t> last_mark;
    for (const auto& r : records) {
      if (string_member(r, "dir") != "bridge->editor") continue;
      const json* msg = find_member(r, "msg");
      if (msg && is_session_message(*msg, "session/update", session_id))
        if (auto m = replay_mark_of((*msg)["params"])) last_mark = m;
    }
    // Prompts refused before they reached codex (no such session, bad content, one already running)
    // were never part of the conversation: their answers are errors of those kinds.
    std::set<std::string> refused;
    for (const auto& r : records) {
      const json* msg = find_member(r, "msg");
      if (!msg || string_member(r, "dir") != "bridge->editor" || !find_member(*msg, "id") || find_member(*msg, "method")) continue;
      const json* error = find_member(*msg, "error");
      const json* code = error ? find_member(*error, "code") : nullptr;
      if (code && (*code == json(error_code::kResourceNotFound) || *code == json(-32602) || *code == json(-32600)))
        refused.insert((*msg)["id"].dump());
    }
    bool after_last_replay = !last_mark;
    if (last_mark) history.clear();
    bool in_last_replay = false;
    for (const auto& r : records) {
      const json* msg = find_member(r, "msg");
      if (!msg) continue;
      std::string dir = string_member(r, "dir");
      if (dir == "bridge->editor" && is_session_message(*msg, "session/update", session_id)) {
        const json& params = (*msg)["params"];
        auto mark = replay_mark_of(params);
        if (mark && mark == last_mark) {
          in_last_replay = true;
          if (const json* u = find_member(params, "update")) history.push_back(*u);
          continue;
        }
        if (in_last_replay) {
          in_last_replay = false;
          after_last_replay = true;
        }
        if (!mark && after_last_replay)
          if (const json* u = find_member(params, "update")) history.push_back(*u);
      } else if (dir == "editor->bridge" && is_session_message(*msg, "session/prompt", session_id)) {
        if (in_last_replay) {
          in_last_replay = false;
          after_last_replay = true;
        }
        if (!after_last_replay || (find_member(*msg, "id") && refused.count((*msg)["id"].dump()))) continue;
        for (const auto& block : arr((*msg)["params"], "prompt"))
          history.push_back({{"sessionUpdate", "user_message_chunk"}, {"content", block}});
      }
    }
  }
  std::vector<json> out;
  out.reserve(history.size());
  for (auto& u : history)
    out.push_back({{"sessionId", session_id}, {"update", std::move(u)}, {"_meta", {{"coco", {{"replay", replay_mark}}}}}});
  return out;
}

}  // namespace coco::acp
