#pragma once
// What an exec worker is asked to do, and the validation of everything that reaches its argv.
//
// Input comes from an editor (coco/exec/spawn) or a shell (coco exec) and ends up as arguments of
// `codex exec`: nothing here ever goes through a shell, names never become paths unless they pass
// taskdir::is_valid_name, and config values are re-serialized as TOML literals so that a value can
// never smuggle in a second key.

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coco::workers {

enum class Isolation { None, Worktree };
std::string_view to_string(Isolation isolation);

struct WorkerSpec {
  std::string prompt;
  std::string cwd;                             // absolute; the directory the user named
  std::optional<nlohmann::json> output_schema;  // a JSON schema (object)
  // Always passed with --sandbox, so the pool knows exactly which workers can write (the
  // single-writer rule) whatever the user's config.toml says.
  std::string sandbox = "read-only";
  std::string model;  // "" = codex's default
  std::vector<std::pair<std::string, std::string>> config;  // -c key=<TOML literal>, validated
  Isolation isolation = Isolation::None;
  std::chrono::milliseconds timeout{0};  // 0 = none
};

// read-only | workspace-write | danger-full-access
bool is_valid_sandbox(std::string_view sandbox);
// Whether a worker with this sandbox may change its cwd (and so falls under the single-writer rule).
bool is_writable_sandbox(std::string_view sandbox);
// A dotted codex config key: [A-Za-z0-9_.-]+, no empty segment.
bool is_valid_config_key(std::string_view key);
// A JSON value as a TOML literal for `-c key=value`: strings quoted and escaped, arrays and inline
// tables recursively. Throws std::invalid_argument for null (TOML has none).
std::string toml_literal(const nlohmann::json& value);
// A codex thread id before it goes back into argv (`resume <id>`): letters, digits and '-', not
// starting with '-'.
bool is_valid_thread_id(std::string_view id);

// The params of coco/exec/spawn, validated. `base_cwd` resolves a relative or missing cwd.
// Throws std::invalid_argument with a message naming the bad field.
struct SpawnRequest {
  std::string name;  // "" = generate one
  WorkerSpec spec;
};
SpawnRequest parse_spawn_params(const nlohmann::json& params, const std::string& base_cwd);

// Parses a --timeout / timeoutS value in seconds (> 0, fractions allowed). Throws std::invalid_argument.
std::chrono::milliseconds parse_timeout_seconds(const nlohmann::json& seconds, std::string_view what);

}  // namespace coco::workers
