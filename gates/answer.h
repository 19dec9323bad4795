#pragma once
// What a person (or a script) chose for a gate, read from untrusted JSON: the result of
// `coco/approval/request`, the params of `coco/approval/answer`, a decision file in the task
// directory. One parser for all three, so they accept and refuse exactly the same things. Pure: no I/O.

#include "gates/prompt.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace coco::gates {

struct Answer {
  const Option* option = nullptr;  // one of the prompt's options (never null in a parsed Answer)
  std::string feedback;            // for a deny: why, passed on to the running turn
  nlohmann::json answers;          // userInput answers / elicitation content; null when absent
};

// Reads {optionId: string, feedback?: string|null, answers?: object|null} against `prompt`. Returns
// the Answer, or a message saying exactly what is wrong (for the editor and the recording): not an
// object, a missing or non-string optionId, an optionId the prompt does not offer (the valid ones
// are listed), a feedback or answers of the wrong type. Never throws.
std::variant<Answer, std::string> parse_answer(const Prompt& prompt, const nlohmann::json& value);

// A decision file dropped into the task directory (gates/<id>.decision.json): its bytes parsed with the
// nesting cap (protocol::parse_json), then read by parse_answer. Not JSON, too deep or of the wrong
// shape: the message says why (the file is then renamed .rejected). Never throws.
std::variant<Answer, std::string> parse_decision_file(const Prompt& prompt, std::string_view text);

}  // namespace coco::gates
