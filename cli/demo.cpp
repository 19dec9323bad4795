// `coco demo`: the whole stack, offline, in a few seconds. It plays the editor's part against a
// real `coco bridge`, which drives the real codex, which talks to `coco mock-model`.
#include "cli/demo.h"

#include "cli/bridge_client.h"
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

std::string short_text(const std::string& s, std::size_t max) {
  return s.size() <= max ? s : s.substr(0, max) + "...";
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

  const auto timeout = std::chrono::seconds(60);
  // Waits for the response to `id`, showing what streams by in the meantime.
  std::string task_dir;
  bool turn_done = false;
  std::string turn_status;
  auto pump = [&](std::int64_t wait_id) -> json {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto msg = client.next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!msg) break;
      const json& m = *msg;
      if (m.contains("id") && !m.contains("method")) {
        if (m["id"] == wait_id) return m;
        continue;
      }
      std::string method = m.value("method", "");
      const json params = m.value("params", json::object());
      if (m.contains("id")) {  // codex asks a human: the demo approves, and says so
        std::cout << "\n[approval] " << method << ": " << params.value("command", params.value("reason", "")) << " -> accept\n";
        client.respond(m["id"], {{"decision", "accept"}});
      } else if (method == "item/agentMessage/delta") {
        std::cout << params.value("delta", "") << std::flush;
      } else if (method == "item/started" && params["item"].value("type", "") == "commandExecution") {
        std::cout << "\n$ " << params["item"].value("command", "") << "\n";
      } else if (method == "item/completed" && params["item"].value("type", "") == "commandExecution") {
        const json& item = params["item"];
        std::string out = item.value("aggregatedOutput", "");
        if (!out.empty()) std::cout << short_text(out, 600) << (out.back() == '\n' ? "" : "\n");
        std::cout << "(exit code " << (item.contains("exitCode") && !item["exitCode"].is_null() ? item["exitCode"].dump() : "?")
                  << ")\n\n";
      } else if (method == "turn/completed") {
        turn_done = true;
        turn_status = params["turn"].value("status", "");
        if (wait_id < 0) return m;
      }
    }
    return nullptr;
  };

  auto init = pump(client.request("initialize", {{"clientInfo", {{"name", "coco_demo"}, {"title", "Coco demo"}, {"version", kCocoVersion}}}}));
  if (!init.is_object() || !init.contains("result")) {
    std::cerr << "coco: initialize failed: " << init.dump() << " (logs in " << scratch.string() << ")\n";
    return 1;
  }
  task_dir = init["result"]["coco"].value("taskDir", "");
  client.notify("initialized", nullptr);
  auto thread = pump(client.request("thread/start", {{"cwd", workspace.string()}}));
  if (!thread.contains("result")) {
    std::cerr << "coco: thread/start failed: " << thread.dump() << "\n";
    return 1;
  }
  std::string thread_id = thread["result"]["thread"].value("id", "");
  std::cout << "> " << kDemoPrompt << "\n";
  auto turn = pump(client.request("turn/start", {{"threadId", thread_id}, {"input", {{{"type", "text"}, {"text", kDemoPrompt}}}}}));
  if (!turn.contains("result")) {
    std::cerr << "coco: turn/start failed: " << turn.dump() << "\n";
    return 1;
  }
  if (!turn_done) pump(-1);
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
