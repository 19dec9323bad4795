#pragma once
// The scripted model's steps, as read from YAML (format: docs/mock-model.md).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace coco::mockmodel {

// An assistant message; `stream` sends it as several response.output_text.delta records first.
struct MessageOutput {
  std::string text;
  bool stream = false;
};

// A reasoning item with one summary part (rendered by editors as "thinking").
struct ReasoningOutput {
  std::string summary;
};

// An `exec_command` function call, the shell tool codex offers every model.
struct ExecOutput {
  std::string command;
  std::optional<std::string> workdir;
  bool escalated = false;     // asks for "sandbox_permissions":"require_escalated" => an approval
  std::string justification;  // the approval question codex shows when escalated
  nlohmann::json extra_args = nlohmann::json::object();  // merged into the arguments (yield_time_ms, ...)
  std::optional<std::string> call_id;                    // generated when absent
};

// An `apply_patch` custom (freeform) tool call; codex offers it only to catalog models (gpt-5.5).
struct PatchOutput {
  std::string patch;
  std::optional<std::string> call_id;
};

// Any output item, sent exactly as written.
struct RawOutput {
  nlohmann::json item;
};

using Output = std::variant<MessageOutput, ReasoningOutput, ExecOutput, PatchOutput, RawOutput>;

struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
};

// One scripted answer to one POST /responses.
struct Step {
  int line = 0;                     // 1-based line in the script, for logs
  std::optional<std::string> when;  // only requests containing this text may take the step
  bool repeat = false;              // never consumed

  std::chrono::milliseconds delay{0};     // before the HTTP response starts
  std::chrono::milliseconds interval{0};  // between SSE records (makes streaming visible)

  std::vector<Output> outputs;      // output items, in order
  std::optional<std::string> fail;  // response.failed with this message (after the outputs)
  std::string fail_code = "server_error";
  bool disconnect = false;     // drop the connection instead of completing the response
  int http_status = 0;         // nonzero: a plain HTTP error instead of a stream
  std::string http_body;       // its body (a JSON error object by default)
  std::optional<Usage> usage;  // estimated from sizes when absent

  // A short human description for logs, e.g. "line 7: exec `ls`".
  std::string describe() const;
};

struct Script {
  std::string name;  // the file name, for messages
  std::vector<Step> steps;
};

// Parses a script; throws std::runtime_error "<name>:<line>:<column>: <what>" for a bad one.
Script parse_script(std::string_view yaml, std::string name = "<script>");

// Reads and parses a script file; errors name the file.
Script load_script(const std::filesystem::path& path);

}  // namespace coco::mockmodel
