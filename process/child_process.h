#pragma once
// A child process with pipes, in its own process group, watched through a pidfd.
//
// Exit is detected from the process itself (pidfd), never from EOF on its pipes: a launcher that
// dies can leave a grandchild holding them open. stop() is a timer-driven state machine (close
// stdin, then SIGTERM the group, then SIGKILL) and never blocks the event loop.

#include <asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace coco::process {

struct SpawnOptions {
  std::vector<std::string> argv;                 // argv[0] is looked up in PATH if it has no '/'
  std::vector<std::string> env;                  // "K=V"; empty means inherit ours
  std::string cwd;                               // empty means ours
  bool stdin_devnull = false;                    // true: stdin is /dev/null instead of a pipe
  bool capture_stderr = true;                    // false: stderr is inherited
};

struct ExitStatus {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the signal that killed it, or 0
  std::string describe() const;
};

class ChildProcess {
public:
  // Throws std::system_error naming argv[0] when the program cannot be started.
  ChildProcess(asio::io_context& io, const SpawnOptions& options);
  ~ChildProcess();  // SIGKILLs the group if still running; does not wait (the pidfd reaps later)
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return !status_; }
  const std::optional<ExitStatus>& status() const { return status_; }

  asio::posix::stream_descriptor& stdin_pipe() { return stdin_; }
  asio::posix::stream_descriptor& stdout_pipe() { return stdout_; }
  asio::posix::stream_descriptor& stderr_pipe() { return stderr_; }

  // Called once, from the event loop, when the process has exited and been reaped.
  void on_exit(std::function<void(const ExitStatus&)> handler);

  // Closes stdin, waits `grace`, SIGTERMs the group, waits `grace`, SIGKILLs the group.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  void signal_group(int sig);

private:
  void watch_exit();
  void escalate_after(std::chrono::milliseconds grace);
  void reap();

  asio::io_context& io_;
  pid_t pid_ = -1;
  asio::posix::stream_descriptor stdin_, stdout_, stderr_, pidfd_;
  asio::steady_timer stop_timer_;
  int stop_stage_ = 0;
  std::optional<ExitStatus> status_;
  std::function<void(const ExitStatus&)> on_exit_;
};

// Finds an executable: an explicit path must exist; a bare name is searched in PATH.
std::optional<std::string> find_executable(const std::string& name);

}  // namespace coco::process
