#pragma once
#include <string_view>

namespace coco::gates {
// Path globs for policy rules: `*` and `?` stay within one path segment, `**` crosses segments
// (`src/**` matches everything under src/, `**/*.md` every markdown file).
bool glob_match(std::string_view pattern, std::string_view path);
}  // namespace coco::gates
