#include "gates/answer.h"

#include "protocol/json_text.h"

namespace coco::gates {

using json = nlohmann::json;

namespace {

std::string type_name(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

std::string valid_options(const Prompt& prompt) {
  std::string out;
  for (const auto& o : prompt.options) out += (out.empty() ? "" : ", ") + o.id;
  return out;
}

}  // namespace

std::variant<Answer, std::string> parse_answer(const Prompt& prompt, const json& value) {
  if (!value.is_object()) return "the answer must be an object {optionId, feedback?, answers?}, not " + type_name(value);
  auto id = value.find("optionId");
  if (id == value.end()) return "the answer has no optionId (valid: " + valid_options(prompt) + ")";
  if (!id->is_string()) return "optionId must be a string, not " + type_name(*id);
  Answer a;
  a.option = prompt.find_option(id->get_ref<const std::string&>());
  if (!a.option) return "unknown optionId '" + id->get<std::string>() + "' (valid: " + valid_options(prompt) + ")";
  if (auto f = value.find("feedback"); f != value.end() && !f->is_null()) {
    if (!f->is_string()) return "feedback must be a string, not " + type_name(*f);
    a.feedback = f->get<std::string>();
  }
  if (auto ans = value.find("answers"); ans != value.end() && !ans->is_null()) {
    if (!ans->is_object()) return "answers must be an object, not " + type_name(*ans);
    a.answers = *ans;
  }
  return a;
}

std::variant<Answer, std::string> parse_decision_file(const Prompt& prompt, std::string_view text) {
  protocol::ParsedJson parsed = protocol::parse_json(text);
  if (!parsed.ok()) return "not a JSON answer: " + parsed.problem;
  return parse_answer(prompt, parsed.value);
}

}  // namespace coco::gates
