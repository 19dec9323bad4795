#include "taskdir/task_reader.h"

#include "protocol/json_text.h"
#include "taskdir/fs_util.h"
#include "taskdir/task_writer.h"
#include "taskdir/task_yaml.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>

namespace coco::taskdir {
namespace {

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// True when /proc/<pid>/cmdline names a coco program (argv[0] or, for wrappers such as valgrind or a
// debugger, any later argument). If /proc cannot tell, the process is given the benefit of the doubt.
bool cmdline_is_coco(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  if (!in) return true;
  std::string arg;
  bool any = false;
  while (std::getline(in, arg, '\0')) {
    any = true;
    std::string base = std::filesystem::path(arg).filename().string();
    if (base.find("coco") != std::string::npos) return true;
  }
  return !any;  // empty cmdline: a zombie or kernel thread, cannot tell
}

// Whether the bridge that wrote a `running` task is still the process behind bridge_pid.
bool bridge_alive(const TaskSummary& task) {
  if (task.bridge_pid <= 0) return false;
  if (::kill(static_cast<pid_t>(task.bridge_pid), 0) != 0) {
    // ESRCH: gone. EPERM: the pid now belongs to another user, so it is not our bridge.
    return false;
  }
  if (task.bridge_start_ticks != 0) {
    unsigned long long ticks = detail::process_start_ticks(task.bridge_pid);
    if (ticks != 0) return ticks == task.bridge_start_ticks;
  }
  return cmdline_is_coco(task.bridge_pid);
}

std::string format_age(const std::string& created, std::chrono::system_clock::time_point now) {
  auto t = detail::parse_iso_utc(created);
  if (!t) return "?";
  auto s = std::chrono::duration_cast<std::chrono::seconds>(now - *t).count();
  if (s < 0) s = 0;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

void pad(std::string& out, const std::string& s, std::size_t width) {
  out += s;
  for (std::size_t w = display_width(s); w < width; ++w) out += ' ';
}

bool is_id_prefix_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == 'T' || c == 'Z' || c == '-';
}

}  // namespace

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& file, std::size_t* bad_lines) {
  std::vector<nlohmann::json> out;
  std::size_t bad = 0;
  std::ifstream in(file, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    // Capped nesting: anyone who can write the directory could plant a line nested 100,000 deep, and
    // rendering such a value recurses.
    auto parsed = protocol::parse_json(line);
    if (!parsed.ok()) {
      ++bad;  // a torn last line after a crash, garbage, or too deep: skip it, keep the rest
      continue;
    }
    out.push_back(std::move(parsed.value));
  }
  if (bad_lines != nullptr) *bad_lines = bad;
  return out;
}

std::optional<TaskSummary> load_task(const std::filesystem::path& task_dir) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(task_dir / "task.yaml", ec)) return std::nullopt;
  auto task = detail::parse_task_yaml(read_file(task_dir / "task.yaml"));
  if (!task) return std::nullopt;
  task->dir = task_dir;
  if (task->status == "running" && !bridge_alive(*task)) task->status = "interrupted";
  return task;
}

nlohmann::json task_list_json(const std::vector<TaskSummary>& tasks) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tasks) {
    nlohmann::json agents = nlohmann::json::array();
    for (const auto& a : t.agents) agents.push_back({{"id", a.id}, {"kind", a.kind}, {"status", a.status}});
    nlohmann::json j = {{"id", t.id},         {"dir", t.dir.string()}, {"title", t.title},
                        {"status", t.status}, {"created", t.created},  {"updated", t.updated},
                        {"cwd", t.cwd},       {"codexVersion", t.codex_version}, {"agents", agents}};
    if (!t.reason.empty()) j["reason"] = t.reason;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<TaskSummary> list_tasks(const std::filesystem::path& root) {
  std::vector<TaskSummary> tasks;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (!is_valid_task_id(name) || !entry.is_directory(ec)) continue;
    if (auto task = load_task(entry.path())) tasks.push_back(std::move(*task));
  }
  // Ids start with their creation time, so the newest sorts last by name.
  std::sort(tasks.begin(), tasks.end(),
            [](const TaskSummary& a, const TaskSummary& b) { return a.dir.filename() > b.dir.filename(); });
  return tasks;
}

std::optional<std::filesystem::path> resolve_task(const std::filesystem::path& root,
                                                  const std::string& id_or_path) {
  std::error_code ec;
  if (id_or_path.empty()) return std::nullopt;
  if (is_valid_task_id(id_or_path) && std::filesystem::is_regular_file(root / id_or_path / "task.yaml", ec)) {
    return root / id_or_path;
  }
  std::filesystem::path as_path(id_or_path);
  if (std::filesystem::is_regular_file(as_path / "task.yaml", ec)) {
    return std::filesystem::absolute(as_path, ec).lexically_normal();
  }
  // A unique prefix of an id under root ("20250301T1012"): what people type.
  if (id_or_path.size() < 4 || !std::all_of(id_or_path.begin(), id_or_path.end(), is_id_prefix_char)) {
    return std::nullopt;
  }
  std::optional<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (!is_valid_task_id(name) || name.compare(0, id_or_path.size(), id_or_path) != 0) continue;
    if (!std::filesystem::is_regular_file(entry.path() / "task.yaml", ec)) continue;
    if (found) return std::nullopt;  // ambiguous
    found = entry.path();
  }
  return found;
}

std::string render_task_list(const std::vector<TaskSummary>& tasks) {
  return render_task_list(tasks, std::chrono::system_clock::now());
}

std::string render_task_list(const std::vector<TaskSummary>& tasks,
                             std::chrono::system_clock::time_point now) {
  if (tasks.empty()) return "No tasks.\n";
  struct Row {
    std::string id, status, age, agents, title;
  };
  std::vector<Row> rows;
  Row header{"ID", "STATUS", "AGE", "AGENTS", "TITLE"};
  std::size_t w_id = header.id.size(), w_status = header.status.size(), w_age = header.age.size(),
              w_agents = header.agents.size();
  for (const auto& t : tasks) {
    std::size_t running = std::count_if(t.agents.begin(), t.agents.end(),
                                        [](const AgentSummary& a) { return a.status == "running"; });
    std::string agents = std::to_string(t.agents.size());
    if (running != 0 && running != t.agents.size()) agents += " (" + std::to_string(running) + " running)";
    Row r{t.id, t.status, format_age(t.created, now), agents, t.title.empty() ? "-" : t.title};
    w_id = std::max(w_id, display_width(r.id));
    w_status = std::max(w_status, display_width(r.status));
    w_age = std::max(w_age, display_width(r.age));
    w_agents = std::max(w_agents, display_width(r.agents));
    rows.push_back(std::move(r));
  }
  std::string out;
  auto emit = [&](const Row& r) {
    pad(out, r.id, w_id + 2);
    pad(out, r.status, w_status + 2);
    // Ages read best right-aligned ("3m" above "12m").
    for (std::size_t w = display_width(r.age); w < w_age; ++w) out += ' ';
    out += r.age + "  ";
    pad(out, r.agents, w_agents + 2);
    out += r.title;
    out += '\n';
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return out;
}

}  // namespace coco::taskdir
