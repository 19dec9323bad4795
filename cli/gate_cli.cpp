// `coco gate ls|answer`: the task-directory hand-off from a shell. A running bridge polls
// gates/*.decision.json and applies a valid decision within a second (docs/approvals.md).
#include "cli/gate_cli.h"

#include "protocol/json_text.h"
#include "taskdir/task_reader.h"
#include "taskdir/task_writer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace coco::cli {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Gate files are written by the bridge but live in a directory anyone with access may edit: every
// read is typed, and a file that does not fit is named, never fatal.
json read_json_file(const fs::path& p, std::string* problem = nullptr) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    if (problem) *problem = "cannot be read";
    return json(json::value_t::discarded);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = protocol::parse_json(buf.str());
  if (!parsed.ok()) {
    if (problem) *problem = parsed.status == protocol::JsonStatus::TooDeep ? "nested too deeply" : "not valid JSON";
    return json(json::value_t::discarded);
  }
  if (!parsed.value.is_object()) {
    if (problem) *problem = "not a JSON object";
    return json(json::value_t::discarded);
  }
  return std::move(parsed.value);
}

std::string str(const json& j, const char* key, const std::string& fallback = "") {
  auto it = j.is_object() ? j.find(key) : j.end();
  return j.is_object() && it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

const json& array_of(const json& j, const char* key) {
  static const json kEmpty = json::array();
  auto it = j.is_object() ? j.find(key) : j.end();
  return j.is_object() && it != j.end() && it->is_array() ? *it : kEmpty;
}

// "g12" -> 12; anything else sorts first.
long gate_number(const json& g) {
  std::string id = str(g, "gateId");
  if (id.size() < 2 || id[0] != 'g' || id.size() > 12) return -1;
  long n = 0;
  for (std::size_t i = 1; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return -1;
    n = n * 10 + (id[i] - '0');
  }
  return n;
}

struct GateFile {
  fs::path path;
  json gate;
};

std::vector<GateFile> gates_of(const fs::path& task_dir, std::vector<std::string>& broken) {
  std::vector<GateFile> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(task_dir / "gates", ec)) {
    std::string name = e.path().filename().string();
    if (name.size() < 6 || name[0] == '.' || name.find(".decision.") != std::string::npos || e.path().extension() != ".json")
      continue;
    std::string problem;
    json g = read_json_file(e.path(), &problem);
    if (g.is_discarded()) {
      broken.push_back(e.path().string() + ": " + problem);
      continue;
    }
    out.push_back({e.path(), std::move(g)});
  }
  std::sort(out.begin(), out.end(), [](const GateFile& a, const GateFile& b) {
    long x = gate_number(a.gate), y = gate_number(b.gate);
    return x != y ? x < y : a.path < b.path;
  });
  return out;
}

void print_gate(const std::string& task_id, const json& g) {
  std::cout << task_id << "  " << str(g, "gateId", "?") << "  [" << str(g, "kind", "?") << "]  " << str(g, "title")
            << "\n    options:";
  for (const auto& o : array_of(g, "options")) {
    if (!o.is_object()) continue;
    auto is_default = o.find("isDefault");
    std::cout << "  " << str(o, "id") << (is_default != o.end() && is_default->is_boolean() && is_default->get<bool>() ? "*" : "");
  }
  std::cout << "\n";
}

}  // namespace

int gate_ls(const fs::path& root, const std::string& task) {
  std::vector<fs::path> dirs;
  if (!task.empty()) {
    auto d = taskdir::resolve_task(root, task);
    if (!d) throw std::invalid_argument("no task '" + task + "' under " + root.string());
    dirs.push_back(*d);
  } else {
    for (const auto& t : taskdir::list_tasks(root))
      if (t.status == "running") dirs.push_back(t.dir);
  }
  int open = 0;
  std::vector<std::string> broken;
  for (const auto& d : dirs) {
    for (const auto& g : gates_of(d, broken)) {
      if (str(g.gate, "status") != "open") continue;
      print_gate(d.filename().string(), g.gate);
      ++open;
    }
  }
  if (open == 0) std::cout << "no open gates\n";
  // What could not be read is named, after what could: one bad file hides nothing else.
  for (const auto& b : broken) std::cerr << "coco: skipped " << b << "\n";
  return 0;
}

int gate_answer(const fs::path& root, const std::string& task, const std::string& gate_id, const std::string& option_id,
                const std::string& feedback) {
  auto dir = taskdir::resolve_task(root, task);
  if (!dir) throw std::invalid_argument("no task '" + task + "' under " + root.string());
  if (!taskdir::is_valid_name(gate_id)) throw std::invalid_argument("'" + gate_id + "' is not a gate id");
  fs::path gate_file = *dir / "gates" / (gate_id + ".json");
  std::string problem;
  json gate = read_json_file(gate_file, &problem);
  if (gate.is_discarded()) {
    std::error_code ec;
    if (!fs::exists(gate_file, ec)) throw std::invalid_argument("no gate " + gate_id + " in task " + dir->filename().string());
    throw std::invalid_argument(gate_file.string() + ": " + problem);
  }
  if (str(gate, "status") != "open") {
    auto outcome = gate.find("outcome");
    std::cerr << "coco: gate " << gate_id << " is already resolved: "
              << (outcome != gate.end() ? outcome->dump(-1, ' ', false, json::error_handler_t::replace) : "null") << "\n";
    return 1;
  }
  bool known = false;
  for (const auto& o : array_of(gate, "options")) known = known || str(o, "id") == option_id;
  if (!known) throw std::invalid_argument("gate " + gate_id + " has no option '" + option_id + "'");

  json decision = {{"optionId", option_id}};
  if (!feedback.empty()) decision["feedback"] = feedback;
  // Written under a temporary name and renamed, so the bridge never reads half a decision.
  fs::path final_path = *dir / "gates" / (gate_id + ".decision.json");
  fs::path tmp = *dir / "gates" / ("." + gate_id + ".decision.tmp");
  std::error_code ignored;
  fs::remove(final_path.string() + ".rejected", ignored);  // an earlier, rejected attempt
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string());
  std::string body = decision.dump() + "\n";
  bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), final_path.c_str()) != 0) throw std::runtime_error("cannot write " + final_path.string());

  // A running bridge applies it within a second; say what happened.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    json now = read_json_file(gate_file);
    if (str(now, "status") == "resolved") {
      auto it = now.find("outcome");
      const json out = it != now.end() && it->is_object() ? *it : json::object();
      std::cout << "gate " << gate_id << " resolved by " << str(out, "by", "?") << ": " << str(out, "optionId") << "\n";
      return str(out, "by") == "directory" && str(out, "optionId") == option_id ? 0 : 1;
    }
    if (fs::exists(final_path.string() + ".rejected")) {
      std::cerr << "coco: the bridge rejected the decision (see events.jsonl)\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cout << "decision written to " << final_path.string() << "; no running bridge applied it yet\n";
  return 0;
}

}  // namespace coco::cli
