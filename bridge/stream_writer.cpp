#include "bridge/stream_writer.h"

namespace coco::bridge {

namespace {
// Gathering several queued messages into one write cuts syscalls under floods.
constexpr std::size_t kMaxBatchBuffers = 64;
constexpr std::size_t kMaxBatchBytes = 1u << 20;
}  // namespace

StreamWriter::StreamWriter(asio::posix::stream_descriptor& stream, std::size_t high_water, std::size_t low_water)
    : stream_(stream), high_water_(high_water), low_water_(low_water) {}

void StreamWriter::write(std::string bytes) {
  if (failed_ || bytes.empty()) return;
  queued_ += bytes.size();
  queue_.push_back(std::move(bytes));
  if (queued_ >= high_water_) paused_producer_ = true;
  if (!writing_) start_write();
}

void StreamWriter::start_write() {
  batch_.clear();
  std::size_t bytes = 0;
  for (auto it = queue_.begin(); it != queue_.end() && batch_.size() < kMaxBatchBuffers; ++it) {
    if (!batch_.empty() && bytes + it->size() > kMaxBatchBytes) break;
    batch_.emplace_back(asio::buffer(*it));
    bytes += it->size();
  }
  batch_count_ = batch_.size();
  writing_ = true;
  asio::async_write(stream_, batch_, [this](const asio::error_code& ec, std::size_t) {
    if (ec == asio::error::operation_aborted) return;  // we may be gone: touch nothing
    writing_ = false;
    if (ec) {
      failed_ = true;
      queue_.clear();
      queued_ = 0;
      if (on_error) on_error(ec);
      return;
    }
    for (std::size_t i = 0; i < batch_count_; ++i) {
      queued_ -= queue_.front().size();
      queue_.pop_front();
    }
    // Start the next write before telling anyone: on_drained resumes the other side's reader, whose
    // frames come straight back to write(), and a second async_write must never start beside this one.
    if (!queue_.empty()) start_write();
    if (paused_producer_ && queued_ <= low_water_) {
      paused_producer_ = false;
      if (on_drained) on_drained();
    }
    if (!writing_ && on_idle) on_idle();
  });
}

}  // namespace coco::bridge
