// File-change prompts: texts before and after, and a unified diff an editor's diff view can show.
#include "gates/file_change.h"
#include "gates/prompt.h"

#include <doctest/doctest.h>

using namespace coco::gates;
using json = nlohmann::json;

namespace {

DiskText on_disk(std::string text) { return {DiskText::State::Read, std::move(text)}; }

}  // namespace

TEST_CASE("apply_hunks applies codex's header-less hunks") {
  // Exactly what codex 0.169 sends for "three" -> "THREE" in a five-line file.
  CHECK(apply_hunks("one\ntwo\nthree\nfour\nfive\n", "@@ -2,3 +2,3 @@\n two\n-three\n+THREE\n four\n") ==
        std::optional<std::string>("one\ntwo\nTHREE\nfour\nfive\n"));
  // Two hunks, lines added and removed.
  CHECK(apply_hunks("a\nb\nc\nd\ne\nf\n", "@@ -1,2 +1,3 @@\n a\n+a2\n b\n@@ -5,2 +6,1 @@\n e\n-f\n") ==
        std::optional<std::string>("a\na2\nb\nc\nd\ne\n"));
}

TEST_CASE("apply_hunks keeps or changes a missing newline at the end of the file") {
  CHECK(apply_hunks("a\nb", "@@ -2 +2 @@\n-b\n\\ No newline at end of file\n+B\n\\ No newline at end of file\n") ==
        std::optional<std::string>("a\nB"));
  CHECK(apply_hunks("a\nb", "@@ -2 +2 @@\n-b\n\\ No newline at end of file\n+B\n") == std::optional<std::string>("a\nB\n"));
  CHECK(apply_hunks("a\nb\n", "@@ -1 +1 @@\n-a\n+A\n") == std::optional<std::string>("A\nb\n"));
}

TEST_CASE("apply_hunks refuses hunks that do not match the file") {
  CHECK_FALSE(apply_hunks("one\ntwo\n", "@@ -1,2 +1,2 @@\n one\n-TWO\n+2\n"));  // removed line differs
  CHECK_FALSE(apply_hunks("one\n", "@@ -5,1 +5,1 @@\n-x\n+y\n"));                // past the end
  CHECK_FALSE(apply_hunks("a\nb\nc\n", "@@ -2 +2 @@\n-b\n+B\n@@ -1 +1 @@\n-a\n+A\n"));  // out of order
  CHECK_FALSE(apply_hunks("a\n", "-a\n+b\n"));                                     // no @@ header
  CHECK_FALSE(apply_hunks("a\n", "@@ -1 +1 @@\n*a\n"));                            // no valid prefix
}

TEST_CASE("an update carries the file before and after and a diff with headers") {
  FileChange c{"/p/src/a.txt", "update", "", "@@ -2,3 +2,3 @@\n two\n-three\n+THREE\n four\n"};
  json j = describe_change(c, on_disk("one\ntwo\nthree\nfour\nfive\n"), "/p", 1 << 20);
  CHECK(j["oldText"] == "one\ntwo\nthree\nfour\nfive\n");
  CHECK(j["newText"] == "one\ntwo\nTHREE\nfour\nfive\n");
  CHECK(j["diff"] == "--- a/src/a.txt\n+++ b/src/a.txt\n@@ -2,3 +2,3 @@\n two\n-three\n+THREE\n four\n");
  CHECK_FALSE(j.contains("textsOmitted"));
}

TEST_CASE("a move loses codex's 'Moved to:' text and names both paths") {
  json changes = json::array({{{"path", "/p/m.txt"},
                               {"kind", {{"type", "update"}, {"move_path", "/p/moved.txt"}}},
                               {"diff", "@@ -1,2 +1,2 @@\n mv me\n-line2\n+LINE2\n\n\nMoved to: /p/moved.txt"}}});
  auto parsed = parse_changes(changes);
  REQUIRE(parsed.size() == 1);
  CHECK(parsed[0].move_path == "/p/moved.txt");
  CHECK(parsed[0].codex_diff == "@@ -1,2 +1,2 @@\n mv me\n-line2\n+LINE2\n");
  json j = describe_change(parsed[0], on_disk("mv me\nline2\n"), "/p", 1 << 20);
  CHECK(j["movePath"] == "/p/moved.txt");
  CHECK(j["newText"] == "mv me\nLINE2\n");
  CHECK(j["diff"] == "--- a/m.txt\n+++ b/moved.txt\n@@ -1,2 +1,2 @@\n mv me\n-line2\n+LINE2\n");
}

TEST_CASE("a delete has the old text and no new text") {
  FileChange c{"/p/d.txt", "delete", "", "gone\n"};
  json j = describe_change(c, on_disk("gone\n"), "/p", 1 << 20);
  CHECK(j["oldText"] == "gone\n");
  CHECK(j["newText"].is_null());
  CHECK(j["diff"] == "--- a/d.txt\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-gone\n");
}

TEST_CASE("texts are left out, with the reason, past the cap or when the file no longer matches") {
  FileChange c{"/p/a.txt", "update", "", "@@ -1 +1 @@\n-a\n+b\n"};
  json big = describe_change(c, {DiskText::State::TooLarge, ""}, "/p", 10);
  CHECK(big["textsOmitted"] == true);
  CHECK(big["omittedReason"].get<std::string>().find("larger") != std::string::npos);
  CHECK_FALSE(big.contains("oldText"));
  CHECK(big["diff"] == "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n");  // the diff is always there
  json changed = describe_change(c, on_disk("something else\n"), "/p", 1 << 20);
  CHECK(changed["textsOmitted"] == true);
  CHECK_FALSE(changed.contains("newText"));
  FileChange add{"/p/new.txt", "add", "", std::string(100, 'x')};
  CHECK(describe_change(add, {}, "/p", 10)["textsOmitted"] == true);
}

TEST_CASE("paths outside the working directory stay absolute in the diff headers") {
  FileChange c{"/elsewhere/x.txt", "add", "", "x\n"};
  CHECK(describe_change(c, {}, "/p", 1 << 20)["diff"] == "--- /dev/null\n+++ /elsewhere/x.txt\n@@ -0,0 +1,1 @@\n+x\n");
}

TEST_CASE("a file-change prompt reads the files through the caller and shows the unified diff") {
  json changes = json::array({{{"path", "/p/a.txt"}, {"kind", {{"type", "update"}}}, {"diff", "@@ -1 +1 @@\n-a\n+b\n"}}});
  std::vector<std::string> read;
  FileTexts files;
  files.read = [&](const std::string& path) {
    read.push_back(path);
    return on_disk("a\n");
  };
  files.cwd = "/p";
  Prompt p = make_prompt("item/fileChange/requestApproval", {{"itemId", "c"}}, changes, files);
  CHECK(read == std::vector<std::string>{"/p/a.txt"});
  CHECK(p.fields["changes"][0]["newText"] == "b\n");
  CHECK(p.detail.find("--- a/a.txt\n+++ b/a.txt") != std::string::npos);
}
