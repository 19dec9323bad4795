// The `coco` command line: one function per subcommand. Only the human-facing subcommands print to
// stdout; `coco bridge` keeps stdout for the protocol and logs to stderr or a file.
#include "cli/cli.h"

#include "bridge/bridge_runner.h"
#include "cli/codex_locator.h"
#include "bridge/config.h"
#include "cli/demo.h"
#include "cli/exec_cli.h"
#include "cli/gate_cli.h"
#include "cli/run_cli.h"
#include "bridge/version.h"
#include "mockmodel/mock_model.h"
#include "protocol/coco_schema.h"
#include "taskdir/task_reader.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

namespace coco::cli {
using bridge::BridgeOptions;
using bridge::coco_home;
using bridge::default_config_path;
using bridge::kCocoVersion;
using bridge::kPinnedCodexVersion;
using bridge::load_config;
using bridge::run_bridge;
using bridge::ConfigError;
namespace fs = std::filesystem;
namespace {

constexpr const char* kUsage = R"(coco: a bridge between editors and the Codex coding agent

usage: coco COMMAND [options]      (coco COMMAND --help for each)

  bridge      speak JSON-RPC on stdin/stdout, as `codex app-server` would (what editors start)
  acp         speak the Agent Client Protocol on stdin/stdout (Zed, JetBrains, CodeCompanion, ...)
  demo        an offline demo: mock model, real codex, through the bridge
  run         one headless turn through the bridge; the agent's text on stdout
  exec        run `codex exec` workers in parallel and join them into a report
  gate        list or answer approval gates through a task directory
  task        list task directories, print a task's transcript
  schema      print the JSON Schema of Coco's own coco/* messages
  mock-model  a scripted Responses-API server on 127.0.0.1 (prints its port)
  version     print versions
)";

constexpr const char* kCommonOptions = R"(
common options:
  --log-level LEVEL       trace|debug|info|warn|error|off (default: info)
  --log-file FILE         log to FILE instead of stderr
)";

const std::map<std::string, const char*> kCommandUsage = {
    {"bridge", R"(usage: coco bridge [options]

Speaks JSON-RPC 2.0 on stdin/stdout exactly like `codex app-server` (either framing: LSP
Content-Length headers or one JSON per line), supervises a real codex behind it, records everything
into a task directory and adds the coco/* methods (docs/protocol.md). stdout carries the protocol only.

options:
  --codex PATH            the codex executable (default: $COCO_CODEX, the project's .tools/, PATH)
  --codex-arg ARG         an extra argument for `codex app-server` (repeatable)
  --task-root DIR         where task directories go (default: $COCO_HOME/tasks, ~/.coco/tasks)
  --task ID|PATH          continue an existing task directory instead of starting a new one
                          (an id under the task root, a unique prefix of one, or a path)
  --cwd DIR               codex's working directory (default: the current one)
  --config FILE           configuration (default: $COCO_HOME/config.yaml; docs/configuration.md)
  --approvals MODE        ask|allow|deny|dir: how gates no rule answers are decided (default: config, ask)
  --approval-timeout S    answer a gate nobody answered after S seconds (approvals.on_timeout; default
                          none)
  --max-frame-bytes N     the largest message accepted from the editor (default 67108864)
  --max-restarts N        codex restarts allowed per minute before giving up (default 5)
  --no-record             keep task.yaml and events.jsonl but not the message log
  --spin-us N             poll N microseconds after each burst before sleeping: lower latency
                          (docs/performance.md); 0 never spins (default 50)
)"},
    {"acp", R"(usage: coco acp [options]

Speaks the Agent Client Protocol (ACP v1: JSON-RPC 2.0, one message per line) on stdin/stdout, for
editors that start agents as ACP subprocesses: {"command": "coco", "args": ["acp"]}. Behind it, the
same as `coco bridge`: a supervised codex app-server, gates (approvals become
session/request_permission), workers (_coco/exec/*) and a task directory per run (its path is in
initialize's _meta). stdout carries the protocol only; it exits when stdin closes. docs/acp.md.

options: those of `coco bridge`
  --codex PATH            the codex executable (default: $COCO_CODEX, the project's .tools/, PATH)
  --codex-arg ARG         an extra argument for `codex app-server` (repeatable)
  --task-root DIR         where task directories go, and where session/load and session/list look
                          (default: $COCO_HOME/tasks, ~/.coco/tasks)
  --task ID|PATH          continue an existing task directory instead of starting a new one
  --cwd DIR               codex's working directory (default: the current one; sessions bring their own)
  --config FILE           configuration (default: $COCO_HOME/config.yaml; docs/configuration.md)
  --approvals MODE        ask|allow|deny|dir: how gates no rule answers are decided (default: config, ask)
  --approval-timeout S    answer a gate nobody answered after S seconds (approvals.on_timeout)
  --max-frame-bytes N     the largest message accepted from the client (default 67108864)
  --max-restarts N        codex restarts allowed per minute before giving up (default 5)
  --no-record             keep task.yaml and events.jsonl but not the message log (session/load then
                          has nothing to replay)
  --spin-us N             poll N microseconds after each burst before sleeping (default 50)
)"},
    {"demo", R"(usage: coco demo [--codex PATH] [--task-root DIR]

Runs the whole stack offline: `coco mock-model` plays the model, a real codex runs behind a real
`coco bridge`, and this command plays the editor. Ends with the transcript read back from the task
directory.
)"},
    {"run", R"(usage: coco run [options] PROMPT...

One turn through the bridge: the agent's text goes to stdout, commands and approvals to stderr. On a
terminal each approval is asked there; without one, `ask` becomes `dir` (answer with `coco gate
answer`). Exit code: 0 completed, 1 failed, 3 interrupted, 4 the bridge or codex failed.

options:
  --approvals MODE        ask|allow|deny|dir (default: ask)
  --cwd DIR               the project (default: the current directory)
  --config FILE, --codex PATH, --task-root DIR
)"},
    {"exec", R"(usage: coco exec [options] (PROMPT... | --prompts FILE)

Runs one `codex exec --json` worker per prompt, in parallel, and joins them into a report (exit code
1 if any worker did not complete). docs/workers.md.

options:
  --task-root DIR         where the task directory goes (as for bridge)
  --parallel N            workers running at once (default: workers.max_parallel, else the cores)
  --schema FILE           a JSON schema every final message must satisfy (parsed into the report)
  --isolation MODE        none (default) or worktree (a git worktree and branch per worker)
  --timeout S             stop a worker after S seconds
  --sandbox MODE          read-only (default), workspace-write or danger-full-access
  --prompts FILE          one prompt per line (# comments and blank lines skipped)
  --model M, --cwd DIR, --codex PATH, --config FILE
)"},
    {"gate", R"(usage: coco gate ls [TASK] [--task-root DIR]
       coco gate answer TASK GATE OPTION [--feedback TEXT] [--task-root DIR]

`ls` lists the open approval gates of TASK, or of every running task. `answer` writes a decision file
into TASK's gates/ folder; the running bridge applies it (docs/approvals.md).
)"},
    {"task", R"(usage: coco task ls [--json] [--task-root DIR]
       coco task show ID|PATH [--task-root DIR]

`ls` lists task directories (newest first; --json prints them as a JSON array for scripts and
editors). `show` prints a task's transcript, rebuilt from its directory alone.
)"},
    {"schema", R"(usage: coco schema

Prints one JSON document: a JSON Schema for every coco/* request, result and notification, and for
the coco additions to `initialize` (docs/protocol.md).
)"},
    {"mock-model", R"(usage: coco mock-model --script FILE [--port N]

A scripted Responses-API server on 127.0.0.1; the first line of stdout is its port
(docs/mock-model.md).
)"},
    {"version", R"(usage: coco version

Prints coco's version and the pinned codex version on the first line, then the codex that would run.
)"},
};


// A tiny argument parser: flags with values, boolean flags, positionals.
struct Args {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positional;
  bool has(const std::string& k) const { return values.count(k) > 0; }
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = values.find(k);
    return it == values.end() || it->second.empty() ? def : it->second.back();
  }
};

Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& boolean_flags) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0 && s.size() > 2) {
      auto eq = s.find('=');
      std::string key = s.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) {
        a.values[key].push_back(s.substr(eq + 1));
      } else if (std::find(boolean_flags.begin(), boolean_flags.end(), key) != boolean_flags.end()) {
        a.values[key].push_back("1");
      } else {
        if (i + 1 >= argc) throw std::invalid_argument("--" + key + " needs a value");
        a.values[key].push_back(argv[++i]);
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

// Every subcommand refuses options it does not know: a flag misspelt, or meant for a newer coco, must
// not be ignored silently (an editor would believe it took effect).
void check_options(const std::string& cmd, const Args& a) {
  static const std::map<std::string, std::set<std::string>> kOptions = {
      {"bridge", {"codex", "codex-arg", "task-root", "task", "cwd", "config", "approvals", "approval-timeout",
                  "max-frame-bytes", "max-restarts", "no-record", "spin-us"}},
      {"acp", {"codex", "codex-arg", "task-root", "task", "cwd", "config", "approvals", "approval-timeout",
               "max-frame-bytes", "max-restarts", "no-record", "spin-us"}},
      {"demo", {"codex", "task-root"}},
      {"run", {"approvals", "cwd", "config", "codex", "task-root"}},
      {"gate", {"task-root", "feedback"}},
      {"task", {"task-root", "json"}},
      {"mock-model", {"script", "port"}},
      {"schema", {}},
      {"version", {}},
  };
  auto known = kOptions.find(cmd);
  if (known == kOptions.end()) return;  // exec checks its own; unknown commands are reported later
  for (const auto& [key, _] : a.values) {
    if (key == "log-level" || key == "log-file") continue;
    if (!known->second.count(key))
      throw std::invalid_argument("coco " + cmd + ": unknown option --" + key + " (coco " + cmd + " --help lists them)");
  }
}

void setup_logging(const Args& a) {
  std::shared_ptr<spdlog::logger> logger;
  if (a.has("log-file")) {
    logger = spdlog::basic_logger_mt("coco", a.get("log-file"));
  } else {
    // Never stdout: it carries the protocol.
    logger = std::make_shared<spdlog::logger>("coco", std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>());
  }
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  auto level = spdlog::level::from_str(a.get("log-level", "info"));
  spdlog::set_level(level);
  spdlog::flush_on(spdlog::level::warn);
}

fs::path task_root(const Args& a) { return a.has("task-root") ? fs::path(a.get("task-root")) : coco_home() / "tasks"; }

std::size_t parse_size(const std::string& s, const char* what, bool zero_ok = false) {
  try {
    std::size_t pos = 0;
    unsigned long long v = std::stoull(s, &pos);
    if (pos != s.size() || s[0] == '-' || (v == 0 && !zero_ok)) throw std::invalid_argument(s);
    return static_cast<std::size_t>(v);
  } catch (const std::exception&) {
    throw std::invalid_argument(std::string(what) + " must be a " + (zero_ok ? "whole number" : "positive integer") +
                                ", got '" + s + "'");
  }
}

// `coco bridge` and `coco acp` take the same options. nullopt: codex is nowhere to be found (logged).
std::optional<BridgeOptions> bridge_options(const Args& a) {
  BridgeOptions o;
  auto codex = locate_codex(a.get("codex"));
  if (!codex.path) {
    spdlog::error("{}", codex.explain());
    return std::nullopt;
  }
  o.codex = *codex.path;
  if (a.has("codex-arg")) o.codex_args = a.values.at("codex-arg");
  o.task_root = task_root(a);
  if (a.has("task")) {
    auto dir = taskdir::resolve_task(o.task_root, a.get("task"));
    if (!dir) throw std::invalid_argument("--task: no task '" + a.get("task") + "' under " + o.task_root.string());
    o.continue_task = *dir;
  }
  o.cwd = a.has("cwd") ? a.get("cwd") : fs::current_path().string();
  if (a.has("max-frame-bytes")) o.max_frame_bytes = parse_size(a.get("max-frame-bytes"), "--max-frame-bytes");
  if (a.has("max-restarts")) o.max_restarts_per_minute = static_cast<int>(parse_size(a.get("max-restarts"), "--max-restarts"));
  o.record_messages = !a.has("no-record");
  if (a.has("spin-us")) o.spin = std::chrono::microseconds(parse_size(a.get("spin-us"), "--spin-us", true));
  o.config = load_config(a.has("config") ? fs::path(a.get("config")) : default_config_path(), a.has("config"));
  if (a.has("approvals")) {
    o.approvals_mode = gates::parse_mode(a.get("approvals"));
    if (!o.approvals_mode) throw std::invalid_argument("--approvals must be ask, allow, deny or dir");
  }
  if (a.has("approval-timeout")) {
    double t = 0;
    try {
      std::size_t pos = 0;
      t = std::stod(a.get("approval-timeout"), &pos);
      if (pos != a.get("approval-timeout").size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
      t = 0;
    }
    if (!(t > 0)) throw std::invalid_argument("--approval-timeout must be a positive number of seconds");
    o.config.approvals.timeout_s = t;
  }
  return o;
}

int cmd_bridge(const Args& a, bridge::EditorProtocol protocol) {
  auto o = bridge_options(a);
  if (!o) return 2;
  return run_bridge(*o, protocol);
}

int cmd_mock_model(const Args& a) {
  if (!a.has("script")) throw std::invalid_argument("mock-model needs --script FILE");
  mockmodel::Options o;
  o.script = a.get("script");
  if (a.has("port")) o.port = static_cast<std::uint16_t>(std::stoi(a.get("port")));
  return mockmodel::run(o, [](std::uint16_t port) {
    std::cout << port << std::endl;  // the first line of stdout is the port, for scripts
  });
}

int cmd_task(const Args& a) {
  if (a.positional.empty()) throw std::invalid_argument("usage: coco task ls | coco task show ID|PATH");
  const std::string& verb = a.positional[0];
  fs::path root = task_root(a);
  if (verb == "ls" || verb == "list") {
    auto tasks = taskdir::list_tasks(root);
    if (a.has("json")) {
      std::cout << taskdir::task_list_json(tasks).dump(2) << "\n";
      return 0;
    }
    std::cout << taskdir::render_task_list(tasks);
    return 0;
  }
  if (verb == "show") {
    if (a.positional.size() < 2) throw std::invalid_argument("usage: coco task show ID|PATH");
    auto dir = taskdir::resolve_task(root, a.positional[1]);
    if (!dir) {
      std::cerr << "coco: no task '" << a.positional[1] << "' under " << root.string() << "\n";
      return 1;
    }
    std::cout << taskdir::render_transcript(*dir);
    return 0;
  }
  throw std::invalid_argument("unknown task command '" + verb + "' (ls, show)");
}

int cmd_gate(const Args& a) {
  if (a.positional.empty()) throw std::invalid_argument("usage: coco gate ls [TASK] | coco gate answer TASK GATE OPTION");
  const std::string& verb = a.positional[0];
  if (verb == "ls" || verb == "list") return gate_ls(task_root(a), a.positional.size() > 1 ? a.positional[1] : "");
  if (verb == "answer") {
    if (a.positional.size() != 4) throw std::invalid_argument("usage: coco gate answer TASK GATE OPTION [--feedback TEXT]");
    return gate_answer(task_root(a), a.positional[1], a.positional[2], a.positional[3], a.get("feedback"));
  }
  throw std::invalid_argument("unknown gate command '" + verb + "' (ls, answer)");
}

int cmd_run(const Args& a) {
  RunOptions o;
  for (const auto& p : a.positional) o.prompt += (o.prompt.empty() ? "" : " ") + p;
  if (o.prompt.empty()) throw std::invalid_argument("usage: coco run [options] PROMPT...");
  o.approvals = a.get("approvals", "ask");
  if (!gates::parse_mode(o.approvals)) throw std::invalid_argument("--approvals must be ask, allow, deny or dir");
  o.cwd = a.has("cwd") ? fs::absolute(a.get("cwd")).string() : fs::current_path().string();
  if (a.has("config")) o.config = fs::absolute(a.get("config")).string();
  o.codex = a.get("codex");
  o.task_root = task_root(a);
  o.log_level = a.get("log-level", "warn");
  o.log_file = a.get("log-file");
  return run_one_shot(o);
}

int cmd_version() {
  std::cout << "coco " << kCocoVersion << " (pinned codex " << kPinnedCodexVersion << ")\n";
  auto codex = locate_codex("");
  std::cout << "codex: " << (codex.path ? *codex.path : std::string("not found")) << "\n";
  return 0;
}

}  // namespace

int cli_main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  if (cmd == "help") {
    auto it = argc > 2 ? kCommandUsage.find(argv[2]) : kCommandUsage.end();
    std::cout << (it != kCommandUsage.end() ? std::string(it->second) + kCommonOptions : std::string(kUsage));
    return 0;
  }
  for (int i = 2; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      auto it = kCommandUsage.find(cmd);
      std::cout << (it != kCommandUsage.end() ? std::string(it->second) + kCommonOptions : std::string(kUsage));
      return 0;
    }
  }
  try {
    Args a = parse_args(argc, argv, 2, {"no-record", "keep", "json"});
    check_options(cmd, a);
    setup_logging(a);
    if (cmd == "bridge") return cmd_bridge(a, bridge::EditorProtocol::Codex);
    if (cmd == "acp") return cmd_bridge(a, bridge::EditorProtocol::Acp);
    if (cmd == "mock-model") return cmd_mock_model(a);
    if (cmd == "task") return cmd_task(a);
    if (cmd == "exec") return run_exec_cli(a.values, a.positional);
    if (cmd == "gate") return cmd_gate(a);
    if (cmd == "run") return cmd_run(a);
    if (cmd == "demo") {
      DemoOptions d;
      d.task_root = task_root(a);
      d.codex_flag = a.get("codex");
      d.self = argv[0];
      return run_demo(d);
    }
    if (cmd == "version" || cmd == "--version") return cmd_version();
    if (cmd == "schema") {
      std::cout << protocol::coco_schema_json();
      return 0;
    }
    std::cerr << "coco: unknown command '" << cmd << "'\n\n" << kUsage;
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "coco: bad configuration: " << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "coco: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "coco: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace coco::cli
