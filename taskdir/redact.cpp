#include "taskdir/redact.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

// GCC warns that passing 32-byte vectors by value has another ABI with AVX than without. The vector
// helpers below are internal and always inlined, so no call with either ABI ever happens.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace coco::taskdir {
namespace {

constexpr std::string_view kRedacted = "[REDACTED]";
// Embedded JSON inside a string inside a string... three levels is plenty for real traffic and bounds
// the work an adversarial line can cause.
constexpr int kMaxDepth = 3;

// Every secret this file can find contains one of these markers, in any letter case: the secret key
// names (is_secret_key) contain token, key, secret, passw or authoriz; the patterns start with sk-,
// Bearer or eyJ. Written with JSON escapes, a marker may hide behind `\u00XX` for any printable ASCII
// byte (`\u0073k-`), so that escape (XX from 20 to 7f) counts as a marker too; control bytes
// (`\u001b` in coloured output) and non-ASCII escapes do not.
constexpr std::array<std::string_view, 8> kMarkers = {"sk-",    "token", "key",      "bearer",
                                                      "secret", "passw", "authoriz", "eyj"};

bool escaped_ascii_at(std::string_view text, std::size_t i) {
  return i + 5 < text.size() + 1 && text[i] == '\\' && text[i + 1] == 'u' && text[i + 2] == '0' &&
         text[i + 3] == '0' && text[i + 4] >= '2' && text[i + 4] <= '7';
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// 32 bytes as one vector (GCC/Clang vector extensions: one AVX2 register, or two SSE2/NEON ones).
constexpr std::size_t kBlock = 32;
using Bytes = signed char __attribute__((vector_size(kBlock)));
// Always inlined: see the -Wpsabi note at the top of the file.
#define COCO_INLINE inline __attribute__((always_inline))

COCO_INLINE Bytes lowered(const char* at) {
  Bytes v;
  std::memcpy(&v, at, sizeof v);
  return v | 0x20;
}

COCO_INLINE bool any(const Bytes& v) {
  std::uint64_t words[4];
  std::memcpy(words, &v, sizeof words);
  return (words[0] | words[1] | words[2] | words[3]) != 0;
}
#undef COCO_INLINE

// The bytes a marker starts with, in either case.
constexpr std::array<bool, 256> make_first_letters() {
  std::array<bool, 256> table{};
  for (std::string_view m : kMarkers) {
    table[static_cast<unsigned char>(m[0])] = true;
    table[static_cast<unsigned char>(m[0] - 'a' + 'A')] = true;
  }
  table[static_cast<unsigned char>('\\')] = true;
  return table;
}
constexpr std::array<bool, 256> kFirstLetter = make_first_letters();

// Whether a marker starts at any position in [begin, end) of `text` (exact, case-insensitive).
bool marker_in(std::string_view text, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    if (!kFirstLetter[static_cast<unsigned char>(text[i])]) continue;
    if (escaped_ascii_at(text, i)) return true;
    char c = lower(text[i]);
    for (std::string_view m : kMarkers) {
      if (m[0] != c || i + m.size() > text.size()) continue;
      std::size_t k = 1;
      while (k < m.size() && lower(text[i + k]) == m[k])
        ++k;
      if (k == m.size()) return true;
    }
  }
  return false;
}

bool contains(std::string_view hay, std::string_view needle) {
  return ::memmem(hay.data(), hay.size(), needle.data(), needle.size()) != nullptr;
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A token starts here if the previous byte does not continue a word. `\n` and friends inside JSON text
// end in a letter, so a letter right after a backslash still counts as a boundary.
bool at_boundary(std::string_view s, std::size_t i) {
  if (i == 0 || !is_word(s[i - 1])) return true;
  return i >= 2 && s[i - 2] == '\\';
}

template <typename Pred> std::size_t scan_while(std::string_view s, std::size_t i, Pred pred) {
  while (i < s.size() && pred(s[i]))
    ++i;
  return i;
}

using Range = std::optional<std::pair<std::size_t, std::size_t>>;

// Replaces, for every occurrence of `marker`, the range `match` returns with [REDACTED].
template <typename Match> bool replace_matches(std::string& s, std::string_view marker, Match match) {
  if (s.find(marker) == std::string::npos) return false;
  std::string_view view(s);
  std::string out;
  std::size_t copied = 0;
  std::size_t pos = 0;
  bool changed = false;
  while ((pos = view.find(marker, pos)) != std::string_view::npos) {
    Range r = match(view, pos);
    if (!r || r->first < copied) {
      ++pos;
      continue;
    }
    out.append(view.substr(copied, r->first - copied));
    out += kRedacted;
    copied = r->second;
    pos = std::max(r->second, pos + 1);
    changed = true;
  }
  if (changed) {
    out.append(view.substr(copied));
    s = std::move(out);
  }
  return changed;
}

bool is_key_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }
bool is_b64url(char c) { return is_alnum(c) || c == '_' || c == '-'; }
bool is_bearer_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}

// sk-[A-Za-z0-9_-]{16,}: OpenAI-style API keys (sk-proj-..., sk-ant-... too).
Range match_sk(std::string_view s, std::size_t p) {
  if (!at_boundary(s, p)) return std::nullopt;
  std::size_t end = scan_while(s, p + 3, is_key_char);
  if (end - (p + 3) < 16) return std::nullopt;
  return std::make_pair(p, end);
}

// "Bearer <credential>": keeps the scheme, hides the credential. The blank may be any run of spaces
// and tabs (`Bearer<TAB>token` is accepted by servers). A run of lowercase letters is prose ("Bearer
// authentication"), not a credential.
Range match_bearer(std::string_view s, std::size_t p) {
  if (p == 0 || (s[p - 1] != 'B' && s[p - 1] != 'b')) return std::nullopt;
  std::size_t start = scan_while(s, p + 5, [](char c) { return c == ' ' || c == '\t'; });  // after "earer"
  if (start == p + 5) return std::nullopt;
  std::size_t end = scan_while(s, start, is_bearer_char);
  if (end - start < 8) return std::nullopt;
  bool prose = true;
  for (std::size_t i = start; i < end && prose; ++i)
    prose = s[i] >= 'a' && s[i] <= 'z';
  if (prose) return std::nullopt;
  return std::make_pair(start, end);
}

// JWTs (OAuth id/access tokens): three base64url segments, the first starting with eyJ ('{"').
Range match_jwt(std::string_view s, std::size_t p) {
  if (!at_boundary(s, p)) return std::nullopt;
  std::size_t a = scan_while(s, p, is_b64url);
  if (a - p < 10 || a >= s.size() || s[a] != '.') return std::nullopt;
  std::size_t b = scan_while(s, a + 1, is_b64url);
  if (b - (a + 1) < 8 || b >= s.size() || s[b] != '.') return std::nullopt;
  std::size_t c = scan_while(s, b + 1, is_b64url);
  return std::make_pair(p, c);
}

// NAME=value where NAME looks secret: env assignments, CLI flags, URL query parameters.
Range match_assignment(std::string_view s, std::size_t p) {
  if (p + 1 >= s.size() || s[p + 1] == '=') return std::nullopt;
  if (p > 0 && (s[p - 1] == '=' || s[p - 1] == '!' || s[p - 1] == '<' || s[p - 1] == '>'))
    return std::nullopt;
  std::size_t begin = p;
  while (begin > 0 && (is_key_char(s[begin - 1]) || s[begin - 1] == '.'))
    --begin;
  if (begin == p || !is_secret_key(s.substr(begin, p - begin))) return std::nullopt;
  std::size_t v = p + 1;
  if (s.compare(v, 2, "\\\"") == 0) {
    v += 2;
  } else if (s[v] == '"' || s[v] == '\'') {
    ++v;
  }
  if (v >= s.size() || s[v] == '$' || s.compare(v, kRedacted.size(), kRedacted) == 0) return std::nullopt;
  std::size_t end = scan_while(
      s, v, [](char c) { return !is_space(c) && std::strchr("\"'\\&;|,)}]", c) == nullptr && c != '\0'; });
  if (end == v) return std::nullopt;
  return std::make_pair(v, end);
}

// -----BEGIN ... PRIVATE KEY----- <body> -----END: hides the body. Stops at a quote so that a key
// printed inside a JSON string never swallows the rest of the line, and short of the backslashes
// before that quote: in JSON held inside a JSON string the quote is `\"`, and taking its backslash
// would leave a bare quote that ends the string. (It cannot stop at every backslash: a key in JSON
// has its lines joined by `\n`.)
Range match_pem(std::string_view s, std::size_t p) {
  std::size_t window = p > 40 ? p - 40 : 0;
  if (s.substr(window, p - window).find("-----BEGIN") == std::string_view::npos) return std::nullopt;
  std::size_t start = p + std::string_view("PRIVATE KEY-----").size();
  std::size_t end = std::min(s.find("-----END", start), s.find('"', start));
  if (end == std::string_view::npos) end = s.size();
  while (end > start && s[end - 1] == '\\') --end;
  if (end <= start) return std::nullopt;
  return std::make_pair(start, end);
}

bool redact_patterns(std::string& s) {
  bool changed = false;
  changed |= replace_matches(s, "sk-", match_sk);
  changed |= replace_matches(s, "earer", match_bearer);
  changed |= replace_matches(s, "eyJ", match_jwt);
  changed |= replace_matches(s, "PRIVATE KEY-----", match_pem);
  if (contains(s, "=")) changed |= replace_matches(s, "=", match_assignment);
  return changed;
}

// Index of the closing quote of a JSON string whose contents start at `i`, or npos.
std::size_t find_string_end(std::string_view s, std::size_t i) {
  while (i < s.size()) {
    if (s[i] == '\\') {
      i += 2;
    } else if (s[i] == '"') {
      return i;
    } else {
      ++i;
    }
  }
  return std::string_view::npos;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<unsigned> parse_hex4(std::string_view s, std::size_t i) {
  if (i + 4 > s.size()) return std::nullopt;
  unsigned v = 0;
  for (std::size_t k = i; k < i + 4; ++k) {
    char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return v;
}

// Decodes the contents of a JSON string. Malformed escapes are kept as they are.
std::string json_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char e = s[++i];
    switch (e) {
    case 'n':
      out += '\n';
      break;
    case 't':
      out += '\t';
      break;
    case 'r':
      out += '\r';
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case '"':
    case '\\':
    case '/':
      out += e;
      break;
    case 'u': {
      auto cp = parse_hex4(s, i + 1);
      if (!cp) {
        out += "\\u";
        break;
      }
      i += 4;
      unsigned code = *cp;
      if (code >= 0xD800 && code < 0xDC00 && s.compare(i + 1, 2, "\\u") == 0) {
        auto low = parse_hex4(s, i + 3);
        if (low && *low >= 0xDC00 && *low < 0xE000) {
          code = 0x10000 + ((code - 0xD800) << 10) + (*low - 0xDC00);
          i += 6;
        }
      }
      append_utf8(out, code);
      break;
    }
    default:
      out += '\\';
      out += e;
    }
  }
  return out;
}

std::string json_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 16);
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        out += "\\u00";
        out += kHex[(c >> 4) & 0xF];
        out += kHex[c & 0xF];
      } else {
        out += c;
      }
    }
  }
  return out;
}

bool redact_into(std::string_view text, int depth, std::string& out);

// Walks JSON-ish text token by token without building a DOM, so untouched bytes stay untouched and a
// torn or non-JSON text is handled too. A string followed by ':' is a key; the string value that
// follows a secret key is replaced. Strings that hold embedded JSON (they contain \") are decoded and
// scanned recursively.
bool redact_json_keys(std::string_view in, int depth, std::string& out) {
  std::size_t copied = 0;
  bool changed = false;
  bool secret_value_next = false;
  std::size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c != '"') {
      if (!is_space(c) && c != ':') secret_value_next = false;
      ++i;
      continue;
    }
    std::size_t end = find_string_end(in, i + 1);
    if (end == std::string_view::npos) {
      // A torn text (an invalid message) whose secret value never ends: hide the rest.
      if (secret_value_next) {
        out.append(in.substr(copied, i + 1 - copied));
        out += kRedacted;
        copied = in.size();
        changed = true;
      }
      break;
    }
    std::string_view content = in.substr(i + 1, end - i - 1);
    // Secrets are matched in the decoded text: `\u0073k-...`, `api\u005fkey`, `Bearer\ttoken`.
    bool escaped = std::memchr(content.data(), '\\', content.size()) != nullptr;
    std::size_t next = scan_while(in, end + 1, is_space);
    if (next < in.size() && in[next] == ':') {
      secret_value_next = is_secret_key(escaped ? std::string_view(json_unescape(content)) : content);
    } else {
      if (secret_value_next) {
        if (content != kRedacted) {
          out.append(in.substr(copied, i + 1 - copied));
          out += kRedacted;
          copied = end;
          changed = true;
        }
      } else if (depth < kMaxDepth && escaped && might_contain_secret(content)) {
        std::string inner;
        if (redact_into(json_unescape(content), depth + 1, inner)) {
          out.append(in.substr(copied, i + 1 - copied));
          out += json_escape(inner);
          copied = end;
          changed = true;
        }
      }
      secret_value_next = false;
    }
    i = end + 1;
  }
  out.append(in.substr(copied));
  return changed;
}

bool redact_into(std::string_view text, int depth, std::string& out) {
  out.clear();
  bool changed = redact_json_keys(text, depth, out);
  changed |= redact_patterns(out);
  return changed;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

// On x86-64 the loader picks an AVX2 build of this function where the CPU has it (twice the bytes per
// instruction of the baseline SSE2 one). Not in sanitizer builds: the loader runs the picker (an ifunc
// resolver) before the sanitizer runtime is up, and ThreadSanitizer's instrumentation of it crashes.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(COCO_NO_IFUNC)
__attribute__((target_clones("avx2", "default")))
#endif
bool might_contain_secret(std::string_view text) {
  // This runs on every recorded byte, so it is vectorized: 32 positions at a time it looks for three
  // letters of each marker at their distances (all of a short marker), lower-casing by setting bit
  // 0x20, which maps every upper-case letter to its lower case (and a few other bytes, such as '\r'
  // to '-', onto marker letters: harmless, the exact check below rejects them). Only a block where
  // some marker's three letters line up, which prose rarely does, is checked byte by byte.
  constexpr std::size_t kSpan = 8;  // the farthest letter looked at is 7 bytes after the start
  constexpr std::size_t kReach = kBlock + kSpan - 1;  // bytes one block reads
  const char* p = text.data();
  auto block_may_match = [p](std::size_t i) {
    const Bytes l[kSpan] = {lowered(p + i),     lowered(p + i + 1), lowered(p + i + 2), lowered(p + i + 3),
                            lowered(p + i + 4), lowered(p + i + 5), lowered(p + i + 6), lowered(p + i + 7)};
    Bytes m = (l[0] == 's') & (l[1] == 'k') & (l[2] == '-');  // sk-
    m |= (l[0] == 't') & (l[2] == 'k') & (l[4] == 'n');       // token
    m |= (l[0] == 'k') & (l[1] == 'e') & (l[2] == 'y');       // key
    m |= (l[0] == 'b') & (l[2] == 'a') & (l[5] == 'r');       // bearer
    m |= (l[0] == 's') & (l[2] == 'c') & (l[5] == 't');       // secret
    m |= (l[0] == 'p') & (l[2] == 's') & (l[4] == 'w');       // passw
    m |= (l[0] == 'a') & (l[3] == 'h') & (l[7] == 'z');       // authoriz
    m |= (l[0] == 'e') & (l[1] == 'y') & (l[2] == 'j');       // eyj
    // \u00[2-7]: lowering maps '\\' to '|' (harmless: the exact check rejects a real '|').
    m |= (l[0] == '|') & (l[1] == 'u') & (l[2] == '0') & (l[3] == '0') & (l[4] >= '2') & (l[4] <= '7');
    return any(m);
  };
  if (text.size() < kReach) return marker_in(text, 0, text.size());
  std::size_t i = 0;
  for (; i + kReach <= text.size(); i += kBlock) {
    if (block_may_match(i) && marker_in(text, i, i + kBlock)) return true;
  }
  // The rest: one last block flush with the end (overlapping the previous one), then the few starts
  // it cannot cover one by one.
  std::size_t last = text.size() - kReach;
  if (i < last + kBlock && block_may_match(last) && marker_in(text, last, last + kBlock)) return true;
  return marker_in(text, last + kBlock, text.size());
}

bool is_secret_key(std::string_view name) {
  if (name.size() > 128) return false;
  char buf[128];
  std::size_t n = 0;
  for (char c : name) {
    if (c == '_' || c == '-' || c == '.') continue;
    buf[n++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view k(buf, n);
  if (k.find("secret") != std::string_view::npos) return true;
  if (k.find("password") != std::string_view::npos || k.find("passwd") != std::string_view::npos) return true;
  // "token" but not "tokens"/"tokenUsage"/"inputTokens": those are counts, not credentials.
  if (ends_with(k, "token") || ends_with(k, "apikey") || ends_with(k, "privatekey")) return true;
  return k == "authorization" || k == "proxyauthorization";
}

std::string redact_secrets(std::string_view text) {
  if (!might_contain_secret(text)) return std::string(text);
  std::string out;
  redact_into(text, 0, out);
  return out;
}

}  // namespace coco::taskdir
