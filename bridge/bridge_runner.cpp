#include "bridge/bridge_runner.h"

#include "bridge/worker_methods.h"

#include <spdlog/spdlog.h>

#include <csignal>

#include <fcntl.h>
#include <unistd.h>

namespace coco::bridge {
namespace {

// If we were started with fd 0, 1 or 2 closed, the next open() would land there and a log line
// could corrupt the protocol stream. Fill the holes with /dev/null first.
void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1) {
      int n = ::open("/dev/null", O_RDWR);
      if (n >= 0 && n != fd) {
        ::dup2(n, fd);
        ::close(n);
      }
    }
  }
}

}  // namespace

int run_bridge(const BridgeOptions& options) {
  ensure_standard_fds();
  std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an EPIPE on write, handled there

  asio::io_context io(1);
  auto editor = std::make_unique<StdioTransport>(io, ::dup(0), ::dup(1), options.max_frame_bytes, options.high_water,
                                                 options.low_water);
  Session session(io, options, std::move(editor));
  // Declared after the session so that it goes first: its workers' process groups are killed then.
  std::unique_ptr<WorkerPool> workers;
  bool finished = false;
  session.on_finished = [&] {
    finished = true;
    io.stop();
  };
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([&](const asio::error_code& ec, int sig) {
    if (ec) return;
    session.task().event("client.disconnected", {{"reason", std::string("signal ") + std::to_string(sig)}});
    session.shutdown("received signal " + std::to_string(sig));
  });
  try {
    session.start();
    // The pool records into the task directory, which exists only once the session has started.
    workers = attach_worker_pool(session);
    // Workers end with the session, whatever ends it: record them as cancelled before the session
    // finishes the task directory (which would otherwise list them with the task's final status).
    session.on_shutting_down = [&workers](const std::string& reason) {
      if (workers) workers->cancel_all(reason, true);
    };
  } catch (const std::exception& e) {
    spdlog::error("cannot start the bridge: {}", e.what());
    return 1;
  }
  io.run();
  return finished ? 0 : 1;
}

}  // namespace coco::bridge
