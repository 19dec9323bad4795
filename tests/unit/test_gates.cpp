// Gates: prompts from every codex request kind, answers in codex's exact shapes, and policy rules.
#include "gates/glob.h"
#include "gates/policy.h"
#include "gates/prompt.h"
#include "gates/shell_words.h"

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

using namespace coco::gates;
using json = nlohmann::json;

namespace {

json command_params(const std::string& command) {
  return {{"threadId", "th"}, {"turnId", "tu"}, {"itemId", "call_1"}, {"command", command}, {"cwd", "/work/p"},
          {"reason", "needs to write"}, {"startedAtMs", 1}};
}

std::vector<std::string> option_ids(const Prompt& p) {
  std::vector<std::string> ids;
  for (const auto& o : p.options) ids.push_back(o.id);
  return ids;
}

PolicyConfig policy_from(const std::string& yaml) { return parse_policy(YAML::Load(yaml)["approvals"], "config.yaml"); }

}  // namespace

TEST_CASE("a command request offers exactly codex's availableDecisions, allow once first") {
  json params = command_params("/bin/bash -lc 'git status'");
  params["availableDecisions"] = json::array(
      {"accept", "acceptForSession", {{"acceptWithExecpolicyAmendment", {{"execpolicy_amendment", {"git", "status"}}}}},
       {{"applyNetworkPolicyAmendment", {{"network_policy_amendment", {{"host", "example.com"}, {"action", "allow"}}}}}},
       "decline", "cancel"});
  Prompt p = make_prompt("item/commandExecution/requestApproval", params);
  CHECK(p.kind == GateKind::Command);
  CHECK(option_ids(p) == std::vector<std::string>{"accept", "acceptForSession", "acceptAlways", "network-allow:example.com", "decline", "cancel"});
  CHECK(p.options[0].is_default);
  CHECK(p.options[2].label.find("git status") != std::string::npos);  // the prefix is shown
  CHECK(p.title == "Run `/bin/bash -lc 'git status'`?");
  CHECK(p.detail.find("/work/p") != std::string::npos);
  CHECK(p.detail.find("needs to write") != std::string::npos);
  // Each option maps back to exactly codex's answer.
  CHECK(codex_answer(p, p.options[0]) == json{{"decision", "accept"}});
  CHECK(codex_answer(p, p.options[2]) == json{{"decision", params["availableDecisions"][2]}});
  CHECK(codex_answer(p, p.options[3]) == json{{"decision", params["availableDecisions"][3]}});
  CHECK(codex_answer(p, *p.find_option("cancel")) == json{{"decision", "cancel"}});
  json j = p.to_json("g7");
  CHECK(j["gateId"] == "g7");
  CHECK(j["kind"] == "command");
  CHECK(j["options"][0]["kind"] == "allowOnce");
  CHECK(j["options"][0]["isDefault"] == true);
  CHECK(j["options"][4]["kind"] == "deny");
  CHECK(j["cwd"] == "/work/p");
}

TEST_CASE("codex's short list gains 'for this session' and a deny that lets the turn go on") {
  // What codex 0.169 really sends for an escalated command.
  json params = command_params("/bin/bash -lc 'echo hi > out.txt'");
  params["availableDecisions"] = json::array(
      {"accept", {{"acceptWithExecpolicyAmendment", {{"execpolicy_amendment", {"/bin/bash", "-lc", "echo hi > out.txt"}}}}}, "cancel"});
  Prompt p = make_prompt("item/commandExecution/requestApproval", params);
  CHECK(option_ids(p) == std::vector<std::string>{"accept", "acceptForSession", "acceptAlways", "decline", "cancel"});
  // A label is a button: at most 60 characters; the whole prefix is in the detail.
  CHECK(p.find_option("acceptAlways")->label.rfind("Always allow commands starting with `/bin/bash", 0) == 0);
  CHECK(p.find_option("acceptAlways")->label.size() <= 60 + 2);  // the ellipsis is 3 bytes
  CHECK(p.detail.find("Always allow commands starting with `/bin/bash -lc 'echo hi > out.txt'`") != std::string::npos);
  CHECK(codex_answer(p, *p.find_option("decline")) == json{{"decision", "decline"}});
}

TEST_CASE("without availableDecisions the options come from what the request proposes") {
  json params = command_params("make");
  params["proposedExecpolicyAmendment"] = {"make"};
  Prompt p = make_prompt("item/commandExecution/requestApproval", params);
  CHECK(option_ids(p) == std::vector<std::string>{"accept", "acceptForSession", "acceptAlways", "decline", "cancel"});
}

TEST_CASE("file changes carry the diff the bridge saw in the fileChange item") {
  json changes = json::array({{{"path", "hello.txt"}, {"kind", {{"type", "add"}}}, {"diff", "+hi there\n"}}});
  Prompt p = make_prompt("item/fileChange/requestApproval", {{"threadId", "a"}, {"turnId", "b"}, {"itemId", "c"}}, changes);
  CHECK(p.kind == GateKind::FileChange);
  REQUIRE(p.fields["changes"].size() == 1);
  // codex's `diff` of an add is the new content; the prompt turns it into texts and a real diff.
  CHECK(p.fields["changes"][0] == json{{"path", "hello.txt"},
                                       {"kind", "add"},
                                       {"oldText", nullptr},
                                       {"newText", "+hi there\n"},
                                       {"diff", "--- /dev/null\n+++ hello.txt\n@@ -0,0 +1,1 @@\n++hi there\n"}});
  CHECK(p.title == "Apply changes to hello.txt?");
  CHECK(p.detail.find("+hi there") != std::string::npos);
  CHECK(codex_answer(p, *p.find_option("acceptForSession")) == json{{"decision", "acceptForSession"}});
}

TEST_CASE("legacy requests are answered in snake_case") {
  Prompt c = make_prompt("execCommandApproval", {{"conversationId", "t"}, {"callId", "c"}, {"command", {"rm", "-rf", "x"}}, {"cwd", "/"}, {"parsedCmd", json::array()}});
  CHECK(c.kind == GateKind::Command);
  CHECK(c.fields["command"] == "rm -rf x");
  CHECK(codex_answer(c, *c.find_option("accept")) == json{{"decision", "approved"}});
  CHECK(codex_answer(c, *c.find_option("acceptForSession")) == json{{"decision", "approved_for_session"}});
  // codex's ReviewDecision has no bare "denied": a denial carries its reason, the feedback when given.
  CHECK(codex_answer(c, *c.find_option("decline")) == json{{"decision", {{"denied", {{"rejection", "The user declined."}}}}}});
  CHECK(codex_answer(c, *c.find_option("decline"), nullptr, "use make") ==
        json{{"decision", {{"denied", {{"rejection", "use make"}}}}}});
  CHECK(codex_answer(c, *c.find_option("cancel")) == json{{"decision", "abort"}});
  Prompt f = make_prompt("applyPatchApproval", {{"conversationId", "t"}, {"callId", "c"},
                                                {"fileChanges", {{"a.txt", {{"type", "add"}, {"content", "x\n"}}}}}});
  CHECK(f.kind == GateKind::FileChange);
  CHECK(f.fields["changes"][0]["newText"] == "x\n");
  CHECK(f.fields["changes"][0]["diff"] == "--- /dev/null\n+++ a.txt\n@@ -0,0 +1,1 @@\n+x\n");
  CHECK(codex_answer(f, *f.find_option("decline"))["decision"].contains("denied"));
}

TEST_CASE("permissions are granted as a subset with a scope, not a decision") {
  json requested = {{"network", {{"enabled", true}}}};
  Prompt p = make_prompt("item/permissions/requestApproval",
                         {{"threadId", "a"}, {"turnId", "b"}, {"itemId", "c"}, {"cwd", "/w"}, {"permissions", requested}, {"startedAtMs", 0}});
  CHECK(p.kind == GateKind::Permissions);
  CHECK(p.title == "Grant network access?");
  CHECK(codex_answer(p, *p.find_option("accept")) == json{{"permissions", requested}, {"scope", "turn"}});
  CHECK(codex_answer(p, *p.find_option("acceptForSession")) == json{{"permissions", requested}, {"scope", "session"}});
  CHECK(codex_answer(p, *p.find_option("decline")) == json{{"permissions", json::object()}, {"scope", "turn"}});
}

TEST_CASE("user input and elicitation answers carry what the editor filled in") {
  json option = {{"label", "red"}, {"description", "warm"}};
  json question = {{"id", "color"}, {"header", "Color"}, {"question", "Which color?"}, {"options", json::array({option})}};
  json q = {{"threadId", "a"}, {"turnId", "b"}, {"itemId", "c"}, {"isBlocking", true}, {"questions", json::array({question})}};
  Prompt p = make_prompt("item/tool/requestUserInput", q);
  CHECK(p.kind == GateKind::UserInput);
  CHECK(p.title == "Which color?");
  CHECK(codex_answer(p, *p.find_option("submit"), {{"color", "red"}}) == json{{"answers", {{"color", {{"answers", {"red"}}}}}}});
  CHECK(codex_answer(p, *p.find_option("submit"), {{"color", {"a", "b"}}}) == json{{"answers", {{"color", {{"answers", {"a", "b"}}}}}}});
  CHECK(codex_answer(p, *p.find_option("skip")) == json{{"answers", json::object()}});

  Prompt e = make_prompt("mcpServer/elicitation/request", {{"threadId", "a"}, {"serverName", "github"}, {"mode", "url"},
                                                            {"message", "Log in"}, {"url", "https://x"}, {"elicitationId", "e"}});
  CHECK(e.kind == GateKind::Elicitation);
  CHECK(e.fields["url"] == "https://x");
  CHECK(codex_answer(e, *e.find_option("accept"), {{"name", "n"}})["content"] == json{{"name", "n"}});
  CHECK(codex_answer(e, *e.find_option("decline")) == json{{"action", "decline"}, {"content", nullptr}, {"_meta", nullptr}});
}

TEST_CASE("needs_human knows every request that waits on a person") {
  for (const char* m : {"item/commandExecution/requestApproval", "item/fileChange/requestApproval", "item/permissions/requestApproval",
                        "mcpServer/elicitation/request", "item/tool/requestUserInput", "execCommandApproval", "applyPatchApproval"})
    CHECK(needs_human(m));
  for (const char* m : {"item/tool/call", "account/chatgptAuthTokens/refresh", "attestation/generate"}) CHECK_FALSE(needs_human(m));
}

TEST_CASE("shell words: quotes, escapes, wrappers and compound lines") {
  auto w = split_shell_words("git commit -m 'two words' \"a \\\"q\\\"\" x\\ y");
  CHECK(w.words == std::vector<std::string>{"git", "commit", "-m", "two words", "a \"q\"", "x y"});
  CHECK_FALSE(w.compound);
  CHECK(command_words("/bin/bash -lc 'git status'").words == std::vector<std::string>{"git", "status"});
  CHECK(command_words("bash -c 'git status; rm -rf ~'").compound);
  CHECK(split_shell_words("echo hi > out.txt").compound);
  CHECK(split_shell_words("echo $(whoami)").compound);
  CHECK(split_shell_words("echo \"$(whoami)\"").compound);
  CHECK(split_shell_words("a && b").compound);
  CHECK(split_shell_words("echo 'unterminated").compound);
  CHECK_FALSE(split_shell_words("echo '$(not expanded)'").compound);
}

TEST_CASE("globs: * stays in a segment, ** crosses them") {
  CHECK(glob_match("src/*.cpp", "src/a.cpp"));
  CHECK_FALSE(glob_match("src/*.cpp", "src/x/a.cpp"));
  CHECK(glob_match("src/**", "src/x/y/a.cpp"));
  CHECK(glob_match("**/*.md", "README.md"));
  CHECK(glob_match("**/*.md", "/abs/docs/x.md"));
  CHECK(glob_match("/home/*/proj/**", "/home/me/proj/a/b"));
  CHECK_FALSE(glob_match("/home/*/proj/**", "/home/me/other/a"));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("a?c", "a/c"));
}

TEST_CASE("policy rules: first match wins, command prefixes by words, compound lines never allowed") {
  PolicyConfig c = policy_from(R"(
approvals:
  timeout_s: 30
  on_timeout: cancel
  rules:
    - name: read-only git
      kind: command
      command: git status
      action: allow
    - command: [rm]
      action: deny
    - kind: fileChange
      path: "docs/**"
      action: allow
    - kind: fileChange
      path: "**/.env"
      action: deny
)");
  CHECK(c.timeout_s == doctest::Approx(30));
  CHECK(c.on_timeout == OptionKind::Cancel);
  REQUIRE(c.rules.size() == 4);

  auto verdict = [&](const std::string& cmd) { return evaluate(c, make_prompt("item/commandExecution/requestApproval", command_params(cmd))); };
  auto v = verdict("/bin/bash -lc 'git status --short'");
  CHECK(v.action == Action::Allow);
  REQUIRE(v.rule);
  CHECK(v.rule->name == "read-only git");
  CHECK(verdict("/bin/bash -lc 'git status; rm -rf ~'").action == Action::Ask);  // compound: not allowed by prefix
  CHECK(verdict("/bin/bash -lc 'git stash'").action == Action::Ask);
  CHECK(verdict("/bin/bash -lc 'rm -rf build'").action == Action::Deny);
  CHECK(verdict("rm x && echo").action == Action::Deny);  // deny rules still match compound lines
  CHECK(verdict("/bin/bash -lc 'gitstatus'").action == Action::Ask);  // words, not substrings

  auto files = [&](std::vector<std::string> paths) {
    json changes = json::array();
    for (auto& p : paths) changes.push_back({{"path", p}, {"kind", {{"type", "update"}}}, {"diff", ""}});
    return evaluate(c, make_prompt("item/fileChange/requestApproval", {{"itemId", "i"}}, changes)).action;
  };
  CHECK(files({"docs/a.md", "docs/b/c.md"}) == Action::Allow);
  CHECK(files({"docs/a.md", "src/main.cpp"}) == Action::Ask);  // allow needs every path
  CHECK(files({"src/.env"}) == Action::Deny);
}

TEST_CASE("a bad policy is an error naming the line") {
  auto error_of = [](const std::string& yaml) -> std::string {
    try {
      policy_from(yaml);
    } catch (const PolicyError& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of("approvals:\n  rules:\n    - command: git\n      action: maybe\n") == "config.yaml:4: action must be allow, deny or ask, not 'maybe'");
  CHECK(error_of("approvals:\n  rules:\n    - command: git\n").find("config.yaml:3: a rule needs an action") == 0);
  CHECK(error_of("approvals:\n  timeout_s: soon\n").find("config.yaml:2:") == 0);
  CHECK(error_of("approvals:\n  colour: red\n").find("unknown key approvals.colour") != std::string::npos);
  CHECK(error_of("approvals:\n  rules:\n    - command: 'git; rm'\n      action: allow\n").find("plain command prefix") != std::string::npos);
  CHECK(error_of("approvals:\n  rules:\n    - kind: commands\n      action: allow\n").find("config.yaml:3: kind must be") == 0);
}
