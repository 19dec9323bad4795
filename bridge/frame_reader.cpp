#include "bridge/frame_reader.h"

#include <fcntl.h>
#include <sys/stat.h>

namespace coco::bridge {
namespace {
// The most one read asks for: an enlarged pipe (kPipeBytes) empties in one call.
constexpr std::size_t kReadBytes = kPipeBytes;
}  // namespace

void enlarge_pipe(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
  // Fails beyond /proc/sys/fs/pipe-max-size or the per-user pipe budget: the default size still works.
  (void)::fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
}

FrameReader::FrameReader(asio::posix::stream_descriptor& stream, protocol::FrameDecoder decoder)
    : stream_(stream), decoder_(std::move(decoder)) {}

void FrameReader::start() { read_more(); }

void FrameReader::resume() {
  if (!paused_) return;
  paused_ = false;
  // Frames decoded before the pause are still buffered: deliver them before reading more.
  drain_decoder();
  if (paused_) return;
  if (eof_) report_eof();
  else if (!reading_) read_more();
}

void FrameReader::report_eof() {
  // Frames that arrived before EOF are delivered first, even across a pause.
  if (eof_reported_ || paused_) return;
  eof_reported_ = true;
  if (on_eof) on_eof();
}

void FrameReader::drain_decoder() {
  using Type = protocol::FrameDecoder::Event::Type;
  while (!paused_) {
    auto ev = decoder_.next();
    if (ev.type == Type::None) break;
    if (ev.type == Type::Error) {
      if (on_bad_frame) on_bad_frame(ev.error);
    } else if (on_frame) {
      on_frame(std::move(ev.body));
    }
  }
}

void FrameReader::read_more() {
  if (paused_ || reading_ || eof_) return;
  reading_ = true;
  // Straight into the decoder's buffer: no copy between the pipe and the frame.
  char* room = decoder_.prepare(kReadBytes);
  stream_.async_read_some(asio::buffer(room, kReadBytes), [this](const asio::error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted) return;  // we may be gone: touch nothing
    reading_ = false;
    if (n > 0) {
      decoder_.commit(n);
      drain_decoder();
    }
    if (ec) {
      eof_ = true;
      report_eof();
      return;
    }
    read_more();
  });
}

}  // namespace coco::bridge
