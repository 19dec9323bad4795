#pragma once
// Shortening text for display: titles, table cells, log lines, summaries. Pure, no I/O. Every
// library that shows text to a person uses this one helper, so all of them cut the same way.

#include <cstddef>
#include <string>
#include <string_view>

namespace coco::text {

// `text` on one line: runs of whitespace (newlines and tabs included) become one space, leading and
// trailing whitespace go. At most `max_chars` code points; a cut is made on a UTF-8 code point
// boundary and marked with "…" (which counts toward `max_chars`). `max_chars` 0 means no limit.
std::string one_line(std::string_view text, std::size_t max_chars);

}  // namespace coco::text
