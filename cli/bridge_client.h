#pragma once
// A small synchronous JSON-RPC client that starts `coco bridge` as a child and talks to it the way
// an editor would (newline-delimited JSON). Used by the command-line front ends (`coco demo`,
// `coco run`), never by the bridge itself, so blocking here is fine.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace coco::cli {

class BridgeClient {
public:
  struct Options {
    std::vector<std::string> argv;  // the bridge command line
    std::vector<std::string> env;   // "K=V"; empty: inherit
    std::string stderr_file;        // where the bridge's stderr goes; empty: inherit ours
  };
  explicit BridgeClient(const Options& options);  // throws std::system_error
  ~BridgeClient();
  BridgeClient(const BridgeClient&) = delete;
  BridgeClient& operator=(const BridgeClient&) = delete;

  std::int64_t request(const std::string& method, nlohmann::json params);
  void notify(const std::string& method, nlohmann::json params);
  void respond(const nlohmann::json& id, nlohmann::json result);
  // The next message from the bridge, or nullopt on timeout or when the bridge closed its output.
  std::optional<nlohmann::json> next(std::chrono::milliseconds timeout);
  bool closed() const { return eof_; }
  // Closes the bridge's stdin and waits for it to exit; returns its exit code (-1 on timeout/signal).
  int close_and_wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

private:
  void send(const nlohmann::json& msg);
  pid_t pid_ = -1;
  int to_bridge_ = -1, from_bridge_ = -1;
  std::string buffer_;
  bool eof_ = false;
  std::int64_t next_id_ = 1;
};

}  // namespace coco::cli
