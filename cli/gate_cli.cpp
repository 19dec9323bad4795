// `coco gate ls|answer`: the task-directory hand-off from a shell. A running bridge polls
// gates/*.decision.json and applies a valid decision within a second (docs/approvals.md).
#include "cli/gate_cli.h"

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

json read_json_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream buf;
  buf << in.rdbuf();
  return json::parse(buf.str(), nullptr, false);
}

std::vector<json> gates_of(const fs::path& task_dir) {
  std::vector<json> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(task_dir / "gates", ec)) {
    std::string name = e.path().filename().string();
    if (name.size() < 6 || name.find(".decision.") != std::string::npos || e.path().extension() != ".json") continue;
    json g = read_json_file(e.path());
    if (g.is_object()) out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
    auto num = [](const json& g) { return std::stol(g.value("gateId", "g0").substr(1)); };
    return num(a) < num(b);
  });
  return out;
}

void print_gate(const std::string& task_id, const json& g) {
  std::cout << task_id << "  " << g.value("gateId", "?") << "  [" << g.value("kind", "?") << "]  " << g.value("title", "")
            << "\n    options:";
  for (const auto& o : g.value("options", json::array()))
    std::cout << "  " << o.value("id", "") << (o.value("isDefault", false) ? "*" : "");
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
  for (const auto& d : dirs) {
    for (const auto& g : gates_of(d)) {
      if (g.value("status", "") != "open") continue;
      print_gate(d.filename().string(), g);
      ++open;
    }
  }
  if (open == 0) std::cout << "no open gates\n";
  return 0;
}

int gate_answer(const fs::path& root, const std::string& task, const std::string& gate_id, const std::string& option_id,
                const std::string& feedback) {
  auto dir = taskdir::resolve_task(root, task);
  if (!dir) throw std::invalid_argument("no task '" + task + "' under " + root.string());
  if (!taskdir::is_valid_name(gate_id)) throw std::invalid_argument("'" + gate_id + "' is not a gate id");
  fs::path gate_file = *dir / "gates" / (gate_id + ".json");
  json gate = read_json_file(gate_file);
  if (!gate.is_object()) throw std::invalid_argument("no gate " + gate_id + " in task " + dir->filename().string());
  if (gate.value("status", "") != "open") {
    std::cerr << "coco: gate " << gate_id << " is already resolved: " << gate.value("outcome", json()).dump() << "\n";
    return 1;
  }
  bool known = false;
  for (const auto& o : gate.value("options", json::array())) known = known || o.value("id", "") == option_id;
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
    if (now.is_object() && now.value("status", "") == "resolved") {
      const json& out = now.value("outcome", json::object());
      std::cout << "gate " << gate_id << " resolved by " << out.value("by", "?") << ": " << out.value("optionId", "") << "\n";
      return out.value("by", "") == "directory" && out.value("optionId", "") == option_id ? 0 : 1;
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
