#include "bridge/upstream.h"

#include <spdlog/spdlog.h>

namespace coco::bridge {
namespace {
constexpr std::size_t kStderrTailBytes = 4096;
// After the process is gone, how long we keep reading its stdout for the last messages. A
// grandchild outside its process group could hold the pipe open forever.
constexpr auto kDrainAfterExit = std::chrono::milliseconds(300);
}  // namespace

Upstream::Upstream(asio::io_context& io, UpstreamOptions options, std::optional<taskdir::AgentLog> log)
    : io_(io), options_(std::move(options)), log_(std::move(log)), exit_grace_(io) {}

void Upstream::start() {
  process::SpawnOptions spawn;
  spawn.argv = options_.argv;
  spawn.env = options_.env;
  spawn.cwd = options_.cwd;
  child_ = std::make_unique<process::ChildProcess>(io_, spawn);
  enlarge_pipe(child_->stdout_pipe().native_handle());

  reader_ = std::make_unique<FrameReader>(child_->stdout_pipe(),
                                          protocol::FrameDecoder(options_.max_frame_bytes, protocol::Framing::Lines));
  reader_->on_frame = [this](std::string&& line) { if (on_message) on_message(std::move(line)); };
  reader_->on_bad_frame = [this](const std::string& problem) { if (on_bad_frame) on_bad_frame(problem); };
  reader_->on_eof = [this] {
    stdout_done_ = true;
    maybe_report_exit();
  };

  writer_ = std::make_unique<StreamWriter>(child_->stdin_pipe(), options_.high_water, options_.low_water);
  writer_->on_drained = [this] { if (on_drained) on_drained(); };
  writer_->on_error = [](const asio::error_code& ec) {
    // codex closed its stdin: its exit (reported through the pidfd) tells the rest.
    spdlog::debug("write to codex failed: {}", ec.message());
  };

  child_->on_exit([this](const process::ExitStatus& st) {
    status_ = st;
    exit_grace_.expires_after(kDrainAfterExit);
    exit_grace_.async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      stdout_done_ = true;
      maybe_report_exit();
    });
    maybe_report_exit();
  });

  reader_->start();
  read_stderr();
}

void Upstream::send(std::string line) {
  if (!writer_ || !child_->running()) return;
  line += '\n';
  writer_->write(std::move(line));
}

void Upstream::read_stderr() {
  child_->stderr_pipe().async_read_some(asio::buffer(stderr_buf_), [this](const asio::error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted) return;
    if (n > 0) {
      std::string_view chunk(stderr_buf_.data(), n);
      if (log_) log_->stderr_bytes(chunk);
      stderr_tail_.append(chunk);
      if (stderr_tail_.size() > 2 * kStderrTailBytes) stderr_tail_.erase(0, stderr_tail_.size() - kStderrTailBytes);
    }
    if (!ec) read_stderr();
  });
}

void Upstream::maybe_report_exit() {
  if (exit_reported_ || !status_ || !stdout_done_) return;
  exit_reported_ = true;
  exit_grace_.cancel();
  std::string tail = stderr_tail_.size() > kStderrTailBytes ? stderr_tail_.substr(stderr_tail_.size() - kStderrTailBytes)
                                                            : stderr_tail_;
  if (on_exit) on_exit(*status_, tail);
}

}  // namespace coco::bridge
