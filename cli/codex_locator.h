#pragma once
// Finds the codex executable: --codex PATH, then $COCO_CODEX, then the project-local install
// (.tools/ beside the source tree or the coco binary), then `codex` on PATH.

#include <optional>
#include <string>
#include <vector>

namespace coco::cli {

struct CodexLookup {
  std::optional<std::string> path;
  std::vector<std::string> tried;  // every candidate, in order, with why it was rejected
  std::string explain() const;     // a message for the user when nothing was found
};

CodexLookup locate_codex(const std::string& flag_value);

}  // namespace coco::cli
