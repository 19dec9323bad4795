#include "mockmodel/step_selector.h"

#include <optional>

#include <nlohmann/json.hpp>

namespace coco::mockmodel {
namespace {

using nlohmann::json;

bool any_string_contains(const json& value, std::string_view needle) {
  if (value.is_string()) {
    return value.get_ref<const std::string&>().find(needle) != std::string::npos;
  }
  if (value.is_structured()) {
    for (const auto& element : value) {
      if (any_string_contains(element, needle)) {
        return true;
      }
    }
  }
  return false;
}

// Codex's built-in instructions travel as developer messages (~40 KB that mention almost any word):
// a `when` that could match them would match every request.
bool is_instructions(const json& item) {
  if (!item.is_object() || item.value("type", "message") != "message") {
    return false;
  }
  auto role = item.value("role", "");
  return role == "developer" || role == "system";
}

// The part of a request that `when` searches: its conversation, decoded once for all steps.
class Conversation {
public:
  explicit Conversation(std::string_view body) : body_(body) {}

  bool contains(std::string_view needle) {
    if (!decoded_) {
      decoded_ = json::parse(body_, nullptr, /*allow_exceptions=*/false);
    }
    const json& request = *decoded_;
    if (request.is_discarded()) {
      return body_.find(needle) != std::string_view::npos;  // not JSON: plain text search
    }
    if (!request.is_object() || !request.contains("input") || !request["input"].is_array()) {
      return any_string_contains(request, needle);
    }
    for (const auto& item : request["input"]) {
      if (!is_instructions(item) && any_string_contains(item, needle)) {
        return true;
      }
    }
    return false;
  }

private:
  std::string_view body_;
  std::optional<json> decoded_;
};

}  // namespace

bool conversation_contains(std::string_view body, std::string_view needle) {
  return Conversation(body).contains(needle);
}

StepSelector::StepSelector(std::vector<Step> steps) : steps_(std::move(steps)), used_(steps_.size(), false) {}

const Step* StepSelector::take(std::string_view request_body) {
  Conversation conversation(request_body);
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (used_[i]) {
      continue;
    }
    const Step& step = steps_[i];
    if (step.when && !conversation.contains(*step.when)) {
      continue;
    }
    used_[i] = !step.repeat;
    return &step;
  }
  return nullptr;
}

std::vector<const Step*> StepSelector::unused() const {
  std::lock_guard lock(mutex_);
  std::vector<const Step*> result;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (!used_[i] && !steps_[i].repeat) {
      result.push_back(&steps_[i]);
    }
  }
  return result;
}

}  // namespace coco::mockmodel
