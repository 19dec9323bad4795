#pragma once
// One running `codex app-server`: its process, a line reader on its stdout, a writer on its stdin,
// and its stderr copied to the task directory (and kept as a short tail for error reports).
// Restart policy lives in the Session; an Upstream is one life of the child.

#include "process/child_process.h"
#include "bridge/frame_reader.h"
#include "bridge/stream_writer.h"
#include "taskdir/task_writer.h"

#include <asio.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace coco::bridge {

struct UpstreamOptions {
  std::vector<std::string> argv;  // e.g. {"/path/to/codex", "app-server"}
  std::vector<std::string> env;   // empty: inherit
  std::string cwd;
  std::size_t max_frame_bytes = protocol::kDefaultMaxFrameBytes;
  std::size_t high_water = 4u << 20, low_water = 1u << 20;
};

class Upstream {
public:
  Upstream(asio::io_context& io, UpstreamOptions options, std::optional<taskdir::AgentLog> log);
  // Throws std::system_error when codex cannot be started.
  void start();

  void send(std::string line);  // one compact JSON message, without the newline
  bool congested() const { return writer_ && writer_->above_high_water(); }
  void pause_reading() { if (reader_) reader_->pause(); }
  void resume_reading() { if (reader_) reader_->resume(); }
  void stop(std::chrono::milliseconds grace) { if (child_) child_->stop(grace); }
  void kill() { if (child_) child_->signal_group(SIGKILL); }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  bool exited() const { return exit_reported_; }

  std::function<void(std::string&& line)> on_message;
  std::function<void(const std::string& problem)> on_bad_frame;
  std::function<void()> on_drained;  // stdin queue fell below low water
  // Called once after the process exited and its stdout was read to the end (or a short grace).
  std::function<void(const process::ExitStatus& status, const std::string& stderr_tail)> on_exit;

private:
  void read_stderr();
  void maybe_report_exit();

  asio::io_context& io_;
  UpstreamOptions options_;
  std::optional<taskdir::AgentLog> log_;
  std::unique_ptr<process::ChildProcess> child_;
  std::unique_ptr<FrameReader> reader_;
  std::unique_ptr<StreamWriter> writer_;
  std::array<char, 8192> stderr_buf_;
  std::string stderr_tail_;
  asio::steady_timer exit_grace_;
  std::optional<process::ExitStatus> status_;
  bool stdout_done_ = false;
  bool exit_reported_ = false;
};

}  // namespace coco::bridge
