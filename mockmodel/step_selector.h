#pragma once
// Picks the scripted step that answers a request (the rules are in docs/mock-model.md).

#include <cstddef>
#include <mutex>
#include <string_view>
#include <vector>

#include "mockmodel/script.h"

namespace coco::mockmodel {

// Thread-safe: concurrent requests (several codex processes on one server) each get their own step.
class StepSelector {
public:
  explicit StepSelector(std::vector<Step> steps);

  // The first unused step whose `when` (if any) occurs in the conversation, marked used unless it repeats;
  // nullptr when nothing matches (the script is exhausted for this request).
  const Step* take(std::string_view request_body);

  // Steps without `repeat` that no request has taken yet.
  std::vector<const Step*> unused() const;

private:
  std::vector<Step> steps_;
  std::vector<bool> used_;
  mutable std::mutex mutex_;
};

// Whether `needle` occurs in a string of the request's conversation: every `input` item except
// developer/system messages (codex's built-in instructions). Strings are compared decoded, so a `when`
// with quotes or newlines needs no JSON escaping. A body that is not JSON is searched as text.
bool conversation_contains(std::string_view body, std::string_view needle);

}  // namespace coco::mockmodel
