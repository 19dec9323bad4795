// Recordings under hostile input: every line of every file stays valid JSON, what arrived is kept
// (escaped, or base64 when it is not UTF-8), and planted secrets never reach the disk, whether they
// are written plainly or with JSON escapes.

#include "protocol/json_text.h"
#include "taskdir/fs_util.h"
#include "taskdir/record_lines.h"
#include "taskdir/redact.h"
#include "taskdir/task_reader.h"
#include "taskdir/task_writer.h"

#include "test_support.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sys/mount.h>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace coco::taskdir;
using coco::protocol::check_json_text;
using coco::protocol::JsonStatus;
using coco::test::read_text;
using nlohmann::json;

namespace {

// A string literal with its NUL bytes.
template <std::size_t N> std::string bytes(const char (&s)[N]) { return std::string(s, N - 1); }

std::string base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) break;
    buf = buf << 6 | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

// Every line of `file` must be valid JSON text by the strict check (what Python's json.loads and
// nlohmann accept alike).
std::vector<json> strict_lines(const fs::path& file) {
  std::vector<json> out;
  std::string text = read_text(file);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    REQUIRE(end != std::string::npos);  // every record ends its line
    std::string line = text.substr(start, end - start);
    CAPTURE(line);
    CHECK(check_json_text(line) == JsonStatus::Ok);
    out.push_back(json::parse(line));
    start = end + 1;
  }
  return out;
}

// Every string of a JSON value, decoded, one after the other (and base64 fields decoded too).
void decoded_strings(const json& value, std::string& out) {
  if (value.is_string()) {
    out += value.get<std::string>();
    out += '\n';
  } else if (value.is_object()) {
    for (const auto& [key, member] : value.items()) {
      out += key;
      out += '\n';
      if (key == "rawBase64" && member.is_string()) out += base64_decode(member.get<std::string>()) + "\n";
      decoded_strings(member, out);
    }
  } else if (value.is_array()) {
    for (const auto& member : value) decoded_strings(member, out);
  }
}

// Everything under `dir`, raw bytes, and the decoded strings of every JSONL line.
std::string everything_in(const fs::path& dir) {
  std::string all;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string text = read_text(entry.path());
    all += text;
    if (entry.path().extension() == ".jsonl") {
      for (const auto& line : read_jsonl(entry.path())) decoded_strings(line, all);
    }
  }
  return all;
}

}  // namespace

TEST_CASE("recording: messages that are not valid JSON text are recorded as {error, raw}, every line parses") {
  coco::test::TempDir tmp("coco-recording-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{});
  AgentLog log = w->add_agent("app-server", "app-server");
  const std::vector<std::string> hostile = {
      bytes("{\"id\":1,\"method\":\"a\0b\"}"),      // NUL inside a string
      bytes("{\"id\":1}\0"),                         // NUL outside
      "{\"params\":{\"s\":\"bell\x07 esc\x1b\"}}",           // raw control bytes in a string
      "{\"s\":\"\xff\xfe invalid utf-8\"}",                   // not UTF-8
      "{\"s\":\"\xed\xa0\x80 encoded surrogate\"}",           // not UTF-8 either (CESU)
      "{\"s\":\"\\ud800 lone surrogate escape\"}",            // nlohmann refuses it
      "{\"a\":}",                                             // junk
      "not json at all",                                      // junk
      "{\"id\":1} trailing",                                  // junk after a value
      "[NaN]",                                                // Python would take it, nlohmann not
      std::string(600, '[') + std::string(600, ']'),          // deeper than the cap
      std::string(4301, '7'),                                 // an integer Python refuses
  };
  for (const auto& h : hostile) log.message("codex->editor", h);
  log.message("codex->editor", R"({"fine":true})");
  log.invalid("editor->bridge", "parse error", bytes("\xc3\x28\0 broken"));
  w->finish("completed");

  auto lines = strict_lines(log.dir() / "events.jsonl");
  REQUIRE(lines.size() == hostile.size() + 2);
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    CAPTURE(i);
    const json& rec = lines[i];
    CHECK(rec["seq"] == i + 1);
    CHECK(rec["dir"] == "codex->editor");
    CHECK_FALSE(rec.contains("msg"));
    REQUIRE(rec["error"].is_string());
    // What arrived is kept exactly: in `raw` when it is UTF-8, else in `rawBase64`.
    std::string kept = rec.contains("rawBase64") ? base64_decode(rec["rawBase64"].get<std::string>())
                                                 : rec["raw"].get<std::string>();
    CHECK(kept == hostile[i]);
  }
  CHECK(lines[10]["error"].get<std::string>().find("deeper") != std::string::npos);
  CHECK(lines[hostile.size()]["msg"]["fine"] == true);
  const json& invalid = lines.back();
  CHECK(invalid["error"] == "parse error");
  CHECK(base64_decode(invalid["rawBase64"].get<std::string>()) == bytes("\xc3\x28\0 broken"));
  // The transcript still reads it.
  CHECK(render_transcript(w->dir()).find("invalid message") != std::string::npos);
}

TEST_CASE("recording: finish_record_lines leaves valid records byte for byte") {
  std::string data = "{\"seq\":1,\"ts\":\"t\",\"dir\":\"d\",\"msg\":{\"a\":[1,2,\"\\u00e9\"]}}\n"
                     "{\"seq\":2,\"ts\":\"t\",\"dir\":\"d\",\"msg\":{\"tokenUsage\":{\"total\":3}}}\n";
  std::string out;
  CHECK_FALSE(finish_record_lines(data, out));
  CHECK(out.empty());
}

TEST_CASE("redaction: secrets written with JSON escapes are found after unescaping") {
  const std::string key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123";  // \u0073 is 's'
  CHECK(redact_secrets(R"({"text":"use \u0073k-proj-abcdefghijklmnopqrstuvwxyz0123 now"})")
            .find("abcdefghijklmnop") == std::string::npos);
  CHECK(redact_secrets(R"({"text":"\u0073\u006b\u002dproj-abcdefghijklmnopqrstuvwxyz0123"})")
            .find("abcdefghijklmnop") == std::string::npos);
  // A key whose NAME is escaped.
  CHECK(redact_secrets(R"({"api\u005fkey":"hunter2hunter2","\u0070assword":"letmein99"})") ==
        R"({"api\u005fkey":"[REDACTED]","\u0070assword":"[REDACTED]"})");
  // Bearer with a tab (raw, or as the \t escape) or several blanks.
  CHECK(redact_secrets("Authorization: Bearer\tZm9vYmFyYmF6cXV4MTIz\n") == "Authorization: Bearer\t[REDACTED]\n");
  CHECK(redact_secrets(R"({"h":"Bearer\tZm9vYmFyYmF6cXV4MTIz"})").find("Zm9vYmFy") == std::string::npos);
  CHECK(redact_secrets("Bearer   Zm9vYmFyYmF6cXV4MTIz").find("Zm9vYmFy") == std::string::npos);
  // \/ inside a credential must not cut it short.
  CHECK(redact_secrets(R"({"h":"Bearer abc\/defghijklmnop"})").find("defghijk") == std::string::npos);
  // Redacted strings stay valid JSON.
  std::string escaped = redact_secrets(R"({"a":"x\n\u0073k-proj-abcdefghijklmnopqrstuvwxyz0123\ty"})");
  CHECK(check_json_text(escaped) == JsonStatus::Ok);
  CHECK(json::parse(escaped)["a"].get<std::string>().find("[REDACTED]") != std::string::npos);
  // Coloured output (control escapes) is not a marker: the prefilter stays quiet.
  CHECK_FALSE(might_contain_secret(R"({"delta":"\u001b[32mok\u001b[0m"})"));
  CHECK(might_contain_secret(R"(\u0073)"));
  (void)key;
}

TEST_CASE("redaction: planted secrets never reach the task directory, raw or decoded") {
  coco::test::TempDir tmp("coco-recording-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{});
  AgentLog log = w->add_agent("app-server", "app-server");
  // Each planted secret is unique, so a leak names its way in.
  const std::vector<std::pair<std::string, std::string>> planted = {
      {"sk-live-PLANTEDONE1234567890abc", R"({"params":{"text":"key sk-live-PLANTEDONE1234567890abc"}})"},
      {"PLANTEDTWO1234567890abc", R"({"params":{"text":"\u0073k-live-PLANTEDTWO1234567890abc"}})"},
      {"PLANTEDTHREE1234567890", R"({"params":{"\u0061piKey":"PLANTEDTHREE1234567890"}})"},
      {"PLANTEDFOUR1234567890", R"({"params":{"header":"Authorization: Bearer\tPLANTEDFOUR1234567890"}})"},
      {"PLANTEDFIVE1234567890", R"({"params":{"cmd":"curl -H 'Authorization: Bearer PLANTEDFIVE1234567890'"}})"},
      {"PLANTEDSIX1234567890", R"({"params":{"out":"{\"token\":\"PLANTEDSIX1234567890\"}"}})"},
      {"PLANTEDSEVEN1234567890", R"({"params":{"out":"{\"\\u0074oken\":\"PLANTEDSEVEN1234567890\"}"}})"},
      {"PLANTEDEIGHT1234567890", R"({"params":{"env":"OPENAI\u005fAPI_KEY=PLANTEDEIGHT1234567890"}})"},
      {"PLANTEDNINE1234567890", R"({"params":{"url":"https:\/\/x?api_key=PLANTEDNINE1234567890"}})"},
  };
  for (const auto& [secret, message] : planted) log.message("editor->codex", message);
  // The same secrets in records that are not valid JSON (raw control bytes, invalid UTF-8): base64
  // must not smuggle them past the redaction.
  log.message("codex->editor", bytes("{\"x\":\"\0 Bearer PLANTEDTEN1234567890\"}"));
  log.message("codex->editor", "{\"x\":\"\xff sk-live-PLANTEDELEVEN1234567890\"}");
  log.invalid("editor->bridge", "parse error", "\xfe{\"password\":\"PLANTEDTWELVE1234567890\"");
  log.stderr_bytes("token=PLANTEDTHIRTEEN1234567890\nAuthorization: Bearer\tPLANTEDFOURTEEN1234567890\n");
  w->event("upstream.exited", {{"stderrTail", "Bearer\tPLANTEDFIFTEEN1234567890"}});
  w->finish("completed");

  strict_lines(log.dir() / "events.jsonl");
  strict_lines(w->dir() / "events.jsonl");
  std::string all = everything_in(w->dir());
  for (const char* secret : {"PLANTEDONE", "PLANTEDTWO", "PLANTEDTHREE", "PLANTEDFOUR", "PLANTEDFIVE", "PLANTEDSIX",
                             "PLANTEDSEVEN", "PLANTEDEIGHT", "PLANTEDNINE", "PLANTEDTEN", "PLANTEDELEVEN",
                             "PLANTEDTWELVE", "PLANTEDTHIRTEEN", "PLANTEDFOURTEEN", "PLANTEDFIFTEEN"}) {
    CHECK_MESSAGE(all.find(secret) == std::string::npos, secret);
  }
  CHECK(all.find("[REDACTED]") != std::string::npos);
}

TEST_CASE("recording: on a full disk every lost record is counted and task.yaml says the recording is incomplete") {
  coco::test::TempDir mnt("coco-fulldisk-test");
  // A small tmpfs of our own (root only: CI and ./dev test run as root); without it the test cannot run.
  if (::mount("tmpfs", mnt.path.c_str(), "tmpfs", 0, "size=256k,mode=0700") != 0) {
    MESSAGE("cannot mount a tmpfs here (not root?): skipped");
    return;
  }
  struct Unmount {
    fs::path dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{mnt.path};

  auto w = TaskWriter::create(mnt.path, TaskMeta{});
  fs::path dir = w->dir();
  AgentLog log = w->add_agent("app-server", "app-server");
  const std::string pad(1000, 'x');
  for (int i = 0; i < 800; ++i) {  // about 800 KB into 256 KB
    log.message("codex->editor", "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + pad + "\"}");
    if (i % 50 == 0) w->event("test.tick", {{"i", i}});
    if (i % 100 == 0) w->sync();  // batches interleave with failures, as in a long session
  }
  w->finish("completed");
  auto stats = w->stats();
  CHECK(stats.write_errors > 0);

  // Count what is on disk: every parseable record line, in every JSONL file.
  std::uint64_t present = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    std::size_t bad = 0;
    present += read_jsonl(entry.path(), &bad).size();
  }
  auto task = load_task(dir);
  REQUIRE(task);
  CHECK_FALSE(task->recording_complete);
  CHECK(task->status == "completed");  // the final task.yaml landed in the reserved room
  CHECK(task->records == stats.records);
  CHECK(task->lost_records > 0);
  CHECK(present + task->lost_records == task->records);  // exactly what is missing
  // The last report in events.jsonl tells the same total.
  auto events = read_jsonl(dir / "events.jsonl");
  std::uint64_t reported = 0;
  for (const auto& e : events) {
    if (e.value("type", "") == "recording.write_failed") reported = e["totalLines"].get<std::uint64_t>();
  }
  CHECK(reported > 0);
  CHECK(reported == task->lost_records);
  CHECK_FALSE(fs::exists(dir / ".reserve"));
  CHECK(render_transcript(dir).find("Recording: INCOMPLETE") != std::string::npos);
}

TEST_CASE("fuzz regressions: times far apart in task files, numbers that overflow a double") {
  // fuzz_task_reader: created in the year 1012 and updated in 2025 overflowed the clock's nanoseconds
  // (signed overflow, reported by UBSan) when the transcript computed the duration.
  CHECK_FALSE(detail::parse_iso_utc("1012-03-01T10:00:00Z").has_value());
  CHECK_FALSE(detail::parse_iso_utc("9999-03-01T10:00:00Z").has_value());
  CHECK(detail::parse_iso_utc("2025-03-01T10:00:00.5Z").has_value());
  coco::test::TempDir tmp("coco-fuzz-regression");
  fs::path dir = tmp.path / "20250301T100000Z-abcdef";
  coco::test::write_text(dir / "task.yaml", "id: 20250301T100000Z-abcdef\nstatus: completed\n"
                                            "created: 1012-03-01T10:00:00Z\nupdated: 2025-03-01T10:00:00Z\n");
  CHECK(render_transcript(dir).find("Task 20250301T100000Z-abcdef") != std::string::npos);
  // fuzz_message: "1e999" passed the strict check but nlohmann refuses it (covered in test_json_text.cpp);
  // a record holding it is recorded as text.
  std::string out;
  CHECK(finish_record_lines("{\"seq\":1,\"ts\":\"t\",\"dir\":\"d\",\"msg\":[1e999]}\n", out));
  CHECK(out.find("\"raw\":\"[1e999]\"") != std::string::npos);
}
