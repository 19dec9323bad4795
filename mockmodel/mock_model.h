#pragma once
// A scripted OpenAI Responses-API server for running codex offline (see docs/mock-model.md).
// In-process use (tests): mockmodel/server.h (Server, BackgroundServer) and mockmodel/script.h.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace coco::mockmodel {

struct Options {
  std::filesystem::path script;  // YAML script
  std::uint16_t port = 0;        // 0 = pick a free port
  std::string host = "127.0.0.1";
};

// Runs until SIGINT/SIGTERM. Calls on_listening(port) once the socket is bound (the CLI prints it).
// Returns the process exit code; throws std::runtime_error for a bad script with the line number.
int run(const Options& options, const std::function<void(std::uint16_t)>& on_listening);

}  // namespace coco::mockmodel
