#include "bridge/bridge_runner.h"

#include "bridge/acp_face.h"
#include "bridge/codex_face.h"
#include "bridge/worker_methods.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string_view>

#include <fcntl.h>
#include <sched.h>
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

// Runs the loop, but after handling something it keeps polling for a moment before it sleeps in
// epoll_wait. While traffic flows the next message usually comes within microseconds, and waking a
// sleeping thread (on a VM, often a sleeping vCPU) costs 50-100 us per hop: the spin halves the added
// round-trip time (docs/performance.md, "Latency"). It costs at most `spin` of CPU after each burst,
// and nothing while the bridge is idle. On a single CPU spinning would only keep codex and the editor
// from running, so there it never spins.
void run_with_spin(asio::io_context& io, std::chrono::microseconds spin) {
  cpu_set_t cpus;
  if (::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < 2) spin = {};
  if (spin.count() == 0) {
    io.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  auto last_work = clock::now();
  while (!io.stopped()) {
    if (io.poll() > 0) {
      last_work = clock::now();
    } else if (clock::now() - last_work >= spin) {
      io.run_one();  // sleeps until there is something to do
      last_work = clock::now();
    }
  }
}

// COCO_TEST_FAULT=throw-in-loop[:N] makes N handlers (default 1) on the event loop throw, outside the
// per-message guard: how the tests prove that an error escaping the loop ends the task `failed` with its
// reason (docs/reliability.md). Nothing else reads it.
int injected_loop_faults() {
  const char* v = std::getenv("COCO_TEST_FAULT");
  if (v == nullptr) return 0;
  std::string_view s(v);
  constexpr std::string_view kThrow = "throw-in-loop";
  if (s.substr(0, kThrow.size()) != kThrow) return 0;
  s.remove_prefix(kThrow.size());
  if (s.empty()) return 1;
  int n = 0;
  if (s[0] != ':' || std::from_chars(s.data() + 1, s.data() + s.size(), n).ec != std::errc()) return 0;
  return n;
}

std::unique_ptr<Face> make_face(EditorProtocol protocol, Session& session) {
  switch (protocol) {
  case EditorProtocol::Acp: return std::make_unique<AcpFace>(session);
  case EditorProtocol::Codex: break;
  }
  return std::make_unique<CodexFace>(session);
}

}  // namespace

int run_bridge(const BridgeOptions& options, EditorProtocol protocol) {
  ensure_standard_fds();
  std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an EPIPE on write, handled there

  asio::io_context io(1);
  auto editor = std::make_unique<StdioTransport>(io, ::dup(0), ::dup(1), options.max_frame_bytes, options.high_water,
                                                 options.low_water);
  Session session(io, options, std::move(editor));
  session.set_face(make_face(protocol, session));
  // Declared after the session so that it goes first: its workers' process groups are killed then.
  std::unique_ptr<workers::WorkerPool> workers;
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
  for (int i = injected_loop_faults(); i > 0; --i)
    asio::post(io, [] { throw std::runtime_error("injected fault (COCO_TEST_FAULT)"); });
  // Messages are handled under a guard (Session::guarded); what still escapes the loop is a bug that
  // ends the session, recorded as `failed` with its reason, never as a clean completion, and the exit
  // status says so.
  bool failed = false;
  for (int attempt = 0;; ++attempt) {
    try {
      run_with_spin(io, options.spin);
      break;
    } catch (const std::exception& e) {
      failed = true;
      std::string reason = std::string("internal error: ") + e.what();
      if (attempt >= 2) {
        spdlog::critical("{}; giving up", reason);
        session.task().finish("failed", reason);
        return 1;
      }
      session.fail(reason);  // then the loop runs on to stop codex and finish the task
    }
  }
  return finished && !failed ? 0 : 1;
}

}  // namespace coco::bridge
