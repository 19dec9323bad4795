#include "protocol/framing.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace coco::protocol {
namespace {

constexpr std::size_t kMaxHeaderBytes = 8192;
// An empty buffer larger than this is freed (see Buffer::erase_front).
constexpr std::size_t kKeptCapacity = 4u << 20;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Finds "content-length:" case-insensitively at or after `from`. Not anchored to a line start:
// in LSP framing the next header follows the previous body directly.
std::size_t find_content_length_header(std::string_view s, std::size_t from) {
  static constexpr std::string_view kName = "content-length:";
  for (std::size_t i = from; i + kName.size() <= s.size(); ++i) {
    if (iequals(s.substr(i, kName.size()), kName)) return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::string_view to_string(Framing framing) {
  switch (framing) {
  case Framing::ContentLength: return "content-length";
  case Framing::Lines: return "lines";
  case Framing::Unknown: break;
  }
  return "unknown";
}

FrameDecoder::FrameDecoder(std::size_t max_frame_bytes, Framing framing)
    : max_frame_(max_frame_bytes), framing_(framing) {}

void FrameDecoder::Buffer::erase_front(std::size_t n) {
  if (n < size_) std::memmove(bytes_.get(), bytes_.get() + n, size_ - n);
  size_ -= n;
  // After a huge frame, give its memory back instead of keeping it for the next one.
  if (size_ == 0 && capacity_ > kKeptCapacity) {
    bytes_.reset();
    capacity_ = 0;
  }
}

char* FrameDecoder::Buffer::room(std::size_t n) {
  if (capacity_ - size_ < n) {
    std::size_t cap = std::max({capacity_ * 2, size_ + n, std::size_t{4096}});
    auto bigger = std::make_unique_for_overwrite<char[]>(cap);
    if (size_ > 0) std::memcpy(bigger.get(), bytes_.get(), size_);
    bytes_ = std::move(bigger);
    capacity_ = cap;
  }
  return bytes_.get() + size_;
}

void FrameDecoder::feed(std::string_view bytes) {
  compact();
  if (bytes.empty()) return;
  std::memcpy(buf_.room(bytes.size()), bytes.data(), bytes.size());
  buf_.grow(bytes.size());
}

char* FrameDecoder::prepare(std::size_t n) {
  compact();
  read_in_flight_ = true;
  return buf_.room(n);
}

void FrameDecoder::commit(std::size_t n) {
  read_in_flight_ = false;
  buf_.grow(n);
}

namespace {
// The body of a frame, with room for one more byte: the bridge sends a forwarded line on with its
// newline appended, which then costs no second copy of a large message.
std::string frame_body(std::string_view bytes) {
  std::string body;
  body.reserve(bytes.size() + 1);
  body.append(bytes);
  return body;
}
}  // namespace

FrameDecoder::Event FrameDecoder::frame_taken(Event ev) {
  if (!read_in_flight_ && pos_ == buf_.size() && buf_.capacity() > kKeptCapacity) {
    buf_.erase_front(pos_);  // frees it (Buffer::erase_front)
    pos_ = 0;
    scanned_ = 0;
  }
  return ev;
}

void FrameDecoder::compact() {
  // Drop consumed bytes once they dominate the buffer, so appends stay amortized O(1).
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= buf_.size() / 2)) {
    buf_.erase_front(pos_);
    pos_ = 0;
  }
}

FrameDecoder::Event FrameDecoder::next() {
  if (framing_ == Framing::Unknown) {
    Event ev = detect_framing();
    if (framing_ == Framing::Unknown || ev.type != Event::Type::None) return ev;
  }
  return framing_ == Framing::Lines ? next_line() : next_content_length();
}

FrameDecoder::Event FrameDecoder::detect_framing() {
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
  if (at_stream_start_) {
    // Some Windows tools start a UTF-8 stream with a byte order mark; it is not part of any message.
    if (rest.size() < kBom.size() && kBom.substr(0, rest.size()) == rest) return {};  // wait for more
    if (rest.substr(0, kBom.size()) == kBom) {
      pos_ += kBom.size();
      rest.remove_prefix(kBom.size());
    }
    at_stream_start_ = false;
  }
  std::size_t lead = 0;
  while (lead < rest.size() && is_space(rest[lead])) ++lead;
  // The first byte that starts a message decides; anything before it is skipped (and reported).
  std::size_t start = lead;
  std::size_t keep = rest.size();  // where an unfinished header name begins: kept for the next read
  Framing found = Framing::Unknown;
  for (; start < rest.size(); ++start) {
    char c = rest[start];
    if (c == '{' || c == '[') {
      found = Framing::Lines;
      break;
    }
    if (c != 'c' && c != 'C') continue;
    bool partial = false;
    for (std::string_view header : {std::string_view("content-length:"), std::string_view("content-type:")}) {
      std::string_view here = rest.substr(start, header.size());
      if (iequals(here, header)) found = Framing::ContentLength;
      else if (here.size() < header.size() && iequals(here, header.substr(0, here.size()))) partial = true;
    }
    if (found != Framing::Unknown) break;
    if (partial) {
      keep = start;
      break;
    }
  }
  garbage_ += std::min(start, keep) - lead;
  if (found == Framing::Unknown) {
    pos_ += std::min(start, keep);
    return {};
  }
  pos_ += start;
  framing_ = found;
  if (garbage_ == 0) return {};
  Event ev{Event::Type::Error, {}, "skipped " + std::to_string(garbage_) + " bytes that do not start a message before the first one"};
  garbage_ = 0;
  return ev;
}

FrameDecoder::Event FrameDecoder::next_line() {
  for (;;) {
    std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
    std::size_t nl = rest.find('\n', scanned_);
    if (nl == std::string_view::npos) {
      scanned_ = rest.size();
      if (skip_line_) {  // still inside an oversize line: drop what we have
        pos_ = buf_.size();
        scanned_ = 0;
        return {};
      }
      if (rest.size() > max_frame_) {
        pos_ = buf_.size();
        scanned_ = 0;
        skip_line_ = true;
        return {Event::Type::Error, {}, "line exceeds the frame size limit of " + std::to_string(max_frame_) + " bytes; skipped"};
      }
      return {};
    }
    std::string_view line = rest.substr(0, nl);
    pos_ += nl + 1;
    scanned_ = 0;
    if (skip_line_) {
      skip_line_ = false;
      continue;
    }
    if (line.size() > max_frame_) {
      return {Event::Type::Error, {}, "line exceeds the frame size limit of " + std::to_string(max_frame_) + " bytes; skipped"};
    }
    line = trim(line);
    if (line.empty()) continue;
    return frame_taken({Event::Type::Frame, frame_body(line), {}});
  }
}

FrameDecoder::Event FrameDecoder::next_content_length() {
  for (;;) {
    if (skip_body_ > 0) {
      std::size_t n = std::min(skip_body_, buf_.size() - pos_);
      pos_ += n;
      skip_body_ -= n;
      if (skip_body_ > 0) return {};
    }
    std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
    if (resync_) {
      std::size_t at = find_content_length_header(rest, 0);
      if (at == std::string_view::npos) {
        // Keep a short tail: the next header may be split across reads.
        std::size_t keep = std::min<std::size_t>(rest.size(), 15);
        pos_ += rest.size() - keep;
        return {};
      }
      pos_ += at;
      resync_ = false;
      scanned_ = 0;
      continue;
    }
    // Skip blank lines between messages.
    std::size_t lead = 0;
    while (lead < rest.size() && is_space(rest[lead])) ++lead;
    if (lead > 0) {
      pos_ += lead;
      scanned_ = scanned_ > lead ? scanned_ - lead : 0;
      rest.remove_prefix(lead);
    }
    if (rest.empty()) return {};

    // The header block ends at an empty line; accept "\r\n\r\n" and, leniently, "\n\n".
    std::size_t from = scanned_ > 3 ? scanned_ - 3 : 0;
    std::size_t end = std::string_view::npos, sep = 0;
    for (std::size_t i = from; i < rest.size(); ++i) {
      if (rest[i] != '\n') continue;
      if (i >= 1 && rest[i - 1] == '\n') { end = i - 1; sep = 1; break; }
      if (i >= 3 && rest[i - 1] == '\r' && rest[i - 2] == '\n' && rest[i - 3] == '\r') { end = i - 3; sep = 3; break; }
    }
    if (end == std::string_view::npos) {
      scanned_ = rest.size();
      if (rest.size() > kMaxHeaderBytes) {
        pos_ += 1;  // ensure progress past this header's own Content-Length
        resync_ = true;
        return {Event::Type::Error, {}, "header block exceeds " + std::to_string(kMaxHeaderBytes) + " bytes; resyncing at the next Content-Length header"};
      }
      return {};
    }
    scanned_ = 0;
    std::string_view headers = rest.substr(0, end);
    std::size_t header_bytes = end + sep + 1;

    long long length = -1;
    bool bad = false;
    std::size_t line_start = 0;
    while (line_start <= headers.size()) {
      std::size_t line_end = headers.find('\n', line_start);
      if (line_end == std::string_view::npos) line_end = headers.size();
      std::string_view line = trim(headers.substr(line_start, line_end - line_start));
      line_start = line_end + 1;
      if (line.empty()) continue;
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) { bad = true; continue; }
      if (iequals(trim(line.substr(0, colon)), "content-length")) {
        std::string_view v = trim(line.substr(colon + 1));
        long long n = -1;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || p != v.data() + v.size() || n < 0) bad = true;
        else length = n;
      }
      // Other headers (Content-Type, ...) are ignored.
    }
    if (bad || length < 0) {
      // Resync from the next byte, not after the block: a valid header may hide behind junk in it.
      pos_ += 1;
      resync_ = true;
      return {Event::Type::Error, {}, length < 0 && !bad ? "header block without Content-Length; resyncing at the next Content-Length header"
                                                          : "malformed header block; resyncing at the next Content-Length header"};
    }
    if (static_cast<unsigned long long>(length) > max_frame_) {
      std::string what = "Content-Length " + std::to_string(length) + " exceeds the frame size limit of " + std::to_string(max_frame_) + " bytes";
      if (static_cast<unsigned long long>(length) / kSkippableFactor > max_frame_) {
        pos_ += 1;
        resync_ = true;
        return {Event::Type::Error, {}, what + " by far; resyncing at the next Content-Length header"};
      }
      pos_ += header_bytes;
      skip_body_ = static_cast<std::size_t>(length);
      return {Event::Type::Error, {}, what + "; body skipped"};
    }
    if (rest.size() < header_bytes + static_cast<std::size_t>(length)) return {};
    Event ev{Event::Type::Frame, frame_body(rest.substr(header_bytes, static_cast<std::size_t>(length))), {}};
    pos_ += header_bytes + static_cast<std::size_t>(length);
    return frame_taken(std::move(ev));
  }
}

}  // namespace coco::protocol
