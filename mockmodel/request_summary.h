#pragma once
// A one-line description of a Responses API request for the log: what is new in it is its last
// input item (the user's prompt, or the output of the tool call the script asked for).

#include <string>
#include <string_view>

namespace coco::mockmodel {

// E.g. `model gpt-5.5, 4 input items, last: user "say hi"` or
// `model mock-model, 6 input items, last: function_call_output call_1 "hi\n"`.
std::string summarize_request(std::string_view body);

}  // namespace coco::mockmodel
