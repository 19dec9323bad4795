#pragma once
// Worktree isolation for exec workers: each worker gets `git worktree add -b coco/<task>/<agent>
// <agentdir>/worktree HEAD` of the cwd's repository, run as a child process (argv, no shell) and
// watched asynchronously. The worktree and its branch are kept after the run: they are the result.

#include "process/child_process.h"

#include <asio.hpp>

#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coco::workers {

// The top of the work tree holding `dir`: the nearest ancestor (or itself) with a `.git` entry
// (a directory, or the file of a linked worktree or submodule). Only stat calls.
std::optional<std::filesystem::path> find_git_root(const std::filesystem::path& dir);

std::string worktree_branch(std::string_view task_id, std::string_view agent_id);

std::vector<std::string> worktree_add_argv(const std::filesystem::path& repo, const std::string& branch,
                                           const std::filesystem::path& worktree);

// A short command whose output (stdout and stderr together) is only wanted at the end.
class CapturedCommand {
public:
  CapturedCommand(asio::io_context& io, std::vector<std::string> argv);
  // Throws std::system_error when the program cannot be started.
  void start();
  // Once, after the exit and the end of both streams.
  std::function<void(const process::ExitStatus& status, const std::string& output)> on_done;

private:
  void read(asio::posix::stream_descriptor& stream, std::array<char, 4096>& buf, bool& done);
  void maybe_done();

  asio::io_context& io_;
  std::vector<std::string> argv_;
  std::unique_ptr<process::ChildProcess> child_;
  std::array<char, 4096> out_buf_, err_buf_;
  std::string output_;
  std::optional<process::ExitStatus> status_;
  bool out_done_ = false, err_done_ = false, reported_ = false;
};

}  // namespace coco::workers
