#include "mockmodel/script.h"

#include "text/one_line.h"
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace coco::mockmodel {
namespace {

// Keys that pick the kind of an output item; exactly one per item.
constexpr std::string_view kOutputKinds[] = {"message", "reasoning", "exec", "patch", "item"};

bool is_one_of(std::string_view key, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    if (k == key) {
      return true;
    }
  }
  return false;
}

// The output kinds a secondary key goes with (empty: not a secondary output key).
std::vector<std::string_view> owners_of(std::string_view key) {
  if (key == "stream") {
    return {"message"};
  }
  if (is_one_of(key, {"workdir", "escalated", "justification", "args"})) {
    return {"exec"};
  }
  if (key == "call_id") {
    return {"exec", "patch"};
  }
  return {};
}

bool is_output_kind(std::string_view key) {
  return std::find(std::begin(kOutputKinds), std::end(kOutputKinds), key) != std::end(kOutputKinds);
}

// Converts YAML to JSON for raw items: plain scalars become numbers/booleans/null when they look
// like one, quoted scalars always stay strings (so `"42"` can still be a string).
nlohmann::json to_json(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Sequence: {
    auto array = nlohmann::json::array();
    for (const auto& element : node) {
      array.push_back(to_json(element));
    }
    return array;
  }
  case YAML::NodeType::Map: {
    auto object = nlohmann::json::object();
    for (const auto& entry : node) {
      object[entry.first.Scalar()] = to_json(entry.second);
    }
    return object;
  }
  case YAML::NodeType::Scalar: {
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") {
      return text;
    }
    if (text == "true" || text == "false") {
      return text == "true";
    }
    if (text == "null" || text == "~") {
      return nullptr;
    }
    std::int64_t integer = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), integer);
    if (error == std::errc() && end == text.data() + text.size()) {
      return integer;
    }
    if (!text.empty()) {
      char* double_end = nullptr;
      double number = std::strtod(text.c_str(), &double_end);
      if (double_end == text.c_str() + text.size()) {
        return number;
      }
    }
    return text;
  }
  default:
    return nullptr;
  }
}

// Parses one script, remembering its name so that every error points at file:line:column.
class ScriptParser {
public:
  explicit ScriptParser(std::string name) : name_(std::move(name)) {}

  Script parse(std::string_view yaml) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      error(e.mark, e.msg);
    }
    if (!root.IsMap()) {
      error(root.Mark(), "a script is a map with a `steps:` list");
    }
    Script script;
    script.name = name_;
    for (const auto& entry : root) {
      const std::string key = entry.first.Scalar();
      if (key != "steps") {
        error(entry.first.Mark(), fmt::format("unknown top-level key `{}` (expected `steps`)", key));
      }
    }
    const YAML::Node steps = root["steps"];
    if (!steps) {
      error(root.Mark(), "missing `steps:` list");
    }
    if (steps.IsNull()) {
      return script;  // `steps:` with nothing: every request gets the "exhausted" answer
    }
    if (!steps.IsSequence()) {
      error(steps.Mark(), "`steps` must be a list");
    }
    for (const auto& step : steps) {
      script.steps.push_back(parse_step(step));
    }
    return script;
  }

private:
  [[noreturn]] void error(const YAML::Mark& mark, const std::string& what) const {
    if (mark.is_null()) {
      throw std::runtime_error(fmt::format("{}: {}", name_, what));
    }
    throw std::runtime_error(fmt::format("{}:{}:{}: {}", name_, mark.line + 1, mark.column + 1, what));
  }

  template <typename T> T scalar(const YAML::Node& node, std::string_view key, std::string_view expected) {
    if (!node.IsScalar()) {
      error(node.Mark(), fmt::format("`{}` must be {}", key, expected));
    }
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      error(node.Mark(), fmt::format("`{}` must be {}", key, expected));
    }
  }

  std::string text(const YAML::Node& node, std::string_view key) {
    return scalar<std::string>(node, key, "a string");
  }

  bool flag(const YAML::Node& node, std::string_view key) { return scalar<bool>(node, key, "true or false"); }

  std::int64_t count(const YAML::Node& node, std::string_view key) {
    auto value = scalar<std::int64_t>(node, key, "a non-negative integer");
    if (value < 0) {
      error(node.Mark(), fmt::format("`{}` must be a non-negative integer", key));
    }
    return value;
  }

  // The output kind named in `map` (one of kOutputKinds), or empty when there is none.
  std::string output_kind(const YAML::Node& map) {
    std::string kind;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      for (auto candidate : kOutputKinds) {
        if (key != candidate) {
          continue;
        }
        if (!kind.empty()) {
          error(entry.first.Mark(), fmt::format("`{}` and `{}` in one step: use `items:` for several "
                                                "output items",
                                                kind, key));
        }
        kind = key;
      }
    }
    return kind;
  }

  // Checks that secondary keys (stream, workdir, ...) go with the output kind present.
  void check_output_keys(const YAML::Node& map, const std::string& kind) {
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      auto owners = owners_of(key);
      if (owners.empty()) {
        continue;
      }
      if (std::find(owners.begin(), owners.end(), kind) == owners.end()) {
        error(entry.first.Mark(), fmt::format("`{}` only applies to `{}`", key, owners.front()));
      }
    }
  }

  Output parse_output(const YAML::Node& map, const std::string& kind) {
    check_output_keys(map, kind);
    auto optional_text = [&](const char* key) -> std::optional<std::string> {
      if (auto node = map[key]) {
        return text(node, key);
      }
      return std::nullopt;
    };
    if (kind == "message") {
      MessageOutput message{text(map["message"], "message")};
      if (auto stream = map["stream"]) {
        message.stream = flag(stream, "stream");
      }
      return message;
    }
    if (kind == "reasoning") {
      return ReasoningOutput{text(map["reasoning"], "reasoning")};
    }
    if (kind == "exec") {
      ExecOutput exec;
      exec.command = text(map["exec"], "exec");
      exec.workdir = optional_text("workdir");
      if (auto escalated = map["escalated"]) {
        exec.escalated = flag(escalated, "escalated");
      }
      exec.justification = optional_text("justification").value_or("");
      if (exec.escalated && exec.justification.empty()) {
        exec.justification = "Run `" + exec.command + "` outside the sandbox?";
      }
      if (auto args = map["args"]) {
        if (!args.IsMap()) {
          error(args.Mark(), "`args` must be a map (extra exec_command arguments)");
        }
        exec.extra_args = to_json(args);
      }
      exec.call_id = optional_text("call_id");
      return exec;
    }
    if (kind == "patch") {
      return PatchOutput{text(map["patch"], "patch"), optional_text("call_id")};
    }
    const YAML::Node item = map["item"];
    if (!item.IsMap()) {
      error(item.Mark(), "`item` must be a map (a Responses API output item)");
    }
    auto json = to_json(item);
    if (!json.contains("type") || !json["type"].is_string()) {
      error(item.Mark(), "`item` needs a string `type`");
    }
    return RawOutput{std::move(json)};
  }

  // One entry of `items:`: an output item and nothing else.
  Output parse_items_entry(const YAML::Node& map) {
    if (!map.IsMap()) {
      error(map.Mark(), "each entry of `items` is a map like `- message: ...`");
    }
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      bool known = is_output_kind(key) || !owners_of(key).empty();
      if (!known) {
        error(entry.first.Mark(), fmt::format("`{}` is not allowed in an `items` entry", key));
      }
    }
    std::string kind = output_kind(map);
    if (kind.empty()) {
      error(map.Mark(), "an `items` entry needs one of message, reasoning, exec, patch, item");
    }
    return parse_output(map, kind);
  }

  Step parse_step(const YAML::Node& map) {
    if (!map.IsMap()) {
      error(map.Mark(), "each step is a map like `- message: \"Hello\"`");
    }
    Step step;
    step.line = map.Mark().line + 1;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      bool known = is_output_kind(key) || !owners_of(key).empty() ||
                   is_one_of(key, {"items", "when", "repeat", "delay_ms", "interval_ms", "fail", "code",
                                   "disconnect", "http_status", "body", "usage"});
      if (!known) {
        error(entry.first.Mark(), fmt::format("unknown key `{}` in step", key));
      }
    }

    std::string kind = output_kind(map);
    if (auto items = map["items"]) {
      if (!kind.empty()) {
        error(items.Mark(), fmt::format("`items` and `{}` in one step: put `{}` inside `items`", kind, kind));
      }
      if (!items.IsSequence() || items.size() == 0) {
        error(items.Mark(), "`items` must be a non-empty list");
      }
      check_output_keys(map, "");
      for (const auto& entry : items) {
        step.outputs.push_back(parse_items_entry(entry));
      }
    } else if (!kind.empty()) {
      step.outputs.push_back(parse_output(map, kind));
    } else {
      check_output_keys(map, "");
    }

    if (auto when = map["when"]) {
      step.when = text(when, "when");
      if (step.when->empty()) {
        error(when.Mark(), "`when` must not be empty");
      }
    }
    if (auto repeat = map["repeat"]) {
      step.repeat = flag(repeat, "repeat");
    }
    if (auto delay = map["delay_ms"]) {
      step.delay = std::chrono::milliseconds(count(delay, "delay_ms"));
    }
    if (auto interval = map["interval_ms"]) {
      step.interval = std::chrono::milliseconds(count(interval, "interval_ms"));
    }
    if (auto fail = map["fail"]) {
      step.fail = text(fail, "fail");
    }
    if (auto code = map["code"]) {
      if (!step.fail) {
        error(code.Mark(), "`code` only applies to `fail`");
      }
      step.fail_code = text(code, "code");
    }
    if (auto disconnect = map["disconnect"]) {
      step.disconnect = flag(disconnect, "disconnect");
    }
    if (auto usage = map["usage"]) {
      step.usage = parse_usage(usage);
    }
    if (auto status = map["http_status"]) {
      auto value = count(status, "http_status");
      if (value < 200 || value > 599) {
        error(status.Mark(), "`http_status` must be an HTTP status code (200-599)");
      }
      step.http_status = static_cast<int>(value);
      if (!step.outputs.empty() || step.fail || step.disconnect) {
        error(status.Mark(), "`http_status` replaces the whole stream: it cannot go with output items, "
                             "`fail` or `disconnect`");
      }
    }
    if (auto body = map["body"]) {
      if (step.http_status == 0) {
        error(body.Mark(), "`body` only applies to `http_status`");
      }
      step.http_body = text(body, "body");
    }
    if (step.outputs.empty() && !step.fail && !step.disconnect && step.http_status == 0) {
      error(map.Mark(), "step sends nothing: give it one of message, reasoning, exec, patch, item, items, "
                        "fail, disconnect, http_status");
    }
    return step;
  }

  Usage parse_usage(const YAML::Node& map) {
    if (!map.IsMap()) {
      error(map.Mark(), "`usage` must be a map with input_tokens and output_tokens");
    }
    Usage usage;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (key == "input_tokens") {
        usage.input_tokens = count(entry.second, key);
      } else if (key == "output_tokens") {
        usage.output_tokens = count(entry.second, key);
      } else {
        error(entry.first.Mark(),
              fmt::format("unknown key `{}` in usage (expected input_tokens, output_tokens)", key));
      }
    }
    return usage;
  }

  std::string name_;
};

std::string shorten(std::string_view text) { return coco::text::one_line(text, 40); }

std::string describe_output(const Output& output) {
  struct Describer {
    std::string operator()(const MessageOutput& m) const {
      return fmt::format("{}message \"{}\"", m.stream ? "streamed " : "", shorten(m.text));
    }
    std::string operator()(const ReasoningOutput& r) const {
      return fmt::format("reasoning \"{}\"", shorten(r.summary));
    }
    std::string operator()(const ExecOutput& e) const {
      return fmt::format("{}exec `{}`", e.escalated ? "escalated " : "", shorten(e.command));
    }
    std::string operator()(const PatchOutput&) const { return "apply_patch"; }
    std::string operator()(const RawOutput& r) const {
      return fmt::format("item {}", r.item["type"].get<std::string>());
    }
  };
  return std::visit(Describer{}, output);
}

}  // namespace

std::string Step::describe() const {
  std::string result = fmt::format("line {}:", line);
  if (http_status != 0) {
    return result + fmt::format(" HTTP {}", http_status);
  }
  const char* separator = " ";
  for (const auto& output : outputs) {
    result += separator + describe_output(output);
    separator = ", ";
  }
  if (fail) {
    result += fmt::format("{}fail \"{}\"", separator, shorten(*fail));
  }
  if (disconnect) {
    result += std::string(separator) + "disconnect";
  }
  return result;
}

Script parse_script(std::string_view yaml, std::string name) {
  return ScriptParser(std::move(name)).parse(yaml);
}

Script load_script(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error(fmt::format("{}: cannot read the script", path.string()));
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  return parse_script(contents.str(), path.string());
}

}  // namespace coco::mockmodel
