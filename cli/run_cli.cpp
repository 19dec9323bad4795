// `coco run "prompt"`: a headless one-shot through the bridge. It plays the editor's part against a
// child `coco bridge`: one thread, one turn, the agent's text streamed to stdout, everything else
// (commands, approvals, status) on stderr, and an exit code that tells how the turn ended.
#include "cli/run_cli.h"

#include "cli/bridge_client.h"
#include "cli/turn_client.h"
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

// What `coco run` shows: the agent's text on stdout, the rest on stderr; approvals asked on the terminal.
class TerminalView final : public TurnView {
public:
  TerminalView(bool interactive, std::istream& tty) : interactive_(interactive), tty_(tty) {}

  void started(const std::string& task_dir) override { task_id_ = fs::path(task_dir).filename().string(); }
  void agent_text(const std::string& text) override {
    std::cout << text << std::flush;
    text_open_ = !text.empty();
  }
  void agent_message_done() override {
    if (text_open_) std::cout << "\n" << std::flush;
    text_open_ = false;
  }
  void command_started(const json& item) override { std::cerr << "$ " << item.value("command", "") << "\n"; }
  void command_completed(const json& item) override {
    const json& code = item.contains("exitCode") ? item["exitCode"] : json();
    std::cerr << "  (" << item.value("status", "") << (code.is_number() ? ", exit " + code.dump() : "") << ")\n";
  }
  std::optional<json> approve(const json& prompt) override {
    if (!interactive_) return std::nullopt;
    auto [option, feedback] = ask_on_terminal(prompt, tty_);
    if (option.empty()) return std::nullopt;  // the terminal went away: policy, timeout or the directory decide
    json answer = {{"optionId", option}};
    if (!feedback.empty()) answer["feedback"] = feedback;
    return answer;
  }
  void approval_pending(const json& p) override {
    std::cerr << "\n[approval needed] " << p.value("title", "") << "\n  answer with: coco gate answer " << task_id_ << " "
              << p.value("gateId", "") << " <option>   (options:";
    for (const auto& opt : p.value("options", json::array())) std::cerr << " " << opt.value("id", "");
    std::cerr << ")\n";
  }
  void approval_resolved(const json& p) override {
    std::cerr << "[approval " << p.value("gateId", "") << " resolved by " << p.value("by", "") << "]\n";
  }
  void problem(const std::string& what) override { std::cerr << "[" << what << "]\n"; }

private:
  bool interactive_;
  std::istream& tty_;
  bool text_open_ = false;
  std::string task_id_;
};

}  // namespace

int run_one_shot(const RunOptions& o) {
  bool interactive = ::isatty(0) && o.approvals == "ask";
  std::string mode = o.approvals == "ask" && !interactive ? "dir" : o.approvals;  // no terminal: hand off to the directory
  std::string self = fs::read_symlink("/proc/self/exe").string();

  BridgeClient::Options bo;
  bo.argv = {self, "bridge", "--task-root", o.task_root.string(), "--cwd", o.cwd, "--approvals", mode, "--log-level", o.log_level};
  if (!o.codex.empty()) bo.argv.insert(bo.argv.end(), {"--codex", o.codex});
  if (!o.config.empty()) bo.argv.insert(bo.argv.end(), {"--config", o.config});
  if (!o.log_file.empty()) bo.argv.insert(bo.argv.end(), {"--log-file", o.log_file});
  BridgeClient client(bo);

  std::ifstream tty_file;
  if (interactive) tty_file.open("/dev/tty");
  TerminalView view(interactive, tty_file.is_open() ? static_cast<std::istream&>(tty_file) : std::cin);
  TurnRequest request;
  request.client_name = "coco_run";
  request.cwd = o.cwd;
  request.prompt = o.prompt;
  TurnResult r = run_turn(client, request, view);
  if (!r.error.empty()) {
    std::cerr << "coco run: " << r.error << "\n";
    return 4;
  }
  client.close_and_wait(std::chrono::seconds(15));
  std::cerr << "[turn " << (r.status.empty() ? "did not finish" : r.status) << "; task " << r.task_dir << "]\n";
  if (r.status == "completed") return 0;
  if (r.status == "interrupted") return 3;
  if (r.status == "failed") return 1;
  return 4;
}

}  // namespace coco::cli
