#include "text/one_line.h"

#include <doctest/doctest.h>

#include <string>

using coco::text::one_line;

TEST_CASE("text: one_line collapses every whitespace run into one space and trims") {
  CHECK(one_line("a\n  b\tc", 80) == "a b c");
  CHECK(one_line("  \r\n padded \f\v ", 80) == "padded");
  CHECK(one_line("", 10).empty());
}

TEST_CASE("text: one_line cuts at the limit with an ellipsis that counts as a character") {
  CHECK(one_line("abcdef", 4) == "abc\u2026");
  CHECK(one_line("abcd", 4) == "abcd");
  CHECK(one_line("abcdef", 0) == "abcdef");  // 0: no limit
}

TEST_CASE("text: one_line never cuts inside a UTF-8 code point") {
  std::string accents;
  for (int i = 0; i < 10; ++i) accents += "\u00e9";
  std::string cut = one_line(accents, 5);
  CHECK(cut == "\u00e9\u00e9\u00e9\u00e9\u2026");
}
