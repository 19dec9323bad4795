#include "mockmodel/server.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <asio.hpp>
#include <fmt/format.h>

#include "mockmodel/http_request_parser.h"
#include "mockmodel/log.h"
#include "mockmodel/request_summary.h"
#include "mockmodel/response_plan.h"
#include "mockmodel/step_selector.h"

namespace coco::mockmodel {
namespace {

using asio::ip::tcp;
using Socket = std::shared_ptr<tcp::socket>;

const char* reason_phrase(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 413:
    return "Content Too Large";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Status";
  }
}

std::string plain_response(int status, std::string_view body, bool keep_alive) {
  return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{}",
                     status, reason_phrase(status), body.size(), keep_alive ? "" : "Connection: close\r\n",
                     body);
}

// One chunk of a Transfer-Encoding: chunked body.
std::string chunk(std::string_view data) { return fmt::format("{:x}\r\n{}\r\n", data.size(), data); }

// Peer-gone errors are normal (codex drops connections on interrupt); only others deserve a warning.
bool is_disconnect(const std::error_code& error) {
  return error == asio::error::eof || error == asio::error::connection_reset ||
         error == asio::error::broken_pipe || error == asio::error::operation_aborted ||
         error == asio::error::bad_descriptor;
}

void log_failure(std::exception_ptr failure, const char* what) {
  if (!failure) {
    return;
  }
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    logger().error("{}: {}", what, e.what());
  }
}

}  // namespace

struct detail::ServerState {
  ServerState(asio::io_context& io, Script script)
      : io_executor(io.get_executor()), acceptor(asio::make_strand(io)), selector(std::move(script.steps)) {}

  asio::io_context::executor_type io_executor;
  tcp::acceptor acceptor;  // on a strand: stop() may come from any thread
  StepSelector selector;
  IdGenerator ids;
  std::atomic<std::size_t> answered{0};
  std::atomic<std::uint64_t> next_connection{0};

  std::mutex connections_mutex;
  std::map<std::uint64_t, std::weak_ptr<tcp::socket>> connections;  // to close them in stop()
};

namespace {

using Shared = std::shared_ptr<detail::ServerState>;

// Removes a connection from the registry however its coroutine ends (even when it is destroyed).
class ConnectionRegistration {
public:
  ConnectionRegistration(Shared shared, const Socket& socket)
      : shared_(std::move(shared)), id_(shared_->next_connection++) {
    std::lock_guard lock(shared_->connections_mutex);
    shared_->connections[id_] = socket;
  }
  ~ConnectionRegistration() {
    std::lock_guard lock(shared_->connections_mutex);
    shared_->connections.erase(id_);
  }
  ConnectionRegistration(const ConnectionRegistration&) = delete;
  ConnectionRegistration& operator=(const ConnectionRegistration&) = delete;
  std::uint64_t id() const { return id_; }

private:
  Shared shared_;
  std::uint64_t id_;
};

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

// Waits, but returns false as soon as the client closes the connection: codex does that when a turn
// is interrupted, and a 30 s scripted delay should not keep a dead connection (and step) around.
asio::awaitable<bool> pause_while_connected(Socket socket, std::chrono::milliseconds duration) {
  struct Watch {
    asio::steady_timer timer;
    bool peer_closed = false;
  };
  auto watch = std::make_shared<Watch>(Watch{asio::steady_timer(socket->get_executor(), duration)});
  // Readable with nothing to read means EOF or an error. (Readable with data would be a pipelined
  // request: left for later, the pause goes on.)
  socket->async_wait(tcp::socket::wait_read, [watch, socket](const std::error_code& error) {
    std::error_code ignored;
    if (!error && socket->available(ignored) == 0) {
      watch->peer_closed = true;
      watch->timer.cancel();
    }
  });
  std::error_code ignored;
  co_await watch->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  if (!watch->peer_closed) {
    socket->cancel(ignored);  // ends the readiness wait
  }
  co_return !watch->peer_closed;
}

// Answers one POST .../responses from the script; returns whether the connection stays open.
asio::awaitable<bool> answer_responses(Shared shared, Socket socket, HttpRequest request) {
  const bool keep_alive = request.keep_alive();
  if (request.header("content-encoding") != nullptr) {
    logger().warn("request body is {}-encoded: `when` cannot match it", *request.header("content-encoding"));
  }
  logger().info("POST {} ({} bytes; {})", request.target, request.body.size(),
                summarize_request(request.body));
  const Step* step = shared->selector.take(request.body);
  if (step == nullptr) {
    logger().warn("script exhausted: no step matches; answering \"(mock-model: script exhausted)\"");
    step = &exhausted_step();
  } else {
    logger().info("  -> {}", step->describe());
  }
  ++shared->answered;
  if (step->delay.count() > 0 && !co_await pause_while_connected(socket, step->delay)) {
    logger().info("client closed the connection during delay_ms (turn interrupted?)");
    co_return false;
  }
  ResponsePlan plan = plan_response(*step, request.body.size(), shared->ids);
  if (plan.http_status != 0) {
    co_await asio::async_write(*socket, asio::buffer(plain_response(plan.http_status, plan.body, keep_alive)),
                               asio::use_awaitable);
    co_return keep_alive;
  }
  // Chunked, so each SSE record reaches codex as it is written (and `interval_ms` is visible).
  std::string head =
      fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                  "Transfer-Encoding: chunked\r\n{}\r\n",
                  keep_alive ? "" : "Connection: close\r\n");
  co_await asio::async_write(*socket, asio::buffer(head), asio::use_awaitable);
  for (std::size_t i = 0; i < plan.records.size(); ++i) {
    if (i > 0 && step->interval.count() > 0 && !co_await pause_while_connected(socket, step->interval)) {
      logger().info("client closed the connection mid-stream (turn interrupted?)");
      co_return false;
    }
    std::string data = chunk(plan.records[i].wire());
    // The last record and the end of the body go in one write: codex stops reading at
    // response.completed, so the end of the body must already be there for hyper to pool the connection.
    if (i + 1 == plan.records.size() && !plan.disconnect) {
      data += "0\r\n\r\n";
    }
    co_await asio::async_write(*socket, asio::buffer(data), asio::use_awaitable);
  }
  if (plan.disconnect) {
    logger().info("dropping the connection mid-stream (scripted disconnect)");
    co_return false;
  }
  co_return keep_alive;
}

// Routes one request; returns whether the connection stays open.
asio::awaitable<bool> answer(Shared shared, Socket socket, HttpRequest request) {
  const std::string_view path = request.path();
  if (request.method == "POST" && path.ends_with("/responses")) {
    co_return co_await answer_responses(shared, socket, std::move(request));
  }
  const bool keep_alive = request.keep_alive();
  std::string response;
  if (request.method == "GET" && path.ends_with("/models")) {
    // Not requested by codex 0.169.0 with a custom provider; an empty list in both the OpenAI
    // shape (data) and codex's own shape (models) keeps any client from retrying.
    logger().info("{} {} -> empty model list", request.method, request.target);
    response = plain_response(200, R"({"object":"list","data":[],"models":[]})", keep_alive);
  } else {
    logger().warn("{} {} -> 404 (the mock model only serves POST .../responses)", request.method,
                  request.target);
    response = plain_response(
        404, error_body(404, "mock-model: no route for " + request.method + " " + request.target),
        keep_alive);
  }
  co_await asio::async_write(*socket, asio::buffer(response), asio::use_awaitable);
  co_return keep_alive;
}

asio::awaitable<void> serve_connection(Shared shared, Socket socket) {
  ConnectionRegistration registration(shared, socket);
  logger().debug("connection {} opened", registration.id());
  HttpRequestParser parser;
  std::array<char, 16 * 1024> buffer{};
  std::optional<HttpParseError> bad_request;
  try {
    for (;;) {
      while (auto request = parser.next()) {
        if (!co_await answer(shared, socket, std::move(*request))) {
          std::error_code ignored;
          socket->shutdown(tcp::socket::shutdown_both, ignored);
          co_return;
        }
      }
      if (parser.take_continue_request()) {
        co_await asio::async_write(*socket, asio::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")),
                                   asio::use_awaitable);
      }
      std::size_t n = co_await socket->async_read_some(asio::buffer(buffer), asio::use_awaitable);
      parser.feed({buffer.data(), n});
    }
  } catch (const HttpParseError& e) {
    bad_request = e;  // answered below: no co_await inside a handler
  } catch (const asio::system_error& e) {
    if (is_disconnect(e.code())) {
      if (parser.buffered() > 0) {
        logger().warn("connection {} closed in the middle of a request", registration.id());
      }
      logger().debug("connection {} closed", registration.id());
    } else {
      logger().warn("connection {}: {}", registration.id(), e.what());
    }
    co_return;
  }
  logger().warn("connection {}: bad request ({}): answering {}", registration.id(), bad_request->what(),
                bad_request->status);
  auto response =
      plain_response(bad_request->status, error_body(bad_request->status, bad_request->what()), false);
  std::error_code ignored;
  co_await asio::async_write(*socket, asio::buffer(response),
                             asio::redirect_error(asio::use_awaitable, ignored));
}

asio::awaitable<void> accept_connections(Shared shared) {
  for (;;) {
    // Each connection gets a strand so the io_context may run on several threads.
    tcp::socket socket(asio::make_strand(shared->io_executor));
    std::error_code error;
    co_await shared->acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, error));
    if (error == asio::error::operation_aborted || !shared->acceptor.is_open()) {
      co_return;
    }
    if (error) {
      logger().warn("accept failed: {}", error.message());
      co_await pause(std::chrono::milliseconds(50));  // e.g. out of file descriptors: do not spin
      continue;
    }
    socket.set_option(tcp::no_delay(true), error);  // SSE records must not wait for Nagle
    auto connection = std::make_shared<tcp::socket>(std::move(socket));
    auto executor = connection->get_executor();
    asio::co_spawn(executor, serve_connection(shared, std::move(connection)),
                   [](std::exception_ptr failure) { log_failure(failure, "connection failed"); });
  }
}

}  // namespace

Server::Server(asio::io_context& io, Script script, const std::string& host, std::uint16_t port)
    : state_(std::make_shared<detail::ServerState>(io, std::move(script))) {
  try {
    tcp::endpoint endpoint(asio::ip::make_address(host), port);
    state_->acceptor.open(endpoint.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(endpoint);
    state_->acceptor.listen();
  } catch (const std::system_error& e) {
    throw std::runtime_error(
        fmt::format("mock-model cannot listen on {}:{}: {}", host, port, e.code().message()));
  }
  logger().info("listening on {}:{}", host, this->port());
  asio::co_spawn(state_->acceptor.get_executor(), accept_connections(state_),
                 [](std::exception_ptr failure) { log_failure(failure, "accept loop failed"); });
}

Server::~Server() {
  std::error_code ignored;
  state_->acceptor.close(ignored);
}

std::uint16_t Server::port() const {
  std::error_code ignored;
  return state_->acceptor.local_endpoint(ignored).port();
}

void Server::stop() {
  asio::post(state_->acceptor.get_executor(), [state = state_] {
    std::error_code ignored;
    state->acceptor.close(ignored);
  });
  std::lock_guard lock(state_->connections_mutex);
  for (auto& [id, weak] : state_->connections) {
    if (auto socket = weak.lock()) {
      asio::post(socket->get_executor(), [socket] {
        std::error_code ignored;
        socket->close(ignored);
      });
    }
  }
}

std::size_t Server::responses_answered() const { return state_->answered.load(); }

std::size_t Server::open_connections() const {
  std::lock_guard lock(state_->connections_mutex);
  return state_->connections.size();
}

std::vector<const Step*> Server::unused_steps() const { return state_->selector.unused(); }

struct BackgroundServer::Impl {
  asio::io_context io{1};
  std::optional<Server> server;
  std::thread thread;
};

BackgroundServer::BackgroundServer(Script script, const std::string& host) : impl_(std::make_unique<Impl>()) {
  impl_->server.emplace(impl_->io, std::move(script), host, 0);
  impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

BackgroundServer::~BackgroundServer() {
  impl_->io.stop();
  impl_->thread.join();
  impl_->server.reset();  // before the io_context, which then destroys the remaining coroutines
}

std::uint16_t BackgroundServer::port() const { return impl_->server->port(); }

Server& BackgroundServer::server() { return *impl_->server; }

}  // namespace coco::mockmodel
