#pragma once
// Framing of JSON-RPC messages on a byte stream, with no I/O.
//
// Two framings exist on the editor side: LSP's `Content-Length` headers and newline-delimited JSON
// (what codex app-server speaks). The decoder detects which one from the first significant byte:
// `{` or `[` means lines, anything else means headers. It survives any split of the input.
//
// Recovery from bad frames (the table in docs/protocol.md, "Recovery from bad frames"): the decoder
// never goes silent. Every problem is reported once as an Error event, after the decoder has recovered:
// - a UTF-8 byte order mark at the very start of the stream is skipped silently;
// - before the framing is known, bytes that start neither a JSON message (`{`, `[`) nor an LSP header
//   (`Content-Length:`, `Content-Type:`) are skipped up to the first that does (a JSON scalar, a shell
//   banner, binary noise), reported once; the framing is then detected from that byte;
// - a line longer than the cap: reported once, the rest of that line is skipped;
// - a Content-Length above the cap but at most kSkippableFactor times it: reported, exactly that many
//   body bytes are skipped (an honest oversize message; the stream stays in sync without buffering);
// - a Content-Length beyond that (99999999999, INT64_MAX, an overflowing number), a header block
//   without a valid Content-Length, or one longer than 8 KiB: reported, and the decoder resyncs at the
//   next `Content-Length:` header, searching from the byte after the bad block's start.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace coco::protocol {

enum class Framing { Unknown, ContentLength, Lines };
std::string_view to_string(Framing framing);

inline constexpr std::size_t kDefaultMaxFrameBytes = 64u << 20;
// A Content-Length above the cap is skipped only up to this many times the cap; a larger one cannot be
// trusted (skipping it would swallow everything after it), so the decoder resyncs at the next header.
inline constexpr std::size_t kSkippableFactor = 4;

class FrameDecoder {
public:
  struct Event {
    enum class Type { None, Frame, Error } type = Type::None;
    std::string body;   // Frame: the message body
    std::string error;  // Error: what was wrong (the decoder has already recovered)
  };

  explicit FrameDecoder(std::size_t max_frame_bytes = kDefaultMaxFrameBytes, Framing framing = Framing::Unknown);

  void feed(std::string_view bytes);
  // Reading straight into the decoder saves a copy of every byte: prepare() returns room for at least
  // `n` bytes at the end of the buffer, commit() adds the `n` bytes that were put there. Nothing else
  // may be fed in between; next() may be called (it never moves the buffer).
  char* prepare(std::size_t n);
  void commit(std::size_t n);
  // The next complete frame or error; Type::None when more bytes are needed.
  Event next();

  Framing framing() const { return framing_; }
  // Bytes held while waiting for the rest of a frame.
  std::size_t buffered() const { return buf_.size() - pos_; }

private:
  Event detect_framing();
  Event next_line();
  Event next_content_length();
  void compact();
  // A frame was taken out: once a huge one is all consumed, its buffer is freed before the frame is
  // handled (which copies it again), unless a read into it is in flight (prepare() without commit()).
  Event frame_taken(Event ev);

  // The input not yet consumed, and room to read into. Not a std::string: growing one zero-fills the
  // room that a read is about to overwrite anyway.
  class Buffer {
  public:
    const char* data() const { return bytes_.get(); }
    char* data() { return bytes_.get(); }
    std::size_t size() const { return size_; }
    char operator[](std::size_t i) const { return bytes_[i]; }
    void erase_front(std::size_t n);
    char* room(std::size_t n);  // at least n bytes after size()
    void grow(std::size_t n) { size_ += n; }
    std::size_t capacity() const { return capacity_; }

  private:
    std::unique_ptr<char[]> bytes_;
    std::size_t size_ = 0, capacity_ = 0;
  };

  std::size_t max_frame_;
  Framing framing_;
  Buffer buf_;
  std::size_t pos_ = 0;        // start of unconsumed bytes
  std::size_t scanned_ = 0;    // bytes after pos_ already searched for a terminator
  std::size_t skip_body_ = 0;  // ContentLength: bytes of an oversize body still to discard
  bool skip_line_ = false;     // Lines: discarding the rest of an oversize line
  bool resync_ = false;        // ContentLength: looking for the next Content-Length header
  bool at_stream_start_ = true;  // a byte order mark may still come
  bool read_in_flight_ = false;  // between prepare() and commit(): the buffer must not move
  std::size_t garbage_ = 0;      // Unknown: bytes skipped so far before the first message
};

}  // namespace coco::protocol
