#include "mockmodel/response_plan.h"

#include <algorithm>

namespace coco::mockmodel {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxPieceBytes = 24;  // long words are cut so one delta never holds everything

std::int64_t estimate_tokens(std::size_t bytes) { return std::max<std::int64_t>(1, bytes / 4); }

json message_item(const std::string& id, const std::string& text) {
  return {{"type", "message"},
          {"role", "assistant"},
          {"id", id},
          {"content", json::array({{{"type", "output_text"}, {"text", text}}})}};
}

// codex waits this long for a command before it tells the model "still running" and moves on (its
// default is 10 s, its maximum 30 s). A scripted turn expects its commands to have finished, and on a
// loaded 2-core machine a `bash -lc` alone can take seconds: wait as long as codex allows.
constexpr int kYieldTimeMs = 30000;

json exec_item(const ExecOutput& exec, IdGenerator& ids) {
  json arguments = {{"cmd", exec.command}, {"yield_time_ms", kYieldTimeMs}};
  if (exec.workdir) {
    arguments["workdir"] = *exec.workdir;
  }
  if (exec.escalated) {
    arguments["sandbox_permissions"] = "require_escalated";
    arguments["justification"] = exec.justification;
  }
  arguments.update(exec.extra_args);
  return {{"type", "function_call"},
          {"id", ids.next("fc")},
          {"call_id", exec.call_id ? *exec.call_id : ids.next("call")},
          {"name", "exec_command"},
          {"arguments", arguments.dump()}};  // the API sends arguments as a JSON string
}

json patch_item(const PatchOutput& patch, IdGenerator& ids) {
  return {{"type", "custom_tool_call"},
          {"id", ids.next("ctc")},
          {"call_id", patch.call_id ? *patch.call_id : ids.next("call")},
          {"name", "apply_patch"},
          {"input", patch.patch}};
}

json reasoning_item(const ReasoningOutput& reasoning, IdGenerator& ids) {
  return {{"type", "reasoning"},
          {"id", ids.next("rs")},
          {"summary", json::array({{{"type", "summary_text"}, {"text", reasoning.summary}}})}};
}

SseRecord record(std::string type, json data) {
  data["type"] = type;
  return {std::move(type), std::move(data)};
}

// Appends the records of one output item; returns how many bytes of "model output" it represents.
std::size_t add_output(const Output& output, int index, IdGenerator& ids, std::vector<SseRecord>& records) {
  json item;
  if (const auto* message = std::get_if<MessageOutput>(&output)) {
    std::string id = ids.next("msg");
    item = message_item(id, message->text);
    if (message->stream) {
      // The real API announces the item, streams its text, then sends the finished item.
      json empty = item;
      empty["content"] = json::array();
      records.push_back(record("response.output_item.added", {{"output_index", index}, {"item", empty}}));
      for (auto& piece : split_for_streaming(message->text)) {
        records.push_back(record(
            "response.output_text.delta",
            {{"item_id", id}, {"output_index", index}, {"content_index", 0}, {"delta", std::move(piece)}}));
      }
    }
  } else if (const auto* exec = std::get_if<ExecOutput>(&output)) {
    item = exec_item(*exec, ids);
  } else if (const auto* patch = std::get_if<PatchOutput>(&output)) {
    item = patch_item(*patch, ids);
  } else if (const auto* reasoning = std::get_if<ReasoningOutput>(&output)) {
    item = reasoning_item(*reasoning, ids);
  } else {
    item = std::get<RawOutput>(output).item;
  }
  std::size_t bytes = item.dump().size();
  records.push_back(
      record("response.output_item.done", {{"output_index", index}, {"item", std::move(item)}}));
  return bytes;
}

}  // namespace

std::string IdGenerator::next(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  return prefix + "_" + std::to_string(++counters_[prefix]);
}

std::string error_body(int status, const std::string& message) {
  return json{{"error",
               {{"message", message},
                {"type", status >= 500 ? "server_error" : "invalid_request_error"},
                {"code", nullptr}}}}
      .dump();
}

std::string SseRecord::wire() const { return "event: " + event + "\ndata: " + data.dump() + "\n\n"; }

ResponsePlan plan_response(const Step& step, std::size_t request_bytes, IdGenerator& ids) {
  ResponsePlan plan;
  if (step.http_status != 0) {
    plan.http_status = step.http_status;
    plan.body =
        step.http_body.empty()
            ? error_body(step.http_status, "mock-model: scripted HTTP " + std::to_string(step.http_status))
            : step.http_body;
    return plan;
  }
  const std::string response_id = ids.next("resp");
  plan.records.push_back(
      record("response.created",
             {{"response", {{"id", response_id}, {"object", "response"}, {"status", "in_progress"}}}}));
  std::size_t output_bytes = 0;
  int index = 0;
  for (const auto& output : step.outputs) {
    output_bytes += add_output(output, index++, ids, plan.records);
  }
  if (step.disconnect) {
    plan.disconnect = true;
    return plan;
  }
  if (step.fail) {
    plan.records.push_back(
        record("response.failed", {{"response",
                                    {{"id", response_id},
                                     {"object", "response"},
                                     {"status", "failed"},
                                     {"error", {{"code", step.fail_code}, {"message", *step.fail}}}}}}));
    return plan;
  }
  Usage usage = step.usage.value_or(Usage{estimate_tokens(request_bytes), estimate_tokens(output_bytes)});
  json usage_json = {{"input_tokens", usage.input_tokens},
                     {"input_tokens_details", {{"cached_tokens", 0}}},
                     {"output_tokens", usage.output_tokens},
                     {"output_tokens_details", {{"reasoning_tokens", 0}}},
                     {"total_tokens", usage.input_tokens + usage.output_tokens}};
  plan.records.push_back(record("response.completed", {{"response",
                                                        {{"id", response_id},
                                                         {"object", "response"},
                                                         {"status", "completed"},
                                                         {"usage", std::move(usage_json)}}}}));
  return plan;
}

const Step& exhausted_step() {
  static const Step step = [] {
    Step s;
    // Built in place from a braced MessageOutput (GCC 12 warned maybe-uninitialized on a moved variant;
    // clang 14, used for ./dev fuzz, has no parenthesized aggregate initialization).
    s.outputs.emplace_back(std::in_place_type<MessageOutput>, MessageOutput{"(mock-model: script exhausted)"});
    return s;
  }();
  return step;
}

std::vector<std::string> split_for_streaming(std::string_view text) {
  std::vector<std::string> pieces;
  std::string piece;
  auto is_continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    piece += c;
    bool at_char_end = i + 1 == text.size() || !is_continuation(text[i + 1]);
    // A piece ends after a run of whitespace (the next char starts a word), or when it grows long.
    bool word_ends =
        (c == ' ' || c == '\n') && i + 1 < text.size() && text[i + 1] != ' ' && text[i + 1] != '\n';
    if (at_char_end && (word_ends || piece.size() >= kMaxPieceBytes)) {
      pieces.push_back(std::move(piece));
      piece.clear();
    }
  }
  if (!piece.empty()) {
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

}  // namespace coco::mockmodel
