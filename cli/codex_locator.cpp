#include "cli/codex_locator.h"

#include "process/child_process.h"
#include "bridge/version.h"

#include <cstdlib>
#include <filesystem>

namespace coco::cli {
using bridge::kPinnedCodexVersion;
using bridge::kSourceDir;
using process::find_executable;
namespace fs = std::filesystem;
namespace {

// The npm launcher (node_modules/.bin/codex) is a Node script that starts this native binary and
// stays resident; starting the native binary directly saves ~130 ms and a 43 MB process.
constexpr const char* kNativeRelative = "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";
constexpr const char* kLauncherRelative = "node_modules/.bin/codex";

std::vector<fs::path> tools_dirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // build/coco -> <root>/.tools ; also an installed layout <prefix>/bin/coco -> <prefix>/.tools
    dirs.push_back(exe.parent_path().parent_path() / ".tools");
  }
  dirs.push_back(fs::path(kSourceDir) / ".tools");
  return dirs;
}

}  // namespace

std::string CodexLookup::explain() const {
  std::string msg = "cannot find the codex executable. Tried:\n";
  for (const auto& t : tried) msg += "  - " + t + "\n";
  msg += "Fix: run ./dev setup (installs @openai/codex@" + std::string(kPinnedCodexVersion) +
         " into .tools/), or pass --codex PATH, or set COCO_CODEX.";
  return msg;
}

CodexLookup locate_codex(const std::string& flag_value) {
  CodexLookup r;
  auto consider = [&](const std::string& what, const std::string& candidate) {
    if (r.path) return;
    if (auto found = find_executable(candidate)) r.path = *found;
    else r.tried.push_back(what + ": " + candidate + " (not found or not executable)");
  };
  if (!flag_value.empty()) {
    consider("--codex", flag_value);
    return r;  // an explicit choice is never second-guessed
  }
  if (const char* env = std::getenv("COCO_CODEX"); env && *env) {
    consider("$COCO_CODEX", env);
    return r;
  }
  for (const auto& dir : tools_dirs()) {
    consider("project-local install", (dir / kNativeRelative).string());
    consider("project-local launcher", (dir / kLauncherRelative).string());
  }
  consider("PATH", "codex");
  return r;
}

}  // namespace coco::cli
