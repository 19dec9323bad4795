#pragma once
#include <filesystem>
#include <string>

namespace coco::cli {

struct DemoOptions {
  std::filesystem::path task_root;
  std::string codex_flag;  // --codex, may be empty
  std::string self;        // argv[0]
};

// Runs the offline demo; returns the exit code.
int run_demo(const DemoOptions& options);

// The config.toml that points codex at `coco mock-model` on `port` (see docs/mock-model.md).
std::string codex_config_for_mock_model(int port, const std::string& model);

}  // namespace coco::cli
