#pragma once
#include <filesystem>
#include <string>

namespace coco::cli {

struct RunOptions {
  std::string prompt;
  std::string approvals = "ask";  // ask|allow|deny|dir; ask without a terminal becomes dir
  std::string cwd;
  std::string config;  // may be empty
  std::string codex;   // may be empty
  std::filesystem::path task_root;
  std::string log_level = "warn";
  std::string log_file;
};

// Exit codes: 0 the turn completed, 1 it failed, 3 it was interrupted, 4 the bridge or codex failed.
int run_one_shot(const RunOptions& options);

}  // namespace coco::cli
