#include "cli/bridge_client.h"

#include "process/child_process.h"

#include <cerrno>
#include <csignal>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace coco::cli {
using process::find_executable;

BridgeClient::BridgeClient(const Options& options) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  if (!options.stderr_file.empty())
    posix_spawn_file_actions_addopen(&actions, 2, options.stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<char*> argv, envp;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  auto program = find_executable(options.argv.at(0));
  int rc = program ? ::posix_spawn(&pid_, program->c_str(), &actions, nullptr, argv.data(),
                                   options.env.empty() ? environ : envp.data())
                   : ENOENT;
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    throw std::system_error(rc, std::generic_category(), "cannot start " + options.argv.at(0));
  }
  to_bridge_ = in[1];
  from_bridge_ = out[0];
}

BridgeClient::~BridgeClient() {
  if (pid_ > 0) {
    close_and_wait(std::chrono::milliseconds(5000));
  }
  if (from_bridge_ >= 0) ::close(from_bridge_);
}

void BridgeClient::send(const nlohmann::json& msg) {
  std::string line = msg.dump() + "\n";
  std::size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(to_bridge_, line.data() + off, line.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "write to the bridge");
    }
    off += static_cast<std::size_t>(n);
  }
}

std::int64_t BridgeClient::request(const std::string& method, nlohmann::json params) {
  std::int64_t id = next_id_++;
  send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  return id;
}

void BridgeClient::notify(const std::string& method, nlohmann::json params) {
  nlohmann::json msg = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) msg["params"] = std::move(params);
  send(msg);
}

void BridgeClient::respond(const nlohmann::json& id, nlohmann::json result) {
  send({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}

std::optional<nlohmann::json> BridgeClient::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      return j;
    }
    if (eof_) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{from_bridge_, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::read(from_bridge_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) eof_ = true;
    else buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

int BridgeClient::close_and_wait(std::chrono::milliseconds timeout) {
  if (to_bridge_ >= 0) {
    ::close(to_bridge_);
    to_bridge_ = -1;
  }
  if (pid_ <= 0) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    // Drain output so the bridge never blocks on a full pipe while it shuts down.
    pollfd pfd{from_bridge_, POLLIN, 0};
    if (!eof_ && ::poll(&pfd, 1, 20) > 0) {
      char buf[65536];
      ssize_t n = ::read(from_bridge_, buf, sizeof buf);
      if (n > 0) buffer_.append(buf, static_cast<std::size_t>(n));
      else if (n == 0) eof_ = true;
    } else if (eof_) {
      ::poll(nullptr, 0, 20);  // output is closed; just wait for the exit
    }
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace coco::cli
