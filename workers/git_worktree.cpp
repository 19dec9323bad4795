#include "workers/git_worktree.h"

#include <algorithm>

namespace coco::workers {
namespace fs = std::filesystem;

namespace {
constexpr std::size_t kMaxOutput = 16 * 1024;  // git's messages are short; a runaway must not grow us
}

std::optional<fs::path> find_git_root(const fs::path& dir) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(dir, ec);
  if (ec) p = dir;
  for (;;) {
    if (fs::exists(p / ".git", ec)) return p;
    if (!p.has_parent_path() || p.parent_path() == p) return std::nullopt;
    p = p.parent_path();
  }
}

std::string worktree_branch(std::string_view task_id, std::string_view agent_id) {
  return "coco/" + std::string(task_id) + "/" + std::string(agent_id);
}

std::vector<std::string> worktree_add_argv(const fs::path& repo, const std::string& branch, const fs::path& worktree) {
  // `--` keeps a path from being read as an option whatever it looks like.
  return {"git", "-C", repo.string(), "worktree", "add", "-b", branch, "--", worktree.string(), "HEAD"};
}

CapturedCommand::CapturedCommand(asio::io_context& io, std::vector<std::string> argv)
    : io_(io), argv_(std::move(argv)) {}

void CapturedCommand::start() {
  process::SpawnOptions spawn;
  spawn.argv = argv_;
  spawn.stdin_devnull = true;
  child_ = std::make_unique<process::ChildProcess>(io_, spawn);
  child_->on_exit([this](const process::ExitStatus& st) {
    status_ = st;
    maybe_done();
  });
  read(child_->stdout_pipe(), out_buf_, out_done_);
  read(child_->stderr_pipe(), err_buf_, err_done_);
}

void CapturedCommand::read(asio::posix::stream_descriptor& stream, std::array<char, 4096>& buf, bool& done) {
  stream.async_read_some(asio::buffer(buf), [this, &stream, &buf, &done](const asio::error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted) return;  // we may be gone
    if (output_.size() < kMaxOutput) output_.append(buf.data(), std::min(n, kMaxOutput - output_.size()));
    if (ec) {
      done = true;
      maybe_done();
      return;
    }
    read(stream, buf, done);
  });
}

void CapturedCommand::maybe_done() {
  if (reported_ || !status_ || !out_done_ || !err_done_) return;
  reported_ = true;
  if (on_done) on_done(*status_, output_);
}

}  // namespace coco::workers
