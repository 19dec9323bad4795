#include "bridge/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <thread>

namespace coco::bridge {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const fs::path& file, const YAML::Node& node, const std::string& what) {
  throw ConfigError(file.string() + ":" + std::to_string(node.Mark().line + 1) + ": " + what);
}

// A mapping's key as a name. YAML allows a mapping or a list as a key (`? {a: 1}`); no key of ours is one.
std::string key_name(const fs::path& file, const YAML::Node& key) {
  if (!key.IsScalar()) fail(file, key, "keys must be plain names");
  return key.as<std::string>();
}

int positive_int(const fs::path& file, const YAML::Node& node, const std::string& key) {
  try {
    int v = node.as<int>();
    if (v < 1) fail(file, node, key + " must be at least 1");
    return v;
  } catch (const YAML::Exception&) {
    fail(file, node, key + " must be a whole number");
  }
}

void load_workers(const fs::path& file, const YAML::Node& node, WorkersConfig& out) {
  if (!node.IsMap()) fail(file, node, "workers must be a mapping");
  for (const auto& kv : node) {
    auto key = key_name(file, kv.first);
    if (key == "max_parallel") out.max_parallel = positive_int(file, kv.second, "workers.max_parallel");
    else fail(file, kv.first, "unknown key workers." + key);
  }
}

void load_recording(const fs::path& file, const YAML::Node& node, RecordingConfig& out) {
  if (!node.IsMap()) fail(file, node, "recording must be a mapping");
  for (const auto& kv : node) {
    auto key = key_name(file, kv.first);
    if (key == "buffer_kib") out.buffer_bytes = std::size_t(positive_int(file, kv.second, "recording.buffer_kib")) << 10;
    else fail(file, kv.first, "unknown key recording." + key);
  }
}

void load_codex(const fs::path& file, const YAML::Node& node, CodexConfig& out) {
  if (!node.IsMap()) fail(file, node, "codex must be a mapping");
  for (const auto& kv : node) {
    auto key = key_name(file, kv.first);
    if (key == "request_timeout_s") {
      try {
        double s = kv.second.as<double>();
        if (!(s >= 0)) fail(file, kv.second, "codex.request_timeout_s must be a number of seconds (0: no timeout)");
        out.request_timeout = std::chrono::milliseconds(static_cast<long long>(s * 1000));
      } catch (const YAML::Exception&) {
        fail(file, kv.second, "codex.request_timeout_s must be a number of seconds");
      }
    } else {
      fail(file, kv.first, "unknown key codex." + key);
    }
  }
}

}  // namespace

fs::path coco_home() {
  if (const char* h = std::getenv("COCO_HOME"); h && *h) return h;
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".coco";
}

fs::path default_config_path() { return coco_home() / "config.yaml"; }

Config load_config(const fs::path& path, bool required) {
  Config config;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (required) throw ConfigError(path.string() + ": no such file");
    return config;
  }
  config.source = path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::ParserException& e) {
    throw ConfigError(path.string() + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(path.string() + ": " + e.what());
  }
  if (root.IsNull()) return config;  // an empty file
  if (!root.IsMap()) fail(path, root, "the top level must be a mapping");
  for (const auto& kv : root) {
    auto key = key_name(path, kv.first);
    if (key == "codex") load_codex(path, kv.second, config.codex);
    else if (key == "workers") load_workers(path, kv.second, config.workers);
    else if (key == "recording") load_recording(path, kv.second, config.recording);
    else if (key == "approvals") {
      try {
        config.approvals = gates::parse_policy(kv.second, path.string());
      } catch (const gates::PolicyError& e) {
        throw ConfigError(e.what());
      }
    }
    else fail(path, kv.first, "unknown section '" + key + "'");
  }
  return config;
}

}  // namespace coco::bridge
