// One parser for every way a gate is answered: the editor's result, coco/approval/answer, decision files.
#include "gates/answer.h"
#include "gates/prompt.h"

#include <doctest/doctest.h>

using namespace coco::gates;
using json = nlohmann::json;

namespace {

Prompt command_prompt() {
  return make_prompt("item/commandExecution/requestApproval",
                     {{"threadId", "t"}, {"turnId", "u"}, {"itemId", "i"}, {"command", "ls"}, {"availableDecisions", {"accept", "cancel"}}});
}

std::string problem(const std::variant<Answer, std::string>& r) {
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
}

}  // namespace

TEST_CASE("an answer names one of the prompt's options, with optional feedback and answers") {
  Prompt p = command_prompt();
  auto r = parse_answer(p, {{"optionId", "decline"}, {"feedback", "use the docs folder"}});
  REQUIRE(std::holds_alternative<Answer>(r));
  CHECK(std::get<Answer>(r).option->id == "decline");
  CHECK(std::get<Answer>(r).feedback == "use the docs folder");
  auto nulls = parse_answer(p, {{"optionId", "accept"}, {"feedback", nullptr}, {"answers", nullptr}});
  REQUIRE(std::holds_alternative<Answer>(nulls));
  CHECK(std::get<Answer>(nulls).answers.is_null());
}

TEST_CASE("a bad answer is refused with a message saying what is wrong, never an exception") {
  Prompt p = command_prompt();
  CHECK(problem(parse_answer(p, nullptr)).find("must be an object") != std::string::npos);
  CHECK(problem(parse_answer(p, json::array())).find("not an array") != std::string::npos);
  CHECK(problem(parse_answer(p, json::object())).find("no optionId") != std::string::npos);
  CHECK(problem(parse_answer(p, {{"optionId", 5}})).find("optionId must be a string, not a number") != std::string::npos);
  std::string unknown = problem(parse_answer(p, {{"optionId", "yes"}}));
  CHECK(unknown.find("unknown optionId 'yes'") != std::string::npos);
  CHECK(unknown.find("accept") != std::string::npos);  // the valid ones are listed
  CHECK(problem(parse_answer(p, {{"optionId", "accept"}, {"feedback", 1}})).find("feedback must be a string") != std::string::npos);
  CHECK(problem(parse_answer(p, {{"optionId", "accept"}, {"answers", "x"}})).find("answers must be an object") != std::string::npos);
}

TEST_CASE("a decision file is parsed with the nesting cap and read like any answer") {
  Prompt p = command_prompt();
  CHECK(std::get<Answer>(parse_decision_file(p, R"({"optionId":"accept"})")).option->id == "accept");
  CHECK(problem(parse_decision_file(p, "{oops")).find("not a JSON answer") != std::string::npos);
  CHECK(problem(parse_decision_file(p, "")).find("not a JSON answer") != std::string::npos);
  CHECK(problem(parse_decision_file(p, std::string("{\"optionId\":\"accept\0\"}", 22))).find("not a JSON answer") != std::string::npos);
  // 100,000 levels: refused by the pre-scan before any recursive parse (this used to overflow the stack).
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(problem(parse_decision_file(p, deep)).find("nested deeper") != std::string::npos);
  CHECK(problem(parse_decision_file(p, R"({"optionId":["accept"]})")).find("optionId must be a string") != std::string::npos);
}
