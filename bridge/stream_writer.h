#pragma once
// One writer per stream: a queue drained by a single in-flight async write (writes never overlap).
//
// The queue is measured in bytes. Producers check above_high_water() and pause their source; the
// writer calls on_drained once the queue falls below the low-water mark so they can resume. That
// is how a slow reader on one side pauses reading on the other instead of growing memory.

#include <asio.hpp>

#include <deque>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace coco::bridge {

class StreamWriter {
public:
  StreamWriter(asio::posix::stream_descriptor& stream, std::size_t high_water, std::size_t low_water);

  void write(std::string bytes);
  // Writes the concatenation of `parts`. While a write is in flight, small messages are packed into the
  // last queued buffer (it is not part of that write), so that a flood costs neither an allocation nor
  // an iovec per message.
  void append(std::initializer_list<std::string_view> parts);
  bool above_high_water() const { return queued_ >= high_water_; }
  bool failed() const { return failed_; }
  bool idle() const { return queue_.empty() && !writing_; }

  std::function<void()> on_drained;                        // queue fell below low water
  std::function<void(const asio::error_code&)> on_error;  // the peer is gone (EPIPE, ...); once
  std::function<void()> on_idle;                           // everything queued has been written

private:
  void start_write();

  asio::posix::stream_descriptor& stream_;
  std::size_t high_water_, low_water_;
  std::deque<std::string> queue_;
  std::vector<std::string> spare_;  // written pack buffers, kept for reuse
  std::vector<asio::const_buffer> batch_;
  std::size_t batch_count_ = 0;
  std::size_t queued_ = 0;
  bool writing_ = false;
  bool failed_ = false;
  bool paused_producer_ = false;  // we crossed high water since the last on_drained
};

}  // namespace coco::bridge
