// The editor-side framing decoder: any bytes, split anywhere, in any starting framing. Checks that it
// never crashes, never returns a frame over the cap, and that a split never changes the result.
#include "protocol/framing.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using coco::protocol::FrameDecoder;
using coco::protocol::Framing;

namespace {
std::vector<std::string> decode(std::string_view input, std::size_t cap, Framing framing, std::size_t step) {
  FrameDecoder d(cap, framing);
  std::vector<std::string> out;
  auto drain = [&] {
    for (;;) {
      auto ev = d.next();
      if (ev.type == FrameDecoder::Event::Type::None) return;
      if (ev.type == FrameDecoder::Event::Type::Frame) {
        if (ev.body.size() > cap) std::abort();
        out.push_back("F" + ev.body);
      } else {
        out.push_back("E");
      }
    }
  };
  for (std::size_t i = 0; i < input.size(); i += step) {
    d.feed(input.substr(i, step));
    drain();
  }
  drain();
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // First byte: framing and cap; second: the split step.
  Framing framing = static_cast<Framing>(data[0] % 3);
  std::size_t cap = 16 + (data[0] >> 2) * 4;
  std::size_t step = 1 + data[1] % 17;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto whole = decode(input, cap, framing, input.size() + 1);
  auto split = decode(input, cap, framing, step);
  if (whole != split) std::abort();  // a decoder must survive any split
  return 0;
}
