#include "mockmodel/mock_model.h"

#include <csignal>

#include <asio.hpp>

#include "mockmodel/log.h"
#include "mockmodel/server.h"

namespace coco::mockmodel {

int run(const Options& options, const std::function<void(std::uint16_t)>& on_listening) {
  Script script = load_script(options.script);  // a bad script throws before anything listens
  logger().info("script {}: {} steps", script.name, script.steps.size());

  asio::io_context io(1);
  Server server(io, std::move(script), options.host, options.port);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& error, int signal) {
    if (!error) {
      logger().info("signal {}: stopping", signal);
    }
    server.stop();
    io.stop();
  });
  if (on_listening) {
    on_listening(server.port());
  }
  io.run();

  // Steps left over usually mean a test expected more turns than codex made: say which.
  for (const Step* step : server.unused_steps()) {
    logger().warn("step never used: {}", step->describe());
  }
  logger().info("served {} responses", server.responses_answered());
  return 0;
}

}  // namespace coco::mockmodel
