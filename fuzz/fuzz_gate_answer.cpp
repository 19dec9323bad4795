// The gate decision-file parser (gates::parse_decision_file, which reads `gates/<id>.decision.json`,
// and through it gates::parse_answer, which also reads the editor's answers): anyone who can write the
// task directory controls these bytes. The first byte picks the prompt, the rest is the file.
//
// Oracles besides "no crash": it never throws; an accepted answer names one of the prompt's options,
// and codex's answer made from it is JSON that re-serializes to strict JSON; a file that is a JSON
// object with a known optionId and well-typed feedback/answers is accepted (nothing valid is refused).
#include "gates/answer.h"
#include "gates/prompt.h"
#include "protocol/json_text.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using nlohmann::json;
using namespace coco;

const std::vector<gates::Prompt>& prompts() {
  static const std::vector<gates::Prompt> all = [] {
    std::vector<gates::Prompt> p;
    p.push_back(gates::make_prompt("item/commandExecution/requestApproval",
                                   {{"threadId", "t"}, {"turnId", "u"}, {"itemId", "i"}, {"command", "ls"},
                                    {"proposedExecpolicyAmendment", {"ls"}}}));
    p.push_back(gates::make_prompt("execCommandApproval", {{"command", {"rm", "-rf", "x"}}, {"callId", "c"}}));
    p.push_back(gates::make_prompt("item/tool/requestUserInput",
                                   {{"questions", {{{"id", "q"}, {"question", "Which?"}, {"options", {{{"label", "a"}}}}}}}}));
    p.push_back(gates::make_prompt("mcpServer/elicitation/request", {{"serverName", "s"}, {"message", "m"}}));
    p.push_back(gates::make_prompt("item/permissions/requestApproval", {{"permissions", {{"network", {{"enabled", true}}}}}}));
    return p;
  }();
  return all;
}

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const gates::Prompt& prompt = prompts()[data[0] % prompts().size()];
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto result = gates::parse_decision_file(prompt, text);  // must not throw

  // What the file should mean, decided independently.
  auto parsed = protocol::parse_json(text);
  bool acceptable = false;
  if (parsed.ok() && parsed.value.is_object()) {
    const json& v = parsed.value;
    auto id = v.find("optionId");
    auto fb = v.find("feedback");
    auto ans = v.find("answers");
    acceptable = id != v.end() && id->is_string() && prompt.find_option(id->get<std::string>()) != nullptr &&
                 (fb == v.end() || fb->is_null() || fb->is_string()) &&
                 (ans == v.end() || ans->is_null() || ans->is_object());
  }
  if (auto* answer = std::get_if<gates::Answer>(&result)) {
    require(acceptable);
    require(answer->option != nullptr);
    bool found = false;
    for (const auto& o : prompt.options) found = found || &o == answer->option;
    require(found);
    require(answer->answers.is_null() || answer->answers.is_object());
    json to_codex = gates::codex_answer(prompt, *answer->option, answer->answers, answer->feedback);
    std::string line = to_codex.dump(-1, ' ', false, json::error_handler_t::replace);
    require(protocol::check_json_text(line) == protocol::JsonStatus::Ok);
  } else {
    require(!acceptable);
    require(!std::get<std::string>(result).empty());
  }
  return 0;
}
