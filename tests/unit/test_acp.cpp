// The Agent Client Protocol mapping (acp/): codex items, turns and gates in ACP's words and back,
// modes and config options, and the replay of recorded sessions.
#include "acp/session_config.h"
#include "acp/translate.h"
#include "gates/prompt.h"

#include <doctest/doctest.h>

using namespace coco;
using json = nlohmann::json;

namespace {

json command_item(const std::string& command, json actions, const std::string& status = "inProgress") {
  return {{"type", "commandExecution"}, {"id", "call_1"}, {"command", command}, {"cwd", "/p"},
          {"commandActions", std::move(actions)}, {"status", status}};
}

gates::Prompt command_prompt() {
  json params = {{"threadId", "th"}, {"turnId", "tu"}, {"itemId", "call_1"}, {"command", "/bin/bash -lc 'touch x'"},
                 {"cwd", "/p"}, {"reason", "why"}};
  params["availableDecisions"] = json::array(
      {"accept", {{"acceptWithExecpolicyAmendment", {{"execpolicy_amendment", {"touch"}}}}},
       {{"applyNetworkPolicyAmendment", {{"network_policy_amendment", {{"host", "evil.example"}, {"action", "deny"}}}}}},
       "cancel"});
  return gates::make_prompt("item/commandExecution/requestApproval", params);
}

json option(const json& request, const std::string& id) {
  for (const auto& o : request["options"])
    if (o["optionId"] == id) return o;
  return nullptr;
}

json record(const std::string& dir, json msg) { return {{"dir", dir}, {"msg", std::move(msg)}}; }
json update_msg(const std::string& sid, json update, json meta = nullptr) {
  json params = {{"sessionId", sid}, {"update", std::move(update)}};
  if (!meta.is_null()) params["_meta"] = meta;
  return {{"method", "session/update"}, {"params", params}};
}
json chunk(const std::string& text) { return {{"sessionUpdate", "agent_message_chunk"}, {"content", {{"type", "text"}, {"text", text}}}}; }
json prompt_msg(int id, const std::string& sid, const std::string& text) {
  return {{"id", id}, {"method", "session/prompt"}, {"params", {{"sessionId", sid}, {"prompt", {{{"type", "text"}, {"text", text}}}}}}};
}
std::vector<std::string> texts(const std::vector<json>& replay) {
  std::vector<std::string> out;
  for (const auto& n : replay) out.push_back(n["update"]["sessionUpdate"].get<std::string>() + ":" + n["update"]["content"]["text"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("a command's tool kind comes from codex's reading of it") {
  CHECK(acp::command_kind(json::array({{{"type", "read"}, {"path", "a"}}})) == "read");
  CHECK(acp::command_kind(json::array({{{"type", "search"}}, {{"type", "listFiles"}}})) == "search");
  CHECK(acp::command_kind(json::array({{{"type", "read"}}, {{"type", "unknown"}}})) == "execute");
  CHECK(acp::command_kind(json::array()) == "execute");
  CHECK(acp::command_kind(nullptr) == "execute");
}

TEST_CASE("a command's title is the script, without codex's shell wrapper") {
  CHECK(acp::command_title(command_item("/bin/bash -lc 'echo hi > x.txt'", json::array())) == "echo hi > x.txt");
  CHECK(acp::command_title(command_item("zsh -c 'ls -l'", json::array())) == "ls -l");
  CHECK(acp::command_title(command_item("ls -l", json::array())) == "ls -l");
  // Not a plain wrapper: shown as it runs.
  CHECK(acp::command_title(command_item("/bin/bash -lc 'a' ; rm x", json::array())) == "/bin/bash -lc 'a' ; rm x");
}

TEST_CASE("codex item statuses map to ACP tool call statuses") {
  CHECK(acp::tool_status("inProgress") == "in_progress");
  CHECK(acp::tool_status("completed") == "completed");
  CHECK(acp::tool_status("failed") == "failed");
  CHECK(acp::tool_status("declined") == "failed");
}

TEST_CASE("tool calls for codex items: commands, file changes, searches; none for messages") {
  json read = acp::tool_call(command_item("/bin/bash -lc 'cat src/a.c'", json::array({{{"type", "read"}, {"path", "src/a.c"}, {"name", "a.c"}}})));
  CHECK(read["sessionUpdate"] == "tool_call");
  CHECK(read["toolCallId"] == "call_1");
  CHECK(read["kind"] == "read");
  CHECK(read["status"] == "in_progress");
  CHECK(read["title"] == "cat src/a.c");
  CHECK(read["locations"] == json::array({{{"path", "/p/src/a.c"}}}));  // made absolute
  CHECK(read["rawInput"]["command"] == "/bin/bash -lc 'cat src/a.c'");

  json change = {{"type", "fileChange"}, {"id", "call_p"}, {"status", "inProgress"},
                 {"changes", {{{"path", "/p/a.txt"}, {"kind", {{"type", "update"}, {"move_path", "/p/b.txt"}}}, {"diff", "@@"}}}}};
  json diff = json::array({{{"type", "diff"}, {"path", "/p/a.txt"}, {"oldText", "x"}, {"newText", "y"}}});
  json edit = acp::tool_call(change, diff);
  CHECK(edit["kind"] == "edit");
  CHECK(edit["title"] == "Edit a.txt");
  CHECK(edit["content"] == diff);
  CHECK(edit["locations"] == json::array({{{"path", "/p/a.txt"}}, {{"path", "/p/b.txt"}}}));

  json search = acp::tool_call({{"type", "webSearch"}, {"id", "ws_1"}, {"query", "acp schema"}});
  CHECK(search["kind"] == "fetch");
  CHECK(search["title"] == "Search the web: acp schema");

  CHECK(acp::tool_call({{"type", "agentMessage"}, {"id", "msg_1"}, {"text", "hi"}}).is_null());
  CHECK(acp::tool_call({{"type", "reasoning"}, {"id", "rs_1"}}).is_null());
}

TEST_CASE("a completed command carries its output (bounded), exit code, and whether it was declined") {
  json item = command_item("/bin/bash -lc 'seq 5'", json::array(), "completed");
  item["aggregatedOutput"] = "1\n2\n3\n4\n5\n";
  item["exitCode"] = 0;
  item["durationMs"] = 12;
  json u = acp::tool_call_completed(item, json::array(), 1 << 16);
  CHECK(u["sessionUpdate"] == "tool_call_update");
  CHECK(u["status"] == "completed");
  CHECK(u["rawOutput"]["exitCode"] == 0);
  CHECK(u["content"][0]["content"]["text"] == "```\n1\n2\n3\n4\n5\n```");

  json cut = acp::tool_call_completed(item, json::array(), 4);
  CHECK(cut["content"][0]["content"]["text"] == "```\n[6 bytes of earlier output not shown]\n4\n5\n```");

  json declined = command_item("x", json::array(), "declined");
  json d = acp::tool_call_completed(declined, json::array(), 100);
  CHECK(d["status"] == "failed");
  CHECK(d["rawOutput"]["declined"] == true);
  CHECK_FALSE(d.contains("content"));
}

TEST_CASE("output tails are cut on a UTF-8 boundary and say what they left out") {
  std::string text = "ab\xc3\xa9z";  // "abéz"
  CHECK(acp::output_tail(text, 3, text.size()) == "[2 bytes of earlier output not shown]\n\xc3\xa9z");
  CHECK(acp::output_tail(text, 2, text.size()) == "[4 bytes of earlier output not shown]\nz");
  CHECK(acp::output_tail(text, 10, text.size()) == text);
  // An output that would close the fence early gets a longer one.
  CHECK(acp::output_content("```\n", 100, 4)["content"]["text"] == "````\n```\n````");
}

TEST_CASE("a described file change is a diff with the texts before and after, or the unified diff as text") {
  json add = acp::diff_content({{"path", "/p/n.txt"}, {"kind", "add"}, {"oldText", nullptr}, {"newText", "hi\n"}, {"diff", "+hi"}});
  CHECK(add == json{{"type", "diff"}, {"path", "/p/n.txt"}, {"oldText", nullptr}, {"newText", "hi\n"}});
  json del = acp::diff_content({{"path", "/p/d.txt"}, {"kind", "delete"}, {"oldText", "bye\n"}, {"newText", nullptr}, {"diff", "-bye"}});
  CHECK(del["oldText"] == "bye\n");
  CHECK(del["newText"] == "");
  json big = acp::diff_content({{"path", "/p/big"}, {"kind", "update"}, {"textsOmitted", true},
                                {"omittedReason", "the file is larger than approvals.max_text_kib"}, {"diff", "--- a\n+++ b\n@@\n"}});
  CHECK(big["type"] == "content");
  CHECK(big["content"]["text"].get<std::string>().find("```diff\n--- a") != std::string::npos);
}

TEST_CASE("plans, usage and item texts") {
  json plan = acp::plan_update({{"plan", {{{"step", "a"}, {"status", "completed"}}, {{"step", "b"}, {"status", "inProgress"}},
                                          {{"step", "c"}, {"status", "pending"}}}}});
  CHECK(plan["sessionUpdate"] == "plan");
  CHECK(plan["entries"][0] == json{{"content", "a"}, {"priority", "medium"}, {"status", "completed"}});
  CHECK(plan["entries"][1]["status"] == "in_progress");
  CHECK(plan["entries"][2]["status"] == "pending");

  json usage = {{"tokenUsage", {{"last", {{"totalTokens", 120}}}, {"total", {{"totalTokens", 900}}}, {"modelContextWindow", 1000}}}};
  CHECK(*acp::usage_update(usage) == json{{"sessionUpdate", "usage_update"}, {"used", 120}, {"size", 1000}});
  usage["tokenUsage"]["modelContextWindow"] = nullptr;
  CHECK_FALSE(acp::usage_update(usage).has_value());  // ACP requires the size

  CHECK(acp::item_text({{"type", "reasoning"}, {"summary", {"one", "two"}}, {"content", json::array()}}) == "one\n\ntwo");
  CHECK(acp::item_text({{"type", "reasoning"}, {"summary", json::array()}, {"content", {"raw"}}}) == "raw");
  CHECK(acp::item_text({{"type", "agentMessage"}, {"text", "hello"}}) == "hello");
}

TEST_CASE("how a prompt ends: stop reasons from codex's turn, cancelled whenever the client cancelled") {
  CHECK(acp::prompt_end({{"status", "completed"}}, false).stop_reason == "end_turn");
  CHECK(acp::prompt_end({{"status", "interrupted"}}, false).stop_reason == "cancelled");
  CHECK(acp::prompt_end({{"status", "completed"}}, true).stop_reason == "cancelled");
  CHECK(acp::prompt_end({{"status", "failed"}, {"error", {{"message", "x"}, {"codexErrorInfo", "contextWindowExceeded"}}}}, false)
            .stop_reason == "max_tokens");
  CHECK(acp::prompt_end({{"status", "failed"}, {"error", {{"message", "x"}, {"codexErrorInfo", "cyberPolicy"}}}}, false)
            .stop_reason == "refusal");
  acp::PromptEnd failed = acp::prompt_end({{"status", "failed"}, {"error", {{"message", "boom"}, {"codexErrorInfo", "other"}}}}, false);
  CHECK(failed.stop_reason.empty());
  CHECK(failed.error["code"] == -32603);
  CHECK(failed.error["message"] == "boom");
  CHECK(failed.error["data"]["codexError"]["codexErrorInfo"] == "other");
}

TEST_CASE("an ACP prompt becomes codex input") {
  json prompt = json::array({{{"type", "text"}, {"text", "  "}},
                             {{"type", "text"}, {"text", "Fix it"}},
                             {{"type", "image"}, {"data", "AAAA"}, {"mimeType", "image/png"}},
                             {{"type", "resource_link"}, {"uri", "file:///p/a.c"}, {"name", "a.c"}},
                             {{"type", "resource"}, {"resource", {{"uri", "file:///p/b.c"}, {"text", "int b;"}}}}});
  acp::CodexInput in = acp::codex_input(prompt);
  REQUIRE(in.problem.empty());
  CHECK(in.first_text == "Fix it");
  CHECK(in.input[1] == json{{"type", "text"}, {"text", "Fix it"}, {"text_elements", json::array()}});
  CHECK(in.input[2] == json{{"type", "image"}, {"url", "data:image/png;base64,AAAA"}});
  CHECK(in.input[3]["text"] == "[@a.c](file:///p/a.c)");
  CHECK(in.input[4]["text"] == "<context ref=\"file:///p/b.c\">\nint b;\n</context>");

  CHECK_FALSE(acp::codex_input(json::array({{{"type", "audio"}, {"data", "x"}, {"mimeType", "audio/wav"}}})).problem.empty());
  CHECK_FALSE(acp::codex_input(json::array({{{"type", "resource"}, {"resource", {{"uri", "x"}, {"blob", "AA"}}}}})).problem.empty());
  CHECK_FALSE(acp::codex_input(json::array()).problem.empty());
  CHECK_FALSE(acp::codex_input("text").problem.empty());
}

TEST_CASE("a gate is a permission request with every codex choice, each with its exact decision") {
  gates::Prompt p = command_prompt();
  json r = acp::permission_request(p, "g1", "th", true);
  CHECK(r["sessionId"] == "th");
  CHECK(r["toolCall"] == json{{"toolCallId", "call_1"}, {"status", "pending"}});  // announced: no title
  CHECK(r["_meta"]["coco"]["gateId"] == "g1");
  CHECK(r["_meta"]["coco"]["kind"] == "command");
  std::vector<std::string> ids, kinds;
  for (const auto& o : r["options"]) {
    ids.push_back(o["optionId"]);
    kinds.push_back(o["kind"]);
  }
  // The gate's order (allow once first); the first reject_once is "decline", which lets the turn go on.
  CHECK(ids == std::vector<std::string>{"accept", "acceptForSession", "acceptAlways", "network-deny:evil.example", "decline", "cancel"});
  CHECK(kinds == std::vector<std::string>{"allow_once", "allow_always", "allow_always", "reject_always", "reject_once", "reject_once"});
  CHECK(option(r, "decline")["_meta"]["coco"]["decision"] == json{{"decision", "decline"}});
  CHECK(option(r, "cancel")["_meta"]["coco"]["decision"] == json{{"decision", "cancel"}});
  CHECK(option(r, "acceptAlways")["_meta"]["coco"]["decision"]["decision"]["acceptWithExecpolicyAmendment"]["execpolicy_amendment"] ==
        json::array({"touch"}));
  CHECK(option(r, "acceptForSession")["_meta"]["coco"]["optionKind"] == "allowSession");

  // A tool call the client does not know yet gets the gate's title.
  CHECK(acp::permission_request(p, "g1", "th", false)["toolCall"]["title"] == p.title);
}

TEST_CASE("a file-change gate carries its diffs; a gate without an item gets a tool call of its own") {
  json changes = {{{"path", "/p/n.txt"}, {"kind", {{"type", "add"}}}, {"diff", "hi\n"}}};
  gates::Prompt p = gates::make_prompt("item/fileChange/requestApproval", {{"threadId", "th"}, {"turnId", "tu"}, {"itemId", "call_p"}}, changes);
  json r = acp::permission_request(p, "g2", "th", true);
  CHECK(r["toolCall"]["content"] == json::array({{{"type", "diff"}, {"path", "/p/n.txt"}, {"oldText", nullptr}, {"newText", "hi\n"}}}));

  gates::Prompt perm = gates::make_prompt("item/permissions/requestApproval",
                                          {{"threadId", "th"}, {"turnId", "tu"}, {"permissions", {{"network", {{"enabled", true}}}}}});
  CHECK(acp::gate_tool_call_id(perm, "g3") == "coco-gate-g3");
  json call = acp::gate_tool_call(perm, "g3");
  CHECK(call["sessionUpdate"] == "tool_call");
  CHECK(call["status"] == "pending");
  CHECK(call["title"] == perm.title);
}

TEST_CASE("a question with one list of choices offers each choice as an option") {
  json q = {{"id", "color"}, {"question", "Which color?"}, {"options", {{{"label", "red"}}, {{"label", "blue"}}}}};
  gates::Prompt p = gates::make_prompt("item/tool/requestUserInput", {{"threadId", "th"}, {"turnId", "tu"}, {"questions", {q}}});
  json r = acp::permission_request(p, "g4", "th", false);
  CHECK(r["options"][0]["optionId"] == "choice-0");
  CHECK(r["options"][0]["name"] == "red");
  CHECK(r["options"][1]["name"] == "blue");
  CHECK(r["options"][2]["optionId"] == "skip");
  acp::PermissionAnswer a = acp::read_permission_answer(p, {{"outcome", {{"outcome", "selected"}, {"optionId", "choice-1"}}}});
  REQUIRE(a.kind == acp::PermissionAnswer::Kind::Selected);
  CHECK(a.value == json{{"optionId", "submit"}, {"answers", {{"color", {"blue"}}}}});
  CHECK(acp::read_permission_answer(p, {{"outcome", {{"outcome", "selected"}, {"optionId", "choice-9"}}}}).kind ==
        acp::PermissionAnswer::Kind::Invalid);
}

TEST_CASE("permission answers: selected, cancelled, feedback for a denial, and what is refused") {
  gates::Prompt p = command_prompt();
  auto selected = acp::read_permission_answer(p, {{"outcome", {{"outcome", "selected"}, {"optionId", "decline"}}},
                                                  {"_meta", {{"coco", {{"feedback", "use the scratch dir"}}}}}});
  REQUIRE(selected.kind == acp::PermissionAnswer::Kind::Selected);
  CHECK(selected.value == json{{"optionId", "decline"}, {"feedback", "use the scratch dir"}});
  CHECK(acp::read_permission_answer(p, {{"outcome", {{"outcome", "cancelled"}}}}).kind == acp::PermissionAnswer::Kind::Cancelled);
  auto unknown = acp::read_permission_answer(p, {{"outcome", {{"outcome", "selected"}, {"optionId", "yolo"}}}});
  CHECK(unknown.kind == acp::PermissionAnswer::Kind::Invalid);
  CHECK(unknown.problem.find("yolo") != std::string::npos);
  CHECK(acp::read_permission_answer(p, {{"outcome", "selected"}}).kind == acp::PermissionAnswer::Kind::Invalid);
  CHECK(acp::read_permission_answer(p, nullptr).kind == acp::PermissionAnswer::Kind::Invalid);
}

TEST_CASE("a replay repeats the recorded updates and turns the client's prompts into user messages") {
  std::vector<json> log = {
      record("editor->bridge", prompt_msg(1, "s1", "first")),
      record("bridge->editor", update_msg("s1", chunk("one"))),
      record("bridge->editor", update_msg("other", chunk("not this session"))),
      record("editor->bridge", prompt_msg(2, "s1", "refused")),
      record("bridge->editor", {{"id", 2}, {"error", {{"code", -32600}, {"message", "a prompt is already running"}}}}),
      record("bridge->editor", {{"id", 1}, {"result", {{"stopReason", "end_turn"}}}}),
  };
  auto replay = acp::replay_updates({log}, "s1", 7);
  CHECK(texts(replay) == std::vector<std::string>{"user_message_chunk:first", "agent_message_chunk:one"});
  CHECK(replay[0]["sessionId"] == "s1");
  CHECK(replay[0]["_meta"]["coco"]["replay"] == 7);
}

TEST_CASE("a log that holds a replay replaces older history with its last replay, then adds what came after") {
  std::vector<json> older = {record("editor->bridge", prompt_msg(1, "s1", "first")), record("bridge->editor", update_msg("s1", chunk("one")))};
  json mark1 = {{"coco", {{"replay", 1}}}}, mark2 = {{"coco", {{"replay", 2}}}};
  std::vector<json> newer = {
      // Loaded twice in this process: the second replay holds everything.
      record("bridge->editor", update_msg("s1", {{"sessionUpdate", "user_message_chunk"}, {"content", {{"type", "text"}, {"text", "first"}}}}, mark1)),
      record("bridge->editor", update_msg("s1", chunk("one"), mark1)),
      record("editor->bridge", prompt_msg(5, "s1", "second")),
      record("bridge->editor", update_msg("s1", chunk("two"))),
      record("bridge->editor", update_msg("s1", {{"sessionUpdate", "user_message_chunk"}, {"content", {{"type", "text"}, {"text", "first"}}}}, mark2)),
      record("bridge->editor", update_msg("s1", chunk("one"), mark2)),
      record("bridge->editor", update_msg("s1", {{"sessionUpdate", "user_message_chunk"}, {"content", {{"type", "text"}, {"text", "second"}}}}, mark2)),
      record("bridge->editor", update_msg("s1", chunk("two"), mark2)),
      record("editor->bridge", prompt_msg(9, "s1", "third")),
      record("bridge->editor", update_msg("s1", chunk("three"))),
  };
  CHECK(texts(acp::replay_updates({older, newer}, "s1", 3)) ==
        std::vector<std::string>{"user_message_chunk:first", "agent_message_chunk:one", "user_message_chunk:second",
                                 "agent_message_chunk:two", "user_message_chunk:third", "agent_message_chunk:three"});
  // A log without a replay (a session/resume) adds to what the older logs hold.
  std::vector<json> resumed = {record("editor->bridge", prompt_msg(1, "s1", "later")), record("bridge->editor", update_msg("s1", chunk("after")))};
  CHECK(texts(acp::replay_updates({older, resumed}, "s1", 3)) ==
        std::vector<std::string>{"user_message_chunk:first", "agent_message_chunk:one", "user_message_chunk:later", "agent_message_chunk:after"});
}

TEST_CASE("modes come from codex's approval and sandbox presets") {
  json thread = {{"approvalPolicy", "on-request"}, {"sandbox", {{"type", "workspaceWrite"}, {"networkAccess", false}}},
                 {"model", "gpt-5.5"}, {"reasoningEffort", "high"}};
  acp::SessionSettings s = acp::settings_from_thread(thread);
  CHECK(s.mode == "auto");
  CHECK(s.model == "gpt-5.5");
  CHECK(s.effort == "high");
  CHECK(acp::modes_state(s)["availableModes"].size() == 3);

  acp::SessionSettings custom = acp::settings_from_thread({{"approvalPolicy", "untrusted"}, {"sandbox", {{"type", "readOnly"}}}});
  CHECK(custom.mode == "custom");
  json modes = acp::modes_state(custom);
  CHECK(modes["currentModeId"] == "custom");
  CHECK(modes["availableModes"].back()["id"] == "custom");
  CHECK(acp::set_mode(custom, "full-access").empty());
  CHECK(acp::turn_overrides(custom)["approvalPolicy"] == "never");
  CHECK(acp::turn_overrides(custom)["sandboxPolicy"]["type"] == "dangerFullAccess");
  CHECK(acp::set_mode(custom, "custom").empty());
  CHECK(acp::turn_overrides(custom)["approvalPolicy"] == "untrusted");
  CHECK_FALSE(acp::set_mode(custom, "nope").empty());
}

TEST_CASE("config options: the model from codex's catalog, and the efforts the chosen model lists") {
  json models = json::array({{{"id", "gpt-5.5"}, {"displayName", "GPT-5.5"}, {"hidden", false}, {"defaultReasoningEffort", "medium"},
                              {"supportedReasoningEfforts", {{{"reasoningEffort", "low"}}, {{"reasoningEffort", "medium"}}}}},
                             {{"id", "secret"}, {"hidden", true}}});
  acp::SessionSettings s = acp::settings_from_thread({{"approvalPolicy", "on-request"}, {"sandbox", {{"type", "readOnly"}}}, {"model", "mock-model"}});
  json options = acp::config_options(s, models);
  REQUIRE(options.size() == 2);  // mode, model (mock-model lists no efforts)
  CHECK(options[1]["currentValue"] == "mock-model");
  CHECK(options[1]["options"][0]["value"] == "mock-model");  // the current model, though not in the catalog
  CHECK(options[1]["options"][1]["value"] == "gpt-5.5");
  CHECK(options[1]["options"].size() == 2);  // hidden models are not offered

  CHECK(acp::set_config_option(s, models, "model", "gpt-5.5").empty());
  CHECK(s.dirty);
  CHECK(s.effort == "medium");  // the new model's default
  options = acp::config_options(s, models);
  REQUIRE(options.size() == 3);
  CHECK(options[2]["id"] == "reasoning_effort");
  CHECK(options[2]["category"] == "thought_level");
  CHECK(acp::set_config_option(s, models, "reasoning_effort", "low").empty());
  CHECK_FALSE(acp::set_config_option(s, models, "reasoning_effort", "ultra").empty());
  CHECK_FALSE(acp::set_config_option(s, models, "model", "nope").empty());
  CHECK_FALSE(acp::set_config_option(s, models, "colour", "red").empty());
  CHECK_FALSE(acp::set_config_option(s, models, "model", true).empty());
  json o = acp::turn_overrides(s);
  CHECK(o["model"] == "gpt-5.5");
  CHECK(o["effort"] == "low");
  CHECK(o["approvalPolicy"] == "on-request");
}
