#include "taskdir/task_yaml.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace coco::taskdir::detail {
namespace {

std::string str(const nlohmann::json& meta, const char* key) {
  auto it = meta.find(key);
  return it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string scalar(const YAML::Node& map, const char* key) {
  YAML::Node n = map[key];
  if (!n || !n.IsScalar()) return {};
  return n.as<std::string>();
}

}  // namespace

std::string render_task_yaml(const nlohmann::json& meta) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "id" << YAML::Value << str(meta, "id");
  // Free text is always quoted so that a title like "yes" or "1.0" stays a string for every reader.
  out << YAML::Key << "title" << YAML::Value << YAML::DoubleQuoted << str(meta, "title");
  out << YAML::Key << "status" << YAML::Value << str(meta, "status");
  if (!str(meta, "reason").empty()) out << YAML::Key << "reason" << YAML::Value << YAML::DoubleQuoted << str(meta, "reason");
  // Quoted too: unquoted, YAML readers turn timestamps into datetimes.
  out << YAML::Key << "created" << YAML::Value << YAML::DoubleQuoted << str(meta, "created");
  out << YAML::Key << "updated" << YAML::Value << YAML::DoubleQuoted << str(meta, "updated");
  out << YAML::Key << "cwd" << YAML::Value << YAML::DoubleQuoted << str(meta, "cwd");
  out << YAML::Key << "bridge_pid" << YAML::Value << meta.value("bridge_pid", 0L);
  out << YAML::Key << "bridge_start_ticks" << YAML::Value << meta.value("bridge_start_ticks", 0ULL);
  out << YAML::Key << "codex_version" << YAML::Value << YAML::DoubleQuoted << str(meta, "codex_version");
  out << YAML::Key << "agents" << YAML::Value << YAML::BeginSeq;
  if (auto it = meta.find("agents"); it != meta.end() && it->is_array()) {
    for (const auto& agent : *it) {
      out << YAML::BeginMap;
      out << YAML::Key << "id" << YAML::Value << str(agent, "id");
      out << YAML::Key << "kind" << YAML::Value << str(agent, "kind");
      out << YAML::Key << "status" << YAML::Value << str(agent, "status");
      out << YAML::EndMap;
    }
  }
  out << YAML::EndSeq;
  if (auto it = meta.find("recording"); it != meta.end() && it->is_object()) {
    // Whether every record reached the disk; when not, what is missing (docs/task-directory.md).
    out << YAML::Key << "recording" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, value] : it->items()) {
      if (value.is_boolean()) out << YAML::Key << key << YAML::Value << value.get<bool>();
      else if (value.is_number_unsigned()) out << YAML::Key << key << YAML::Value << value.get<std::uint64_t>();
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  std::string text = out.c_str();
  text += '\n';
  return text;
}

std::optional<TaskSummary> parse_task_yaml(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
  if (!root.IsMap()) return std::nullopt;
  TaskSummary task;
  try {
    task.id = scalar(root, "id");
    if (task.id.empty()) return std::nullopt;
    task.title = scalar(root, "title");
    task.status = scalar(root, "status");
    task.reason = scalar(root, "reason");
    task.recorded_status = task.status;
    task.created = scalar(root, "created");
    task.updated = scalar(root, "updated");
    task.cwd = scalar(root, "cwd");
    task.codex_version = scalar(root, "codex_version");
    if (auto pid = root["bridge_pid"]; pid && pid.IsScalar()) task.bridge_pid = pid.as<long>(0);
    if (auto ticks = root["bridge_start_ticks"]; ticks && ticks.IsScalar()) {
      task.bridge_start_ticks = ticks.as<unsigned long long>(0);
    }
    if (auto recording = root["recording"]; recording && recording.IsMap()) {
      auto number = [&](const char* key) {
        auto n = recording[key];
        return n && n.IsScalar() ? n.as<std::uint64_t>(0) : std::uint64_t{0};
      };
      if (auto complete = recording["complete"]; complete && complete.IsScalar()) {
        task.recording_complete = complete.as<bool>(true);
      }
      task.lost_records = number("lost_records");
      task.records = number("records");
      task.dropped_records = number("dropped_records");
    }
    if (auto agents = root["agents"]; agents && agents.IsSequence()) {
      for (const auto& a : agents) {
        if (!a.IsMap()) continue;
        task.agents.push_back({scalar(a, "id"), scalar(a, "kind"), scalar(a, "status")});
      }
    }
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
  return task;
}

unsigned long long process_start_ticks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may contain spaces and parentheses: fields are counted after the
  // last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return 0;
  }
  try {
    return std::stoull(field);
  } catch (...) {
    return 0;
  }
}

}  // namespace coco::taskdir::detail
