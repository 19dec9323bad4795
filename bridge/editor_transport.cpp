#include "bridge/editor_transport.h"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace coco::bridge {

StdioTransport::StdioTransport(asio::io_context& io, int in_fd, int out_fd, std::size_t max_frame_bytes,
                               std::size_t high_water, std::size_t low_water)
    : in_(io, in_fd), out_(io, out_fd), reader_(in_, protocol::FrameDecoder(max_frame_bytes)),
      writer_(out_, high_water, low_water) {
  enlarge_pipe(out_fd);
  reader_.on_frame = [this](std::string&& body) { if (on_message) on_message(std::move(body)); };
  reader_.on_bad_frame = [this](const std::string& problem) { if (on_bad_frame) on_bad_frame(problem); };
  reader_.on_eof = [this] {
    if (closed_) return;
    closed_ = true;
    if (on_closed) on_closed();
  };
  writer_.on_drained = [this] { if (on_drained) on_drained(); };
  writer_.on_idle = [this] { if (on_flushed) on_flushed(); };
  writer_.on_error = [this](const asio::error_code& ec) {
    spdlog::info("the editor stopped reading ({})", ec.message());
    if (on_flushed) on_flushed();
    if (closed_) return;
    closed_ = true;
    if (on_closed) on_closed();
  };
}

void StdioTransport::start() { reader_.start(); }

void StdioTransport::send(std::string_view body) {
  // Splice "jsonrpc" in front instead of re-serializing: bodies reach us compact and without it. The
  // pieces go straight into the writer's buffer (one copy, no allocation per message in a flood).
  static constexpr std::string_view kJsonRpc = "{\"jsonrpc\":\"2.0\"";
  std::string_view rest = body.substr(1);  // after '{'
  std::string_view comma = !rest.empty() && rest.front() != '}' ? "," : "";
  // Before the editor has spoken we do not know its framing; lines are what codex clients expect.
  if (reader_.framing() != protocol::Framing::ContentLength) {
    writer_.append({kJsonRpc, comma, rest, "\n"});
    return;
  }
  char header[48];
  int n = std::snprintf(header, sizeof header, "Content-Length: %zu\r\n\r\n", kJsonRpc.size() + comma.size() + rest.size());
  writer_.append({std::string_view(header, static_cast<std::size_t>(n)), kJsonRpc, comma, rest});
}

std::string StdioTransport::describe() const {
  return std::string("stdio, ") + std::string(protocol::to_string(reader_.framing())) + " framing";
}

}  // namespace coco::bridge
