#pragma once
// How the editor's bytes become messages and back: "which protocol the editor speaks", kept apart
// from routing (Session) and recording (taskdir). Today there is one implementation, JSON-RPC over
// stdio in either framing; the Agent Client Protocol or a socket with several clients would be
// further implementations of this interface.

#include "bridge/frame_reader.h"
#include "bridge/stream_writer.h"

#include <asio.hpp>

#include <functional>
#include <memory>
#include <string>

namespace coco::bridge {

class EditorTransport {
public:
  virtual ~EditorTransport() = default;
  virtual void start() = 0;
  // `body` is one compact JSON object without "jsonrpc"; the transport adds what its protocol needs.
  virtual void send(std::string_view body) = 0;
  virtual bool congested() const = 0;
  virtual void pause_reading() = 0;
  virtual void resume_reading() = 0;
  virtual std::string describe() const = 0;  // e.g. "stdio, content-length framing"
  // True once everything sent has been written (or the editor is gone).
  virtual bool flushed() const = 0;

  std::function<void(std::string&& body)> on_message;
  std::function<void(const std::string& problem)> on_bad_frame;
  std::function<void()> on_drained;  // the outgoing queue fell below low water
  std::function<void()> on_closed;   // input ended, or the editor stopped reading (EPIPE)
  std::function<void()> on_flushed;  // the outgoing queue became empty
};

// JSON-RPC 2.0 on a pair of file descriptors (stdin/stdout). The framing of the first message
// (Content-Length headers or one JSON per line) is used for every answer.
class StdioTransport final : public EditorTransport {
public:
  StdioTransport(asio::io_context& io, int in_fd, int out_fd, std::size_t max_frame_bytes, std::size_t high_water,
                 std::size_t low_water);
  void start() override;
  void send(std::string_view body) override;
  bool congested() const override { return writer_.above_high_water(); }
  void pause_reading() override { reader_.pause(); }
  void resume_reading() override { reader_.resume(); }
  std::string describe() const override;
  bool flushed() const override { return writer_.idle() || writer_.failed(); }

private:
  asio::posix::stream_descriptor in_, out_;
  FrameReader reader_;
  StreamWriter writer_;
  bool closed_ = false;
};

}  // namespace coco::bridge
