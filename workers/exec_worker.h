#pragma once
// One `codex exec --json` process: its argv, its private CODEX_HOME, and its output streams.
//
// The process runs with stdin = /dev/null (otherwise exec waits for stdin EOF even with a prompt),
// in its own process group (a stop reaches the commands it runs), and is reaped through a pidfd.
// Every stdout line goes to the worker's runtime/events.jsonl as it arrives; how the run ended is
// decided by the pool (exec_events.h), which owns the policy.

#include "process/child_process.h"
#include "workers/exec_events.h"
#include "taskdir/task_writer.h"

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace coco::workers {

struct ExecArgs {
  std::string codex;  // the executable
  std::string cwd;    // where codex works (--cd)
  std::string sandbox;
  std::string model;  // "" = default
  std::vector<std::pair<std::string, std::string>> config;  // validated key, TOML literal
  std::filesystem::path final_file;                         // --output-last-message
  std::optional<std::filesystem::path> schema_file;         // --output-schema
  std::optional<std::string> resume_thread;                 // `resume <id>`
  std::string prompt;
};

// `codex exec --json ... [resume ID] -- PROMPT`. Options use the `--flag=value` form and the prompt
// follows `--`, so a value or prompt starting with '-' is never taken for an option.
// Throws std::invalid_argument for a thread id that is not a plain id.
std::vector<std::string> build_exec_argv(const ExecArgs& args);

// The user's CODEX_HOME: $CODEX_HOME from `env` ("K=V" entries; our environment when empty), else
// ~/.codex.
std::filesystem::path user_codex_home(const std::vector<std::string>& env);

// Creates `home` (0700) and copies config.toml and auth.json from `from` when present (0600).
// Throws std::runtime_error naming the file (a full disk, a permission problem).
void seed_codex_home(const std::filesystem::path& from, const std::filesystem::path& home);

// `env` ("K=V"; our environment when empty) with CODEX_HOME replaced.
std::vector<std::string> env_with_codex_home(const std::vector<std::string>& env, const std::filesystem::path& home);

// Writes a small private file (0600) in one go; throws std::runtime_error naming it.
void write_private_file(const std::filesystem::path& file, std::string_view content);

class ExecRun {
public:
  ExecRun(asio::io_context& io, taskdir::AgentLog log);
  ~ExecRun();
  ExecRun(const ExecRun&) = delete;
  ExecRun& operator=(const ExecRun&) = delete;

  // Throws std::system_error when codex cannot be started.
  void start(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  // SIGTERM to the group now, SIGKILL after `grace` if it is still there.
  void terminate(std::chrono::milliseconds grace);
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  // codex's warning that it could not set up its sandbox helper (then no sandboxed command can run),
  // or "". It comes first on stderr, so the tail given to on_exit may no longer hold it.
  const std::string& sandbox_warning() const { return sandbox_warning_; }

  // Each stdout line: `event` is the parsed line, or null when it was not JSON (already recorded
  // as invalid in events.jsonl).
  std::function<void(const std::string& line, const nlohmann::json* event)> on_line;
  // Once, after the process exited and its output was read to the end (or a short grace).
  std::function<void(const process::ExitStatus& status, const std::string& stderr_tail)> on_exit;

private:
  void read_stdout();
  void read_stderr();
  void watch_for_sandbox_warning(std::string_view chunk);
  void deliver(std::string&& line);
  void maybe_finish();

  asio::io_context& io_;
  taskdir::AgentLog log_;
  std::unique_ptr<process::ChildProcess> child_;
  LineSplitter lines_;
  std::size_t overlong_reported_ = 0;
  std::array<char, 64 * 1024> out_buf_;
  std::array<char, 8 * 1024> err_buf_;
  std::string stderr_tail_;
  std::string stderr_line_;  // the stderr line being read, for sandbox_warning()
  std::string sandbox_warning_;
  asio::steady_timer drain_timer_, kill_timer_;
  std::optional<process::ExitStatus> status_;
  bool stdout_done_ = false, stderr_done_ = false, finished_ = false;
};

}  // namespace coco::workers
