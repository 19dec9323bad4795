#include "workers/exec_worker.h"

#include "protocol/json_text.h"

#include "workers/worker_spec.h"

#include "taskdir/fs_util.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

extern char** environ;

namespace coco::workers {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
constexpr std::size_t kStderrTailBytes = 4096;
// After the process is gone, how long its pipes may still deliver the last lines. Its group has been
// SIGKILLed by then, so only a process that left the group could hold them open.
constexpr auto kDrainAfterExit = std::chrono::milliseconds(300);
}  // namespace

std::vector<std::string> build_exec_argv(const ExecArgs& a) {
  std::vector<std::string> argv = {a.codex, "exec", "--json",
                                   // The user chose this directory; a non-git, untrusted cwd would
                                   // otherwise make exec exit 1 without a single event.
                                   "--skip-git-repo-check", "--cd=" + a.cwd, "--sandbox=" + a.sandbox};
  if (!a.model.empty()) argv.push_back("--model=" + a.model);
  for (const auto& [key, value] : a.config) argv.push_back("--config=" + key + "=" + value);
  argv.push_back("--output-last-message=" + a.final_file.string());
  if (a.schema_file) argv.push_back("--output-schema=" + a.schema_file->string());
  if (a.resume_thread) {
    if (!is_valid_thread_id(*a.resume_thread)) throw std::invalid_argument("not a thread id: " + *a.resume_thread);
    // Exec's options go before `resume` (-C/-s are not accepted after it).
    argv.push_back("resume");
    argv.push_back(*a.resume_thread);
  }
  argv.push_back("--");
  argv.push_back(a.prompt);
  return argv;
}

fs::path user_codex_home(const std::vector<std::string>& env) {
  if (env.empty()) {
    if (const char* h = std::getenv("CODEX_HOME"); h && *h) return h;
  } else {
    for (const auto& e : env) {
      if (e.rfind("CODEX_HOME=", 0) == 0 && e.size() > 11) return e.substr(11);
    }
  }
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/") / ".codex";
}

void write_private_file(const fs::path& file, std::string_view content) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + file.string() + ": " + std::strerror(errno));
  int err = ::fchmod(fd, 0600) == 0 ? 0 : errno;
  if (err == 0) err = taskdir::detail::write_all(fd, content.data(), content.size());
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(err));
}

void seed_codex_home(const fs::path& from, const fs::path& home) {
  taskdir::detail::make_private_dirs(home);
  for (const char* name : {"config.toml", "auth.json"}) {
    fs::path src = from / name;
    std::error_code ec;
    if (!fs::is_regular_file(src, ec)) continue;
    std::ifstream in(src, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + src.string() + ": " + std::strerror(errno));
    std::ostringstream content;
    content << in.rdbuf();
    write_private_file(home / name, content.str());
  }
}

std::vector<std::string> env_with_codex_home(const std::vector<std::string>& env, const fs::path& home) {
  std::vector<std::string> out;
  auto keep = [&](std::string_view e) {
    if (e.rfind("CODEX_HOME=", 0) != 0) out.emplace_back(e);
  };
  if (env.empty()) {
    for (char** e = environ; e && *e; ++e) keep(*e);
  } else {
    for (const auto& e : env) keep(e);
  }
  out.push_back("CODEX_HOME=" + home.string());
  return out;
}

// ---- ExecRun ----

ExecRun::ExecRun(asio::io_context& io, taskdir::AgentLog log)
    : io_(io), log_(std::move(log)), drain_timer_(io), kill_timer_(io) {}

ExecRun::~ExecRun() = default;  // ~ChildProcess kills the group if it is still running

void ExecRun::start(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  process::SpawnOptions spawn;
  spawn.argv = argv;
  spawn.env = env;
  spawn.stdin_devnull = true;
  child_ = std::make_unique<process::ChildProcess>(io_, spawn);
  child_->on_exit([this](const process::ExitStatus& st) {
    status_ = st;
    drain_timer_.expires_after(kDrainAfterExit);
    drain_timer_.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      stdout_done_ = stderr_done_ = true;
      maybe_finish();
    });
    maybe_finish();
  });
  read_stdout();
  read_stderr();
}

void ExecRun::terminate(std::chrono::milliseconds grace) {
  if (!child_ || !child_->running()) return;
  child_->signal_group(SIGTERM);
  kill_timer_.expires_after(grace);
  kill_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || !child_ || !child_->running()) return;
    spdlog::warn("exec worker {} ignored SIGTERM; sending SIGKILL", child_->pid());
    child_->signal_group(SIGKILL);
  });
}

void ExecRun::read_stdout() {
  child_->stdout_pipe().async_read_some(asio::buffer(out_buf_), [this](const asio::error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted) return;  // we may be gone: touch nothing
    if (n > 0) {
      lines_.feed(std::string_view(out_buf_.data(), n));
      while (auto line = lines_.next()) deliver(std::move(*line));
    }
    if (ec) {
      if (auto rest = lines_.finish()) deliver(std::move(*rest));
      stdout_done_ = true;
      maybe_finish();
      return;
    }
    read_stdout();
  });
}

void ExecRun::deliver(std::string&& line) {
  if (finished_) return;
  while (overlong_reported_ < lines_.overlong()) {
    ++overlong_reported_;
    log_.invalid("codex->bridge", "line too long; skipped", "");
    if (on_line) on_line(std::string(), nullptr);
  }
  protocol::ParsedJson parsed = protocol::parse_json(line);
  if (!parsed.ok()) {
    log_.invalid("codex->bridge", parsed.status == protocol::JsonStatus::TooDeep ? "nested too deeply" : "not JSON", line);
    if (on_line) on_line(line, nullptr);
    return;
  }
  log_.message("codex->bridge", line);
  if (on_line) on_line(line, &parsed.value);
}

void ExecRun::read_stderr() {
  child_->stderr_pipe().async_read_some(asio::buffer(err_buf_), [this](const asio::error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted) return;
    if (n > 0) {
      std::string_view chunk(err_buf_.data(), n);
      log_.stderr_bytes(chunk);
      watch_for_sandbox_warning(chunk);
      stderr_tail_.append(chunk);
      if (stderr_tail_.size() > 2 * kStderrTailBytes) stderr_tail_.erase(0, stderr_tail_.size() - kStderrTailBytes);
    }
    if (ec) {
      stderr_done_ = true;
      maybe_finish();
      return;
    }
    read_stderr();
  });
}

void ExecRun::watch_for_sandbox_warning(std::string_view chunk) {
  // "WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper
  // binaries under temporary dir ...": codex goes on, but bwrap will not find codex-linux-sandbox.
  static constexpr std::string_view kMarker = "could not create PATH aliases";
  static constexpr std::size_t kMaxLine = 4096;
  if (!sandbox_warning_.empty()) return;
  for (char c : chunk) {
    if (c != '\n') {
      if (stderr_line_.size() < kMaxLine) stderr_line_ += c;
      continue;
    }
    if (stderr_line_.find(kMarker) != std::string::npos) {
      sandbox_warning_ = stderr_line_;
      return;
    }
    stderr_line_.clear();
  }
}

void ExecRun::maybe_finish() {
  if (finished_ || !status_ || !stdout_done_ || !stderr_done_) return;
  finished_ = true;
  drain_timer_.cancel();
  kill_timer_.cancel();
  std::string tail = stderr_tail_.size() > kStderrTailBytes ? stderr_tail_.substr(stderr_tail_.size() - kStderrTailBytes)
                                                            : stderr_tail_;
  if (on_exit) on_exit(*status_, tail);
}

}  // namespace coco::workers
