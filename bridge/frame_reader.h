#pragma once
// One reader per stream: reads bytes, decodes frames, hands each to on_frame. pause()/resume() let
// the other side's writer apply backpressure (a paused reader simply stops issuing reads, so the
// peer blocks on a full pipe instead of our memory growing).

#include "protocol/framing.h"

#include <asio.hpp>

#include <functional>
#include <string>

namespace coco::bridge {

// Asks the kernel for a larger buffer when `fd` is a pipe (Linux F_SETPIPE_SZ; silently nothing
// otherwise). The default 64 KiB pipe makes a flood cost a context switch per 64 KiB on each side of
// the bridge; a bigger one lets each read and write move more at once. Only the two pipes that carry
// codex's output are enlarged: their pages belong to the kernel (not our RSS) but count toward the
// user's pipe budget (/proc/sys/fs/pipe-user-pages-soft), which many bridges share.
void enlarge_pipe(int fd);
inline constexpr int kPipeBytes = 256 * 1024;

class FrameReader {
public:
  FrameReader(asio::posix::stream_descriptor& stream, protocol::FrameDecoder decoder);

  void start();
  void pause() { paused_ = true; }
  void resume();
  protocol::Framing framing() const { return decoder_.framing(); }

  std::function<void(std::string&& body)> on_frame;
  std::function<void(const std::string& problem)> on_bad_frame;  // the decoder has recovered already
  std::function<void()> on_eof;                                   // also on read errors

private:
  void read_more();
  void drain_decoder();
  void report_eof();

  asio::posix::stream_descriptor& stream_;
  protocol::FrameDecoder decoder_;
  bool paused_ = false;
  bool reading_ = false;
  bool eof_ = false;
  bool eof_reported_ = false;
};

}  // namespace coco::bridge
