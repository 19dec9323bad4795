#include "process/child_process.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace coco::process {
namespace {

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    read = fds[0];
    write = fds[1];
  }
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (signal != 0) return std::string("killed by signal ") + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return "exited with code " + std::to_string(exit_code);
}

std::optional<std::string> find_executable(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0 && !std::filesystem::is_directory(name)) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return candidate;
  }
  return std::nullopt;
}

ChildProcess::ChildProcess(asio::io_context& io, const SpawnOptions& options)
    : io_(io), stdin_(io), stdout_(io), stderr_(io), pidfd_(io), stop_timer_(io) {
  if (options.argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  auto program = find_executable(options.argv[0]);
  if (!program) throw std::system_error(ENOENT, std::generic_category(), "cannot find executable '" + options.argv[0] + "'");

  Pipe in, out, err;
  int devnull = -1;
  if (options.stdin_devnull) {
    devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) throw std::system_error(errno, std::generic_category(), "open /dev/null");
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, options.stdin_devnull ? devnull : in.read, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write, 1);
  if (options.capture_stderr) posix_spawn_file_actions_adddup2(&actions, err.write, 2);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());

  // The child gets its own process group (so stop() reaches its children too), an empty signal
  // mask, and default dispositions for the signals we ignore or handle (SIGPIPE above all).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  char** env = environ;
  if (!options.env.empty()) {
    for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    env = envp.data();
  }

  int rc = ::posix_spawn(&pid_, program->c_str(), &actions, &attr, argv.data(), env);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close_fd(in.read);
  close_fd(out.write);
  close_fd(err.write);
  close_fd(devnull);
  if (rc != 0) {
    close_fd(in.write);
    close_fd(out.read);
    close_fd(err.read);
    throw std::system_error(rc, std::generic_category(), "cannot start '" + *program + "'");
  }

  if (!options.stdin_devnull) stdin_.assign(in.write); else close_fd(in.write);
  stdout_.assign(out.read);
  if (options.capture_stderr) stderr_.assign(err.read); else close_fd(err.read);

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) {
    int e = errno;
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    throw std::system_error(e, std::generic_category(), "pidfd_open (Linux 5.3 or newer is required)");
  }
  ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  pidfd_.assign(pidfd);
  watch_exit();
}

ChildProcess::~ChildProcess() {
  if (!status_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    // Reaping now is cheap and certain: the process was just SIGKILLed.
    ::waitpid(pid_, nullptr, 0);
  }
}

void ChildProcess::watch_exit() {
  pidfd_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const asio::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    reap();
  });
}

void ChildProcess::reap() {
  int wstatus = 0;
  pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
  if (r == 0) {  // spurious wakeup
    watch_exit();
    return;
  }
  ExitStatus st;
  if (r == pid_) {
    if (WIFSIGNALED(wstatus)) st.signal = WTERMSIG(wstatus);
    else st.exit_code = WEXITSTATUS(wstatus);
  }
  status_ = st;
  stop_timer_.cancel();
  asio::error_code ignored;
  pidfd_.close(ignored);
  // The group may still hold members (a launcher's native child): make sure none outlives us.
  ::kill(-pid_, SIGKILL);
  if (on_exit_) {
    auto handler = std::move(on_exit_);
    handler(st);
  }
}

void ChildProcess::on_exit(std::function<void(const ExitStatus&)> handler) {
  if (status_) {
    asio::post(io_, [handler = std::move(handler), st = *status_] { handler(st); });
    return;
  }
  on_exit_ = std::move(handler);
}

void ChildProcess::signal_group(int sig) {
  if (!status_ && pid_ > 0) ::kill(-pid_, sig);
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (status_ || stop_stage_ > 0) return;
  stop_stage_ = 1;
  asio::error_code ignored;
  stdin_.close(ignored);  // stage 1: a well-behaved server exits on EOF
  escalate_after(grace);
}

void ChildProcess::escalate_after(std::chrono::milliseconds grace) {
  stop_timer_.expires_after(grace);
  stop_timer_.async_wait([this, grace](const asio::error_code& ec) {
    if (ec || status_) return;
    if (stop_stage_ == 1) {
      spdlog::debug("child {} still running after stdin closed; sending SIGTERM", pid_);
      stop_stage_ = 2;
      signal_group(SIGTERM);
      escalate_after(grace);
    } else {
      spdlog::warn("child {} ignored SIGTERM; sending SIGKILL", pid_);
      stop_stage_ = 3;
      signal_group(SIGKILL);
    }
  });
}

}  // namespace coco::process
