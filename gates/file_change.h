#pragma once
// File changes an editor can show in its diff view.
//
// Codex describes each proposed change as {path, kind, diff}, where `diff` is the new content for an
// add, the old content for a delete, and header-less unified hunks for an update (with
// "\n\nMoved to: <path>" appended when the file also moves). An editor wants the text before and
// after, and a real unified diff. This turns one into the other. Pure: the caller reads the file on
// disk and hands its text in.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coco::gates {

struct FileChange {
  std::string path;        // absolute, as codex sends it
  std::string kind;        // add | delete | update
  std::string move_path;   // update only: where the file moves; "" when it stays
  std::string codex_diff;  // codex's `diff`, without the "Moved to:" suffix
};

// Reads codex's change list: the v2 array [{path, kind: {type, move_path?}, diff}] or the legacy
// object {path: {type, content | unified_diff, move_path}}. Entries of the wrong shape are skipped.
std::vector<FileChange> parse_changes(const nlohmann::json& changes);

// What the caller found on disk at `path` before the change.
struct DiskText {
  enum class State { Read, Missing, TooLarge, Unreadable } state = State::Missing;
  std::string text;  // State::Read only
};

// {path, kind, movePath?, oldText, newText, diff, textsOmitted?, omittedReason?}:
// - oldText: the file as it is on disk now (null for an add), newText: the content after the change
//   (null for a delete);
// - diff: a unified diff with ---/+++ headers (paths relative to `cwd` when inside it);
// - when the texts cannot be given (the file is larger than the cap, unreadable, or no longer
//   matches what codex's hunks expect) both are left out, textsOmitted is true and omittedReason
//   says why; the diff is always there.
// `max_text_bytes` caps oldText and newText (the caller gives State::TooLarge for a file on disk over it).
nlohmann::json describe_change(const FileChange& change, const DiskText& before, const std::string& cwd,
                               std::size_t max_text_bytes);

// Applies header-less unified hunks ("@@ -a,b +c,d @@" blocks) to `old_text`. nullopt when they do
// not apply: a context or removed line differs, hunks overlap, or a line has no valid prefix.
std::optional<std::string> apply_hunks(std::string_view old_text, std::string_view hunks);

// The hunk that turns "" into `text` (an add) or `text` into "" (a delete), without headers.
std::string whole_file_hunk(std::string_view text, bool added);

}  // namespace coco::gates
