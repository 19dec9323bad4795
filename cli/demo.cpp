// `coco demo`: the whole stack, offline, in a few seconds. It plays the editor's part against a
// real `coco bridge`, which drives the real codex, which talks to `coco mock-model`.
#include "cli/demo.h"

#include "cli/bridge_client.h"
#include "cli/turn_client.h"
#include "cli/codex_locator.h"
#include "bridge/version.h"
#include "taskdir/task_reader.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace coco::cli {
using bridge::kCocoVersion;
using bridge::kPinnedCodexVersion;
using bridge::kSourceDir;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kDemoPrompt = "Show me what is in this folder, then say hello.";

// The mock model runs as a child `coco mock-model`; its first stdout line is its port.
struct MockModelProcess {
  pid_t pid = -1;
  int port = 0;
  MockModelProcess(const std::string& self, const fs::path& script, const fs::path& log) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    std::string script_s = script.string();
    std::vector<char*> argv = {const_cast<char*>(self.c_str()), const_cast<char*>("mock-model"),
                               const_cast<char*>("--script"), script_s.data(), nullptr};
    int rc = ::posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      throw std::system_error(rc, std::generic_category(), "cannot start coco mock-model");
    }
    std::string line;
    pollfd pfd{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&pfd, 1, 10000) > 0) {
      char buf[64];
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    port = std::atoi(line.c_str());
    if (port <= 0) throw std::runtime_error("coco mock-model did not report a port (see " + log.string() + ")");
  }
  ~MockModelProcess() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

fs::path find_demo_script() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& root : {exe.parent_path().parent_path(), fs::path(kSourceDir)}) {
    fs::path p = root / "mockmodel" / "scripts" / "demo.yaml";
    if (fs::exists(p)) return p;
  }
  throw std::runtime_error("cannot find mockmodel/scripts/demo.yaml beside the coco binary or in " + std::string(kSourceDir));
}

}  // namespace

std::string codex_config_for_mock_model(int port, const std::string& model) {
  return "model = \"" + model +
         "\"\n"
         "model_provider = \"mock\"\n"
         "approval_policy = \"on-request\"\n"
         "sandbox_mode = \"read-only\"\n"
         "[analytics]\nenabled = false\n"
         "[model_providers.mock]\n"
         "name = \"mock\"\n"
         "base_url = \"http://127.0.0.1:" +
         std::to_string(port) +
         "/v1\"\n"
         "wire_api = \"responses\"\n"
         "request_max_retries = 0\n"
         "stream_max_retries = 0\n"
         "supports_websockets = false\n";
}

int run_demo(const DemoOptions& options) {
  auto codex = locate_codex(options.codex_flag);
  if (!codex.path) {
    std::cerr << "coco: " << codex.explain() << "\n";
    return 2;
  }
  std::string self = fs::read_symlink("/proc/self/exe").string();

  // The scratch space sits beside the task root, not under /tmp: codex refuses to set up its
  // sandbox helper when CODEX_HOME is inside the system temp dir, and sandboxed commands then fail.
  fs::path demo_root = options.task_root.parent_path() / "demo";
  fs::create_directories(demo_root);
  fs::permissions(demo_root, fs::perms::owner_all, fs::perm_options::replace);
  std::string tmpl = (demo_root / "run-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  fs::path scratch = tmpl;
  fs::path codex_home = scratch / "codex-home", workspace = scratch / "workspace";
  fs::create_directories(codex_home);
  fs::create_directories(workspace);
  std::ofstream(workspace / "README.txt") << "A tiny project for the Coco demo.\n";
  std::ofstream(workspace / "notes.txt") << "Nothing to see here.\n";

  std::cout << "Coco demo: a real codex " << kPinnedCodexVersion
            << " behind `coco bridge`, answering from a scripted model on 127.0.0.1 (no network, no API key).\n\n";
  MockModelProcess model(self, find_demo_script(), scratch / "mock-model.log");
  std::ofstream(codex_home / "config.toml") << codex_config_for_mock_model(model.port, "mock-model");

  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).rfind("CODEX_HOME=", 0) != 0) env.emplace_back(*e);
  }
  env.push_back("CODEX_HOME=" + codex_home.string());
  BridgeClient::Options bo;
  bo.argv = {self, "bridge", "--codex", *codex.path, "--task-root", options.task_root.string(), "--cwd", workspace.string(),
             "--log-file", (scratch / "bridge.log").string()};
  bo.env = env;
  bo.stderr_file = (scratch / "bridge.stderr").string();
  BridgeClient client(bo);

  // The demo plays a person who allows every request, and shows what passes by.
  struct DemoView final : TurnView {
    void agent_text(const std::string& text) override { std::cout << text << std::flush; }
    void command_started(const json& item) override { std::cout << "\n$ " << item.value("command", "") << "\n"; }
    void command_completed(const json& item) override {
      std::string out = item.value("aggregatedOutput", "");
      // The first lines of the output, as they were printed.
      std::size_t end = 0;
      for (int lines = 0; lines < 12 && end != std::string::npos; ++lines) end = out.find('\n', end == 0 ? 0 : end + 1);
      if (!out.empty()) std::cout << out.substr(0, end) << (end == std::string::npos ? "" : "\n...") << "\n";
      const json& code = item.contains("exitCode") ? item["exitCode"] : json();
      std::cout << "(exit code " << (code.is_number() ? code.dump() : "?") << ")\n\n";
    }
    std::optional<json> approve(const json& prompt) override {
      std::cout << "\n[approval] " << prompt.value("title", "") << " -> Allow once\n";
      return json{{"optionId", "accept"}};
    }
    void problem(const std::string& what) override { std::cout << "\n[" << what << "]\n"; }
  } view;
  std::cout << "> " << kDemoPrompt << "\n";
  TurnRequest request;
  request.client_name = "coco_demo";
  request.cwd = workspace.string();
  request.prompt = kDemoPrompt;
  request.reply_timeout = request.turn_timeout = std::chrono::seconds(60);
  TurnResult result = run_turn(client, request, view);
  if (!result.error.empty()) {
    std::cerr << "coco: " << result.error << " (logs in " << scratch.string() << ")\n";
    return 1;
  }
  std::string task_dir = result.task_dir, turn_status = result.status;
  std::cout << "\n\n[turn " << (turn_status.empty() ? "did not finish in time" : turn_status) << "]\n";
  int rc = client.close_and_wait(std::chrono::seconds(15));
  if (rc != 0) std::cerr << "coco: the bridge exited with " << rc << " (logs in " << scratch.string() << ")\n";

  std::cout << "\n======== transcript, rebuilt from the task directory alone (coco task show) ========\n\n";
  if (!task_dir.empty()) std::cout << taskdir::render_transcript(task_dir);
  std::cout << "\nTask directory: " << task_dir << "\n";
  std::cout << "Try: coco task ls   |   coco task show " << fs::path(task_dir).filename().string() << "\n";
  return turn_status == "completed" && rc == 0 ? 0 : 1;
}

}  // namespace coco::cli
