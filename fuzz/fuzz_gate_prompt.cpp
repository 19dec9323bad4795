// gates::make_prompt on any params a codex could send with any method that needs a human: a wrongly
// typed field must come back as an exception the caller can answer, never a crash.
#include "gates/prompt.h"
#include "protocol/json_text.h"

#include <cstdint>
#include <exception>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const char* kMethods[] = {"item/commandExecution/requestApproval", "item/fileChange/requestApproval",
                                   "item/permissions/requestApproval",      "mcpServer/elicitation/request",
                                   "item/tool/requestUserInput",            "execCommandApproval",
                                   "applyPatchApproval"};
  std::string method = kMethods[data[0] % 7];
  auto parsed = coco::protocol::parse_json(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (!parsed.ok()) return 0;
  try {
    auto prompt = coco::gates::make_prompt(method, parsed.value);
    for (const auto& option : prompt.options) coco::gates::codex_answer(prompt, option, parsed.value);
  } catch (const std::exception&) {
    // A refused request is answered by the caller; only a crash is a bug.
  }
  return 0;
}
