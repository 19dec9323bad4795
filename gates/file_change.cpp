#include "gates/file_change.h"

#include "protocol/json_fields.h"

#include <charconv>
#include <filesystem>

namespace coco::gates {

using json = nlohmann::json;

using protocol::string_member;

namespace {

constexpr std::string_view kMovedMarker = "\n\nMoved to: ";
constexpr std::string_view kNoNewline = "\\ No newline at end of file";

struct Lines {
  std::vector<std::string_view> lines;
  bool ends_with_newline = true;  // an empty text has no last line to lack one
};

Lines split_lines(std::string_view text) {
  Lines out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      out.lines.push_back(text.substr(start));
      out.ends_with_newline = false;
      break;
    }
    out.lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// "@@ -12,3 +12,4 @@ optional section" -> 12 (the old file's first line). A missing count means 1.
std::optional<std::size_t> hunk_old_start(std::string_view header) {
  if (header.substr(0, 4) != "@@ -") return std::nullopt;
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(header.data() + 4, header.data() + header.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

// A path in a diff header: relative to cwd ("a/src/x.c") when inside it, else as it is.
std::string header_path(const std::string& path, const std::string& cwd, const char* side) {
  namespace fs = std::filesystem;
  if (!cwd.empty()) {
    fs::path rel = fs::path(path).lexically_relative(cwd);
    if (!rel.empty() && *rel.begin() != "..") return side + rel.generic_string();
  }
  return path;
}

}  // namespace

std::vector<FileChange> parse_changes(const json& changes) {
  std::vector<FileChange> out;
  if (changes.is_array()) {
    for (const auto& c : changes) {
      if (!c.is_object()) continue;
      FileChange f;
      f.path = string_member(c, "path");
      const json* kind = c.contains("kind") ? &c["kind"] : nullptr;
      f.kind = kind && kind->is_object() ? string_member(*kind, "type") : string_member(c, "kind");
      if (kind && kind->is_object()) f.move_path = string_member(*kind, "move_path");
      if (f.move_path.empty()) f.move_path = string_member(c, "movePath");
      f.codex_diff = string_member(c, "diff");
      if (!f.move_path.empty()) {
        std::string suffix = std::string(kMovedMarker) + f.move_path;
        if (f.codex_diff.size() >= suffix.size() &&
            f.codex_diff.compare(f.codex_diff.size() - suffix.size(), suffix.size(), suffix) == 0)
          f.codex_diff.resize(f.codex_diff.size() - suffix.size());
      }
      if (f.kind.empty()) f.kind = "update";
      if (!f.path.empty()) out.push_back(std::move(f));
    }
  } else if (changes.is_object()) {
    for (const auto& [path, c] : changes.items()) {
      FileChange f;
      f.path = path;
      f.kind = string_member(c, "type");
      if (f.kind.empty()) f.kind = "update";
      f.codex_diff = f.kind == "update" ? string_member(c, "unified_diff") : string_member(c, "content");
      f.move_path = string_member(c, "move_path");
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::optional<std::string> apply_hunks(std::string_view old_text, std::string_view hunks) {
  Lines old = split_lines(old_text);
  struct OutLine {
    std::string_view text;
    bool no_newline;
  };
  std::vector<OutLine> out;
  std::size_t pos = 0;  // next old line not yet copied or consumed
  char last_op = 0;
  bool in_hunk = false;
  auto copy_old_until = [&](std::size_t end) {
    for (; pos < end; ++pos) out.push_back({old.lines[pos], pos + 1 == old.lines.size() && !old.ends_with_newline});
  };
  Lines hunk_lines = split_lines(hunks);
  for (std::string_view line : hunk_lines.lines) {
    if (line.substr(0, 2) == "@@") {
      auto start = hunk_old_start(line);
      if (!start) return std::nullopt;
      std::size_t first = *start == 0 ? 0 : *start - 1;
      if (first < pos || first > old.lines.size()) return std::nullopt;
      copy_old_until(first);
      in_hunk = true;
      last_op = 0;
      continue;
    }
    if (!in_hunk) return std::nullopt;
    if (line == kNoNewline) {
      if ((last_op == ' ' || last_op == '+') && !out.empty()) out.back().no_newline = true;
      continue;
    }
    char op = line.empty() ? ' ' : line.front();  // some writers drop the space of an empty context line
    std::string_view text = line.empty() ? line : line.substr(1);
    switch (op) {
    case ' ':
    case '-':
      if (pos >= old.lines.size() || old.lines[pos] != text) return std::nullopt;
      if (op == ' ') out.push_back({text, false});
      ++pos;
      break;
    case '+': out.push_back({text, false}); break;
    default: return std::nullopt;
    }
    last_op = op;
  }
  copy_old_until(old.lines.size());
  std::string result;
  for (std::size_t i = 0; i < out.size(); ++i) {
    result += out[i].text;
    if (!(i + 1 == out.size() && out[i].no_newline)) result += '\n';
  }
  return result;
}

std::string whole_file_hunk(std::string_view text, bool added) {
  Lines lines = split_lines(text);
  if (lines.lines.empty()) return {};
  std::string n = std::to_string(lines.lines.size());
  std::string out = added ? "@@ -0,0 +1," + n + " @@\n" : "@@ -1," + n + " +0,0 @@\n";
  for (std::string_view l : lines.lines) {
    out += added ? '+' : '-';
    out += l;
    out += '\n';
  }
  if (!lines.ends_with_newline) out += std::string(kNoNewline) + "\n";
  return out;
}

json describe_change(const FileChange& c, const DiskText& before, const std::string& cwd, std::size_t max_text_bytes) {
  json j = {{"path", c.path}, {"kind", c.kind}};
  if (!c.move_path.empty()) j["movePath"] = c.move_path;
  std::string old_header = c.kind == "add" ? "/dev/null" : header_path(c.path, cwd, "a/");
  std::string new_header = c.kind == "delete" ? "/dev/null" : header_path(c.move_path.empty() ? c.path : c.move_path, cwd, "b/");
  std::string hunks;
  std::optional<std::string> old_text, new_text;
  std::string omitted;
  if (c.kind == "add") {
    hunks = whole_file_hunk(c.codex_diff, true);
    new_text = c.codex_diff;
  } else if (c.kind == "delete") {
    // The deleted content is what is on disk; codex's copy of it stands in when the file cannot be read.
    bool read = before.state == DiskText::State::Read;
    hunks = whole_file_hunk(read ? std::string_view(before.text) : std::string_view(c.codex_diff), false);
    if (read) old_text = before.text;
    else if (before.state == DiskText::State::Missing) old_text = c.codex_diff;
  } else {
    hunks = c.codex_diff;
    if (!hunks.empty() && hunks.back() != '\n') hunks += '\n';
    if (before.state == DiskText::State::Read) {
      new_text = apply_hunks(before.text, c.codex_diff);
      if (new_text) old_text = before.text;
      else omitted = "the file on disk no longer matches the change";
    }
  }
  if (before.state == DiskText::State::TooLarge || (new_text && new_text->size() > max_text_bytes))
    omitted = "the file is larger than approvals.max_text_kib";
  else if (before.state == DiskText::State::Unreadable && c.kind != "add") omitted = "the file could not be read";
  else if (before.state == DiskText::State::Missing && c.kind == "update") omitted = "the file does not exist";
  if (!omitted.empty()) {
    j["textsOmitted"] = true;
    j["omittedReason"] = omitted;
  } else {
    j["oldText"] = old_text ? json(*old_text) : json(nullptr);
    j["newText"] = new_text ? json(*new_text) : json(nullptr);
  }
  j["diff"] = "--- " + old_header + "\n+++ " + new_header + "\n" + hunks;
  return j;
}

}  // namespace coco::gates
