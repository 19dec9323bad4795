#include "text/one_line.h"

namespace coco::text {

std::string one_line(std::string_view text, std::size_t max_chars) {
  std::string collapsed;
  collapsed.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = !collapsed.empty();
      continue;
    }
    if (space) collapsed += ' ';
    space = false;
    collapsed += c;
  }
  if (max_chars == 0) return collapsed;
  // Count code points (bytes that are not UTF-8 continuation bytes); remember where the last one
  // that still fits beside the ellipsis starts.
  std::size_t chars = 0, cut = 0;
  for (std::size_t i = 0; i < collapsed.size(); ++i) {
    if ((static_cast<unsigned char>(collapsed[i]) & 0xC0) == 0x80) continue;
    if (chars == max_chars - 1) cut = i;
    if (++chars > max_chars) return collapsed.substr(0, cut) + "\u2026";
  }
  return collapsed;
}

}  // namespace coco::text
