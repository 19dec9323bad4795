#include "protocol/json_text.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace coco::protocol {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 16 bytes at a time with GCC/Clang vector extensions (SSE2 on x86-64, NEON on ARM).
constexpr std::size_t kBlock = 16;
using Bytes = signed char __attribute__((vector_size(kBlock)));

// Index of the first byte at or after `i` that a string scan must look at: '"', '\\', a control byte,
// or a non-ASCII byte. Everything else inside a string is plain text and skipped a block at a time.
std::size_t skip_plain_string_bytes(const char* p, std::size_t i, std::size_t n) {
  while (i + kBlock <= n) {
    Bytes v;
    std::memcpy(&v, p + i, sizeof v);
    // Signed compare: bytes >= 0x80 are negative, so `v < 0x20` catches them with the controls.
    Bytes hit = (v == '"') | (v == '\\') | (v < 0x20);
    std::uint64_t words[2];
    std::memcpy(words, &hit, sizeof words);
    if ((words[0] | words[1]) != 0) break;
    i += kBlock;
  }
  for (; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return i;
  }
  return n;
}

// Length of the well-formed UTF-8 sequence at s[i] (a byte >= 0x80), or 0 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto cont = [](unsigned c, unsigned lo = 0x80, unsigned hi = 0xBF) { return c >= lo && c <= hi; };
  unsigned c0 = byte(0);
  if (c0 < 0xC2) return 0;
  if (c0 < 0xE0) return cont(byte(1)) ? 2 : 0;
  if (c0 < 0xF0) {
    unsigned lo = c0 == 0xE0 ? 0xA0 : 0x80, hi = c0 == 0xED ? 0x9F : 0xBF;
    return cont(byte(1), lo, hi) && cont(byte(2)) ? 3 : 0;
  }
  if (c0 < 0xF5) {
    unsigned lo = c0 == 0xF0 ? 0x90 : 0x80, hi = c0 == 0xF4 ? 0x8F : 0xBF;
    return cont(byte(1), lo, hi) && cont(byte(2)) && cont(byte(3)) ? 4 : 0;
  }
  return 0;
}

int hex4(std::string_view s, std::size_t i) {
  if (i + 4 > s.size()) return -1;
  int v = 0;
  for (std::size_t k = i; k < i + 4; ++k) {
    char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

class Checker {
 public:
  Checker(std::string_view s, std::size_t max_depth) : s_(s), max_depth_(max_depth) {}

  JsonStatus run() {
    // One bit per open container: set for an object. The cap bounds the stack.
    std::string stack;
    ws();
    for (;;) {
      // A value is expected here.
      if (i_ >= s_.size()) return JsonStatus::NotJson;
      char c = s_[i_];
      if (c == '{' || c == '[') {
        if (stack.size() >= max_depth_) return JsonStatus::TooDeep;
        stack.push_back(c);
        ++i_;
        ws();
        if (i_ < s_.size() && s_[i_] == (c == '{' ? '}' : ']')) {
          ++i_;
          stack.pop_back();
        } else if (c == '{') {
          if (!key()) return JsonStatus::NotJson;
          continue;
        } else {
          continue;
        }
      } else if (c == '"') {
        if (!string()) return JsonStatus::NotJson;
      } else if (c == '-' || is_digit(c)) {
        if (!number()) return JsonStatus::NotJson;
      } else if (!literal("true") && !literal("false") && !literal("null")) {
        return JsonStatus::NotJson;
      }
      // After a value: a separator, the end of its container(s), or the end of the text.
      for (;;) {
        ws();
        if (stack.empty()) return i_ == s_.size() ? JsonStatus::Ok : JsonStatus::NotJson;
        if (i_ >= s_.size()) return JsonStatus::NotJson;
        char d = s_[i_++];
        char open = stack.back();
        if (d == ',') {
          ws();
          if (open == '{' && !key()) return JsonStatus::NotJson;
          break;  // the next value
        }
        if (d != (open == '{' ? '}' : ']')) return JsonStatus::NotJson;
        stack.pop_back();
      }
    }
  }

 private:
  void ws() {
    while (i_ < s_.size() && is_ws(s_[i_])) ++i_;
  }

  // A member name, the colon and the whitespace after it.
  bool key() {
    if (i_ >= s_.size() || s_[i_] != '"' || !string()) return false;
    ws();
    if (i_ >= s_.size() || s_[i_] != ':') return false;
    ++i_;
    ws();
    return true;
  }

  bool literal(std::string_view word) {
    if (s_.compare(i_, word.size(), word) != 0) return false;
    i_ += word.size();
    return true;
  }

  bool number() {
    const std::size_t start = i_;
    if (s_[i_] == '-') ++i_;
    std::size_t int_begin = i_;
    if (i_ >= s_.size() || !is_digit(s_[i_])) return false;
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    std::size_t int_digits = i_ - int_begin;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      std::size_t from = i_;
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
      if (i_ == from) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      std::size_t from = i_;
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
      if (i_ == from) return false;
    }
    // nlohmann refuses a number that overflows a double ("1e999", an integer of 309 digits or more);
    // Python reads the first as inf and refuses integers over 4300 digits. Only long or exponent
    // numbers can overflow: they are converted to find out.
    std::size_t length = i_ - start;
    if (int_digits >= 19 || s_.find_first_of("eE", start) < i_) {
      std::string token(s_.substr(start, length));
      if (!std::isfinite(std::strtod(token.c_str(), nullptr))) return false;
    }
    return true;
  }

  // At the opening quote; moves past the closing one.
  bool string() {
    ++i_;
    for (;;) {
      i_ = skip_plain_string_bytes(s_.data(), i_, s_.size());
      if (i_ >= s_.size()) return false;
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c == '\\') {
        if (!escape()) return false;
        continue;
      }
      if (c < 0x20) return false;  // a raw control byte (NUL, a newline...)
      std::size_t n = utf8_sequence(s_, i_);
      if (n == 0) return false;
      i_ += n;
    }
  }

  // At a backslash inside a string.
  bool escape() {
    if (i_ + 1 >= s_.size()) return false;
    char e = s_[i_ + 1];
    if (e != 'u') {
      i_ += 2;
      return e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't';
    }
    int cp = hex4(s_, i_ + 2);
    if (cp < 0) return false;
    i_ += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate on its own
    if (cp >= 0xD800 && cp <= 0xDBFF) {              // must be followed by its low half
      if (s_.compare(i_, 2, "\\u") != 0) return false;
      int low = hex4(s_, i_ + 2);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      i_ += 6;
    }
    return true;
  }

  std::string_view s_;
  std::size_t max_depth_;
  std::size_t i_ = 0;
};

}  // namespace

std::string_view to_string(JsonStatus status) {
  switch (status) {
  case JsonStatus::Ok: return "ok";
  case JsonStatus::NotJson: return "not JSON";
  case JsonStatus::TooDeep: return "nested too deeply";
  }
  return "unknown";
}

bool nesting_within(std::string_view text, std::size_t max_depth) {
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t depth = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = p[i];
    if (c == '"') {
      // Jump from quote to quote; a quote after an odd run of backslashes is escaped.
      for (;;) {
        const void* hit = std::memchr(p + i + 1, '"', n - i - 1);
        if (hit == nullptr) return true;  // an open string: nothing after it nests
        std::size_t q = static_cast<std::size_t>(static_cast<const char*>(hit) - p);
        std::size_t run = 0;
        while (q - run > i + 1 && p[q - run - 1] == '\\') ++run;
        i = q;
        if (run % 2 == 0) break;
      }
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

ParsedJson parse_json(std::string_view text, std::size_t max_depth) {
  ParsedJson out;
  if (!nesting_within(text, max_depth)) {
    out.status = JsonStatus::TooDeep;
    out.problem = "arrays and objects are nested deeper than " + std::to_string(max_depth) + " levels";
    return out;
  }
  try {
    out.value = nlohmann::json::parse(text.begin(), text.end());
    out.status = JsonStatus::Ok;
  } catch (const nlohmann::json::exception& e) {
    out.value = nlohmann::json(nlohmann::json::value_t::discarded);
    out.status = JsonStatus::NotJson;
    out.problem = e.what();
  }
  return out;
}

JsonStatus check_json_text(std::string_view text, std::size_t max_depth) {
  return Checker(text, max_depth).run();
}

bool append_json_string(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool exact = true;
  out.reserve(out.size() + bytes.size() + 2);
  out += '"';
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t plain = skip_plain_string_bytes(bytes.data(), i, bytes.size());
    out.append(bytes.data() + i, plain - i);
    i = plain;
    if (i >= bytes.size()) break;
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x80) {
      std::size_t n = utf8_sequence(bytes, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        exact = false;
        n = 1;
      } else {
        out.append(bytes.data() + i, n);
      }
      i += n;
      continue;
    }
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
    ++i;
  }
  out += '"';
  return exact;
}

void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (std::size_t left = bytes.size() - i; left > 0) {
    unsigned v = at(i) << 16 | (left == 2 ? at(i + 1) << 8 : 0);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += left == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

}  // namespace coco::protocol
