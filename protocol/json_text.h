#pragma once
// JSON text from outside the bridge (an editor, codex, a task directory, a config file): parsed with a
// nesting cap, and checked strictly before it is embedded raw in a recording.
//
// Why a cap: nlohmann's parser is iterative, but copying, comparing and serializing a json value are
// recursive, so a message nested 100,000 levels deep overflows the stack as soon as it is used. The
// cap is checked by a linear pre-scan BEFORE any tree is built. Real traffic nests a few dozen levels
// at most (codex's deepest messages carry JSON schemas); 512 leaves room for any of it and keeps every
// recursive walk of a parsed value far from the stack's end. Python's json module, which many readers
// of task directories use, gives up near 1,000 levels.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace coco::protocol {

inline constexpr std::size_t kMaxJsonDepth = 512;

enum class JsonStatus {
  Ok,
  NotJson,  // not valid JSON text (the problem says where)
  TooDeep,  // arrays and objects nested deeper than the cap (nothing was parsed)
};
std::string_view to_string(JsonStatus status);

struct ParsedJson {
  JsonStatus status = JsonStatus::NotJson;
  nlohmann::json value;  // discarded unless ok()
  std::string problem;   // unless ok(): one line, for an error message or a log
  bool ok() const { return status == JsonStatus::Ok; }
};

// Parses untrusted JSON text. Never throws; never builds a tree deeper than `max_depth` (an empty
// `{}` or `[]` is one level). TooDeep is decided before parsing, so it wins over syntax errors later on.
ParsedJson parse_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// The pre-scan alone: true when no array or object in `text` is nested deeper than `max_depth`,
// counting brackets outside strings. Says nothing about validity otherwise. Linear, no allocation.
bool nesting_within(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Strict check that `text` is exactly one JSON value (RFC 8259, surrounding whitespace allowed) that
// every common parser accepts: UTF-8 only (no overlong forms, no encoded surrogates), no raw control
// bytes in strings, paired \u surrogates, no NaN/Infinity, numbers that fit a double (nlohmann refuses
// 1e999; Python refuses integers over 4300 digits), nesting within `max_depth`. Recordings embed a message raw only when this says Ok.
// Vectorized over string contents, where the bytes are: about a byte per cycle or better.
JsonStatus check_json_text(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Appends `bytes` as a JSON string (quotes included) that check_json_text accepts: quotes, backslashes
// and control bytes escaped, UTF-8 kept as is, and each byte that is not part of well-formed UTF-8
// replaced by U+FFFD. Returns false when such a replacement happened (the string is then lossy).
bool append_json_string(std::string& out, std::string_view bytes);
// Appends standard base64 (RFC 4648, with padding): the exact bytes, for text that is not UTF-8.
void append_base64(std::string& out, std::string_view bytes);

}  // namespace coco::protocol
