#include "protocol/envelope.h"

#include <algorithm>
#include <cstring>

namespace coco::protocol {
namespace {

constexpr std::size_t kShortString = 24;

struct Scanner {
  std::string_view s;
  std::size_t i = 0;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  // At an opening quote; moves past the closing quote. Sets *escaped (when asked) if the string holds a
  // backslash.
  //
  // This is where the bytes are: message text lives in strings. memchr jumps from quote to quote; a
  // quote preceded by an odd run of backslashes is escaped and the search goes on after it.
  bool string(bool* escaped = nullptr) {
    const std::size_t begin = ++i;
    // Most strings of an envelope (keys, ids, method names) are short: a plain loop finds their end
    // sooner than a memchr call would even start.
    for (std::size_t end = std::min(s.size(), begin + kShortString); i < end; ++i) {
      if (s[i] == '\\') break;
      if (s[i] == '"') {
        ++i;
        return true;
      }
    }
    i = begin;
    for (;;) {
      const void* hit = std::memchr(s.data() + i, '"', s.size() - i);
      if (hit == nullptr) {
        i = s.size();
        return false;
      }
      std::size_t q = static_cast<std::size_t>(static_cast<const char*>(hit) - s.data());
      std::size_t run = 0;
      while (q - run > begin && s[q - run - 1] == '\\') ++run;
      i = q + 1;
      if (run % 2 == 0) break;
    }
    if (escaped != nullptr && std::memchr(s.data() + begin, '\\', i - 1 - begin) != nullptr) *escaped = true;
    return true;
  }
  // Skips an object or array, strings included, by depth.
  bool nested() {
    int depth = 0;
    while (i < s.size()) {
      char d = s[i];
      if (d == '"') {
        if (!string()) return false;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      else if (d == '}' || d == ']') {
        if (--depth == 0) {
          ++i;
          return true;
        }
      }
      ++i;
    }
    return false;
  }
  bool value() {
    if (i >= s.size()) return false;
    char c = s[i];
    if (c == '"') return string();
    if (c == '{' || c == '[') return nested();
    std::size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') ++i;
    return i > start;
  }
};

}  // namespace

Envelope scan_envelope(std::string_view text) {
  Envelope env;
  Scanner sc{text};
  sc.ws();
  if (sc.i >= text.size() || text[sc.i] != '{') return env;
  ++sc.i;
  sc.ws();
  if (sc.i < text.size() && text[sc.i] == '}') {
    ++sc.i;
  } else {
    for (;;) {
      sc.ws();
      if (sc.i >= text.size() || text[sc.i] != '"') return env;
      std::size_t key_begin = sc.i + 1;
      bool key_escaped = false;
      if (!sc.string(&key_escaped) || key_escaped) return env;
      std::string_view key = text.substr(key_begin, sc.i - 1 - key_begin);
      sc.ws();
      if (sc.i >= text.size() || text[sc.i] != ':') return env;
      ++sc.i;
      sc.ws();
      std::size_t value_begin = sc.i;
      bool value_escaped = false;
      if (sc.i < text.size() && text[sc.i] == '"') {
        if (!sc.string(&value_escaped)) return env;
      } else if (!sc.value()) {
        return env;
      }
      std::size_t value_end = sc.i;
      if (key == "method") {
        env.has_method = true;
        if (text[value_begin] != '"') return env;  // not a string: let the full parse explain
        env.method = text.substr(value_begin + 1, value_end - value_begin - 2);
        env.method_has_escapes = value_escaped;
      } else if (key == "id") {
        env.has_id = true;
        env.id_begin = value_begin;
        env.id_end = value_end;
      } else if (key == "result") {
        env.has_result = true;
      } else if (key == "error") {
        env.has_error = true;
      } else if (key == "jsonrpc") {
        env.has_jsonrpc = true;
      } else if (key == "params") {
        env.has_params = true;
        env.params_first = text[value_begin];
      }
      sc.ws();
      if (sc.i >= text.size()) return env;
      if (text[sc.i] == ',') { ++sc.i; continue; }
      if (text[sc.i] == '}') { ++sc.i; break; }
      return env;
    }
  }
  sc.ws();
  env.valid = sc.i == text.size();
  return env;
}

}  // namespace coco::protocol
