// `coco run "prompt"`: a headless one-shot through the bridge. It plays the editor's part against a
// child `coco bridge`: one thread, one turn, the agent's text streamed to stdout, everything else
// (commands, approvals, status) on stderr, and an exit code that tells how the turn ended.
#include "cli/run_cli.h"

#include "cli/bridge_client.h"
#include "bridge/version.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include <unistd.h>

extern char** environ;

namespace coco::cli {
using bridge::kCocoVersion;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Asks one approval on the terminal; returns {optionId, feedback}.
std::pair<std::string, std::string> ask_on_terminal(const json& p, std::istream& tty) {
  std::cerr << "\n\033[1m" << p.value("title", "Approval needed") << "\033[0m\n" << p.value("detail", "") << "\n";
  const json& options = p.value("options", json::array());
  std::size_t def = 0;
  for (std::size_t i = 0; i < options.size(); ++i) {
    if (options[i].value("isDefault", false)) def = i;
    std::cerr << "  " << i + 1 << ") " << options[i].value("label", "") << (options[i].value("isDefault", false) ? "  [default]" : "")
              << "\n";
  }
  for (;;) {
    std::cerr << "Choose 1-" << options.size() << " (Enter = " << def + 1 << "): " << std::flush;
    std::string line;
    if (!std::getline(tty, line)) return {"", ""};  // the terminal went away: let policy/timeout decide
    std::size_t choice = def;
    if (!line.empty()) {
      try {
        choice = std::stoul(line) - 1;
      } catch (const std::exception&) {
        choice = options.size();
      }
    }
    if (choice >= options.size()) continue;
    const json& o = options[choice];
    std::string feedback;
    if (o.value("kind", "") == "deny") {
      std::cerr << "Tell the agent why (optional, Enter to skip): " << std::flush;
      std::getline(tty, feedback);
    }
    return {o.value("id", ""), feedback};
  }
}

}  // namespace

int run_one_shot(const RunOptions& o) {
  bool interactive = ::isatty(0) && o.approvals == "ask";
  std::string mode = o.approvals == "ask" && !interactive ? "dir" : o.approvals;  // no terminal: hand off to the directory
  std::string self = fs::read_symlink("/proc/self/exe").string();

  BridgeClient::Options bo;
  bo.argv = {self, "bridge", "--task-root", o.task_root.string(), "--cwd", o.cwd, "--approvals", mode == "ask" ? "ask" : mode,
             "--log-level", o.log_level};
  if (!o.codex.empty()) bo.argv.insert(bo.argv.end(), {"--codex", o.codex});
  if (!o.config.empty()) bo.argv.insert(bo.argv.end(), {"--config", o.config});
  if (!o.log_file.empty()) bo.argv.insert(bo.argv.end(), {"--log-file", o.log_file});
  BridgeClient client(bo);

  const auto kReplyTimeout = std::chrono::seconds(120);
  std::string task_dir;
  auto wait_response = [&](std::int64_t id) -> json {
    auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = client.next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!m) break;
      if (!m->contains("method") && m->value("id", json()) == id) return *m;
    }
    return nullptr;
  };
  auto fail = [&](const std::string& what, const json& r) {
    std::cerr << "coco run: " << what << " failed: " << (r.is_null() ? std::string("no answer from the bridge") : r.dump()) << "\n";
    return 4;
  };

  json init = wait_response(client.request(
      "initialize", {{"clientInfo", {{"name", "coco_run"}, {"title", "coco run"}, {"version", kCocoVersion}}},
                     {"capabilities", {{"coco", {{"approvals", "prompt"}}}}}}));
  if (!init.contains("result")) return fail("initialize", init);
  task_dir = init["result"]["coco"].value("taskDir", "");
  client.notify("initialized", nullptr);
  json thread = wait_response(client.request("thread/start", {{"cwd", o.cwd}}));
  if (!thread.contains("result")) return fail("thread/start", thread);
  std::string thread_id = thread["result"]["thread"].value("id", "");
  json turn = wait_response(client.request(
      "turn/start", {{"threadId", thread_id}, {"input", json::array({{{"type", "text"}, {"text", o.prompt}}})}}));
  if (!turn.contains("result")) return fail("turn/start", turn);
  std::string turn_id = turn["result"]["turn"].value("id", "");

  std::ifstream tty_file;
  if (interactive) tty_file.open("/dev/tty");
  std::istream& tty = tty_file.is_open() ? static_cast<std::istream&>(tty_file) : std::cin;
  std::string status;
  bool text_open = false;
  std::set<std::string> streamed_items;  // agent messages already shown through deltas
  while (status.empty()) {
    auto m = client.next(std::chrono::hours(24));
    if (!m) break;
    std::string method = m->value("method", "");
    const json params = m->value("params", json::object());
    if (m->contains("id") && method == "coco/approval/request") {
      auto [option, feedback] = ask_on_terminal(params, tty);
      if (option.empty()) continue;
      json answer = {{"optionId", option}};
      if (!feedback.empty()) answer["feedback"] = feedback;
      client.respond((*m)["id"], answer);
    } else if (m->contains("id") && m->contains("method")) {
      client.respond((*m)["id"], nullptr);  // nothing else is expected of a one-shot client
    } else if (method == "coco/approval/pending") {
      std::string task_id = fs::path(task_dir).filename().string();
      std::cerr << "\n[approval needed] " << params.value("title", "") << "\n  answer with: coco gate answer " << task_id << " "
                << params.value("gateId", "") << " <option>   (options:";
      for (const auto& opt : params.value("options", json::array())) std::cerr << " " << opt.value("id", "");
      std::cerr << ")\n";
    } else if (method == "coco/approval/resolved") {
      std::cerr << "[approval " << params.value("gateId", "") << " resolved by " << params.value("by", "") << "]\n";
    } else if (method == "item/agentMessage/delta") {
      std::cout << params.value("delta", "") << std::flush;
      streamed_items.insert(params.value("itemId", ""));
      text_open = true;
    } else if (method == "item/completed" && params.value("item", json::object()).value("type", "") == "agentMessage") {
      // A message that arrived whole (no deltas) is printed now.
      if (!streamed_items.count(params["item"].value("id", ""))) std::cout << params["item"].value("text", "");
      if (text_open || !streamed_items.count(params["item"].value("id", ""))) std::cout << "\n" << std::flush;
      text_open = false;
    } else if (method == "item/started" && params.value("item", json::object()).value("type", "") == "commandExecution") {
      std::cerr << "$ " << params["item"].value("command", "") << "\n";
    } else if (method == "item/completed" && params.value("item", json::object()).value("type", "") == "commandExecution") {
      const json& item = params["item"];
      std::cerr << "  (" << item.value("status", "") << (item.contains("exitCode") && !item["exitCode"].is_null() ? ", exit " + item["exitCode"].dump() : "")
                << ")\n";
    } else if (method == "error") {
      std::cerr << "[codex error] " << params.value("error", json::object()).value("message", params.dump()) << "\n";
    } else if (method == "coco/upstream/exited") {
      std::cerr << "[codex exited: " << params.value("description", "") << "]\n";
    } else if (method == "turn/completed" && params.value("turn", json::object()).value("id", "") == turn_id) {
      status = params["turn"].value("status", "");
      if (params["turn"].contains("error") && !params["turn"]["error"].is_null())
        std::cerr << "[turn failed] " << params["turn"]["error"].dump() << "\n";
    }
  }
  client.close_and_wait(std::chrono::seconds(15));
  std::cerr << "[turn " << (status.empty() ? "did not finish" : status) << "; task " << task_dir << "]\n";
  if (status == "completed") return 0;
  if (status == "interrupted") return 3;
  if (status == "failed") return 1;
  return 4;
}

}  // namespace coco::cli
