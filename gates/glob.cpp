#include "gates/glob.h"

namespace coco::gates {

bool glob_match(std::string_view p, std::string_view s) {
  if (p.empty()) return s.empty();
  if (p.substr(0, 2) == "**") {
    std::string_view rest = p.substr(2);
    if (rest.empty()) return true;
    if (rest.front() == '/') {  // "**/": zero or more whole segments
      rest.remove_prefix(1);
      if (glob_match(rest, s)) return true;
      for (std::size_t i = 0; i < s.size(); ++i)
        if (s[i] == '/' && glob_match(rest, s.substr(i + 1))) return true;
      return false;
    }
    for (std::size_t i = 0; i <= s.size(); ++i)  // "**x": anything, slashes included, then x
      if (glob_match(rest, s.substr(i))) return true;
    return false;
  }
  if (p.front() == '*') {
    for (std::size_t i = 0; i <= s.size(); ++i) {
      if (glob_match(p.substr(1), s.substr(i))) return true;
      if (i < s.size() && s[i] == '/') break;
    }
    return false;
  }
  if (s.empty()) return false;
  if (p.front() == '?') return s.front() != '/' && glob_match(p.substr(1), s.substr(1));
  return p.front() == s.front() && glob_match(p.substr(1), s.substr(1));
}

}  // namespace coco::gates
