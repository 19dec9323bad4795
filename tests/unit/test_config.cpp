// The configuration file: values land where they belong, mistakes name the file and line.

#include "bridge/config.h"
#include "test_support.h"

#include <doctest/doctest.h>

#include <string>

using coco::bridge::ConfigError;
using coco::bridge::load_config;

namespace {
std::string error_of(const std::string& yaml) {
  coco::test::TempDir tmp("coco-config-test");
  coco::test::write_text(tmp.path / "config.yaml", yaml);
  try {
    load_config(tmp.path / "config.yaml", true);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config: defaults without a file, values from one") {
  coco::test::TempDir tmp("coco-config-test");
  auto defaults = load_config(tmp.path / "missing.yaml", false);
  CHECK(defaults.recording.buffer_bytes == std::size_t{8} << 20);
  CHECK(defaults.workers.max_parallel == 0);
  CHECK_THROWS_AS(load_config(tmp.path / "missing.yaml", true), ConfigError);

  coco::test::write_text(tmp.path / "config.yaml",
                         "workers:\n  max_parallel: 3\nrecording:\n  buffer_kib: 64\n");
  auto c = load_config(tmp.path / "config.yaml", true);
  CHECK(c.workers.max_parallel == 3);
  CHECK(c.recording.buffer_bytes == 64 * 1024);
}

TEST_CASE("config: mistakes name the file and line") {
  CHECK(error_of("recording:\n  buffer_kib: 0\n")
            .find("config.yaml:2: recording.buffer_kib must be at least 1") != std::string::npos);
  CHECK(
      error_of("recording:\n  buffer_kib: lots\n").find(":2: recording.buffer_kib must be a whole number") !=
      std::string::npos);
  CHECK(error_of("recording:\n  buffer: 1\n").find(":2: unknown key recording.buffer") != std::string::npos);
  CHECK(error_of("recordings: {}\n").find(":1: unknown section 'recordings'") != std::string::npos);
}

// Found by fuzz_config: a key that is a mapping or a list (YAML's `? ...` complex keys) threw
// yaml-cpp's own conversion error past the loader, ending `coco bridge` at start-up without a word on
// which line was wrong.
TEST_CASE("config: a key that is not a plain name is refused with its line, in every section") {
  CHECK(error_of("workers:\n ? max_parallel: 3\n").find(":2: keys must be plain names") != std::string::npos);
  CHECK(error_of("? [a, b]\n: 1\n").find(":1: keys must be plain names") != std::string::npos);
  CHECK(error_of("recording:\n  ? {buffer_kib: 1}\n  : 2\n").find(":2: keys must be plain names") !=
        std::string::npos);
  CHECK(error_of("codex:\n  ? - request_timeout_s\n  : 1\n").find(":2: keys must be plain names") != std::string::npos);
  CHECK(error_of("approvals:\n  ? [mode]\n  : ask\n").find(":2: keys must be plain names") != std::string::npos);
  CHECK(error_of("approvals:\n  rules:\n    - ? {kind: command}\n      : allow\n")
            .find(":3: keys must be plain names") != std::string::npos);
}

// docs/configuration.md shows every key in one example: it must stay a valid configuration.
TEST_CASE("config: the documented example loads") {
  std::string doc =
      coco::test::read_text(std::filesystem::path(COCO_SOURCE_DIR) / "docs" / "configuration.md");
  const std::string open = "## Example (every key, commented)\n\n```yaml\n";
  auto begin = doc.find(open);
  REQUIRE(begin != std::string::npos);
  begin += open.size();
  auto end = doc.find("```", begin);
  REQUIRE(end != std::string::npos);
  coco::test::TempDir tmp("coco-config-test");
  coco::test::write_text(tmp.path / "config.yaml", doc.substr(begin, end - begin));
  auto c = load_config(tmp.path / "config.yaml", true);
  CHECK(c.workers.max_parallel == 4);
  CHECK(c.recording.buffer_bytes == std::size_t{8192} << 10);
  CHECK(c.approvals.rules.size() >= 5);
}
