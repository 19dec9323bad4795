#pragma once
// Coco's configuration file (YAML; --config FILE, default $COCO_HOME/config.yaml). Documented, with a
// commented example, in docs/configuration.md. A bad file is a startup error naming the line, never a
// silent default. Each feature owns one top-level section.

#include "gates/policy.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace YAML { class Node; }

namespace coco::bridge {

struct WorkersConfig {
  int max_parallel = 0;  // 0: the number of cores
};

struct RecordingConfig {
  // How much may wait for the disk before the bridge stops reading codex and the editor until the
  // recorder catches up (it resumes at a quarter of it). Records are dropped, and reported, only past
  // eight times this, which the bridge, pausing, never reaches.
  std::size_t buffer_bytes = std::size_t{8} << 20;
};

struct CodexConfig {
  // A request codex has not answered after this long is answered for it with -32055 (0: never).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(120)};
};

struct Config {
  std::filesystem::path source;  // the file it came from, or empty for defaults
  CodexConfig codex;
  WorkersConfig workers;
  RecordingConfig recording;
  gates::PolicyConfig approvals;
};

class ConfigError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Loads `path`; throws ConfigError ("FILE:LINE: what is wrong"). A missing default file is fine
// (`required` false): defaults are returned.
Config load_config(const std::filesystem::path& path, bool required);

// The default location: $COCO_HOME/config.yaml (COCO_HOME defaults to ~/.coco).
std::filesystem::path coco_home();
std::filesystem::path default_config_path();

}  // namespace coco::bridge
