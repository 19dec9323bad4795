#include "bridge/stream_writer.h"

namespace coco::bridge {

namespace {
// Gathering several queued messages into one write cuts syscalls under floods.
constexpr std::size_t kMaxBatchBuffers = 64;
constexpr std::size_t kMaxBatchBytes = 1u << 20;
// append() packs messages into buffers of this size; a few written ones are kept for reuse.
constexpr std::size_t kPackBytes = 64 * 1024;
constexpr std::size_t kSpareBuffers = 8;
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

void StreamWriter::append(std::initializer_list<std::string_view> parts) {
  if (failed_) return;
  std::size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  if (n == 0) return;
  // Only a buffer behind the in-flight batch may grow: the batch's buffers are being written.
  bool pack = writing_ && queue_.size() > batch_count_ && queue_.back().size() + n <= kPackBytes;
  if (!pack) {
    if (writing_ && n < kPackBytes && !spare_.empty()) {
      queue_.push_back(std::move(spare_.back()));
      spare_.pop_back();
    } else {
      queue_.emplace_back();
      // Room for followers only when this one will wait in the queue anyway.
      queue_.back().reserve(writing_ ? std::max(n, kPackBytes) : n);
    }
  }
  std::string& buf = queue_.back();
  for (std::string_view p : parts) buf.append(p);
  queued_ += n;
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
      std::string& done = queue_.front();
      queued_ -= done.size();
      if (done.capacity() == kPackBytes && spare_.size() < kSpareBuffers) {
        done.clear();
        spare_.push_back(std::move(done));
      }
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
