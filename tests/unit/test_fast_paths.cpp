// The shortcuts the benchmarks led to must decide exactly what the slow paths would.
#include "protocol/envelope.h"
#include "protocol/framing.h"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using coco::protocol::FrameDecoder;
using coco::protocol::Framing;
using coco::protocol::scan_envelope;

namespace {

std::vector<std::string> drain(FrameDecoder& d) {
  std::vector<std::string> out;
  for (;;) {
    auto ev = d.next();
    if (ev.type == FrameDecoder::Event::Type::None) return out;
    out.push_back(ev.type == FrameDecoder::Event::Type::Frame ? ev.body : "error: " + ev.error);
  }
}

}  // namespace

TEST_CASE("FrameDecoder: reading into prepare()/commit() gives what feed() gives, at any split") {
  std::string input;
  for (int i = 0; i < 300; ++i) input += "{\"id\":" + std::to_string(i) + ",\"method\":\"m\",\"params\":{\"t\":\"" + std::string(i * 7, 'x') + "\"}}\n";
  input += "Content-Length: 5\r\n\r\n{\"a\"}";  // not a line frame: stays a partial line

  FrameDecoder reference(1 << 20, Framing::Lines);
  reference.feed(input);
  auto expected = drain(reference);

  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    FrameDecoder d(1 << 20, Framing::Lines);
    std::vector<std::string> got;
    std::size_t at = 0;
    while (at < input.size()) {
      std::size_t n = std::min<std::size_t>(input.size() - at, 1 + rng() % (round < 10 ? 16 : 9000));
      std::size_t room = n + rng() % 100;  // as a read would: room for more than arrives
      char* p = d.prepare(room);
      std::memcpy(p, input.data() + at, n);
      d.commit(n);
      at += n;
      for (auto& f : drain(d)) got.push_back(std::move(f));
    }
    CHECK(got == expected);
    CHECK(d.buffered() == reference.buffered());
  }
}

TEST_CASE("scan_envelope: escaped quotes and backslash runs inside strings") {
  // An escaped quote does not end a string; an escaped backslash before a quote does not escape it.
  auto e = scan_envelope(R"({"method":"item/agentMessage/delta","params":{"delta":"say \"hi\" \\","x":"\\\\"},"id":7})");
  CHECK(e.valid);
  CHECK(e.is_request());
  CHECK(e.method == "item/agentMessage/delta");
  CHECK(std::string(R"({"method":"item/agentMessage/delta","params":{"delta":"say \"hi\" \\","x":"\\\\"},"id":7})")
            .substr(e.id_begin, e.id_end - e.id_begin) == "7");

  // A string whose last quote is escaped never ends: not valid.
  CHECK_FALSE(scan_envelope(R"({"method":"a","params":{"t":"open \"}})").valid);
  // Escapes in a key or in the method make the caller fall back to a full parse.
  CHECK_FALSE(scan_envelope(R"({"me\u0074hod":"a"})").valid);
  auto esc = scan_envelope(R"({"method":"a\/b"})");
  CHECK(esc.valid);
  CHECK(esc.method_has_escapes);
  CHECK_FALSE(esc.is_notification());
  // Structural characters inside strings are text.
  auto nested = scan_envelope(R"({"params":{"a":"}{][\"","b":[1,{"c":"]"}]},"method":"x"})");
  CHECK(nested.is_notification());
  CHECK(nested.method == "x");
}
