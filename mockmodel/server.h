#pragma once
// The HTTP side of the mock model, for in-process use (tests) and for run().

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mockmodel/script.h"

namespace asio {
class io_context;
}

namespace coco::mockmodel {

namespace detail {
struct ServerState;  // shared with the connection coroutines, which may outlive the Server
}

// Serves the Responses API from a script on an io_context the caller runs (any number of threads).
class Server {
public:
  // Binds and listens at once, so port() is known before the io_context runs.
  // Throws std::runtime_error when it cannot listen.
  Server(asio::io_context& io, Script script, const std::string& host = "127.0.0.1", std::uint16_t port = 0);
  // Closes the listener. Destroy the server only while the io_context is not running (after stop()
  // and io_context::stop(), or before run()); open connections end when the io_context is destroyed.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;

  // Stops accepting and closes the open connections; safe from any thread.
  void stop();

  // POST .../responses requests answered so far (including "script exhausted" answers).
  std::size_t responses_answered() const;

  // Connections currently open (a test can wait for codex, or itself, to hang up).
  std::size_t open_connections() const;

  // Non-repeating steps that no request has taken yet (to report a test script that ran short).
  std::vector<const Step*> unused_steps() const;

private:
  std::shared_ptr<detail::ServerState> state_;
};

// A Server with its own io_context and thread, for tests and embedding. Stops in its destructor.
class BackgroundServer {
public:
  explicit BackgroundServer(Script script, const std::string& host = "127.0.0.1");
  ~BackgroundServer();
  BackgroundServer(const BackgroundServer&) = delete;
  BackgroundServer& operator=(const BackgroundServer&) = delete;

  std::uint16_t port() const;
  Server& server();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coco::mockmodel
