#include "mockmodel/request_summary.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace coco::mockmodel {
namespace {

using nlohmann::json;

std::string snippet(const std::string& text, std::size_t limit = 60) {
  json quoted = text.size() > limit ? text.substr(0, limit) + "..." : text;
  // A cut may split a UTF-8 character: replace rather than throw.
  return quoted.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The text of a message's content, which is either a string or a list of parts.
std::string message_text(const json& content) {
  if (content.is_string()) {
    return content.get<std::string>();
  }
  std::string text;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.contains("text") && part["text"].is_string()) {
        text += part["text"].get<std::string>();
      }
    }
  }
  return text;
}

std::string describe_item(const json& item) {
  if (!item.is_object()) {
    return "?";
  }
  std::string type = item.value("type", "message");
  if (type == "message") {
    return fmt::format("{} {}", item.value("role", "?"),
                       snippet(message_text(item.value("content", json()))));
  }
  if (type == "function_call_output" || type == "custom_tool_call_output") {
    const json& output = item.value("output", json());
    std::string text = output.is_string() ? output.get<std::string>() : output.dump();
    return fmt::format("{} {} {}", type, item.value("call_id", "?"), snippet(text));
  }
  return type;
}

}  // namespace

std::string summarize_request(std::string_view body) {
  auto request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object()) {
    return "not JSON";
  }
  const json& input = request.value("input", json());
  std::string model = request.value("model", "?");
  if (!input.is_array() || input.empty()) {
    return fmt::format("model {}, no input items", model);
  }
  return fmt::format("model {}, {} input items, last: {}", model, input.size(), describe_item(input.back()));
}

}  // namespace coco::mockmodel
