// Framing decoders must survive any split of the input and recover from bad frames.
#include "protocol/framing.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using coco::protocol::FrameDecoder;
using coco::protocol::Framing;
using Type = FrameDecoder::Event::Type;

namespace {

struct Decoded {
  std::vector<std::string> frames;
  std::vector<std::string> errors;
};

Decoded drain(FrameDecoder& d, Decoded out = {}) {
  for (;;) {
    auto ev = d.next();
    if (ev.type == Type::None) return out;
    if (ev.type == Type::Frame) out.frames.push_back(ev.body);
    else out.errors.push_back(ev.error);
  }
}

// Feeds `input` in pieces of `chunk` bytes, draining after every piece.
Decoded decode_in_chunks(const std::string& input, std::size_t chunk, std::size_t max = 1 << 20) {
  FrameDecoder d(max);
  Decoded out;
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    d.feed(std::string_view(input).substr(i, chunk));
    out = drain(d, std::move(out));
  }
  return out;
}

// Splits `input` in two at every position.
void check_every_split(const std::string& input, const std::vector<std::string>& expected) {
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    FrameDecoder d;
    d.feed(std::string_view(input).substr(0, cut));
    Decoded out = drain(d);
    d.feed(std::string_view(input).substr(cut));
    out = drain(d, std::move(out));
    CAPTURE(cut);
    CHECK(out.frames == expected);
    CHECK(out.errors.empty());
  }
}

}  // namespace

TEST_CASE("lines framing is detected from '{' and survives byte-by-byte input") {
  std::string input = "{\"id\":1,\"method\":\"a\"}\n\n{\"method\":\"b\",\"params\":{\"s\":\"x\\ny\"}}\r\n";
  auto out = decode_in_chunks(input, 1);
  REQUIRE(out.frames.size() == 2);
  CHECK(out.frames[0] == "{\"id\":1,\"method\":\"a\"}");
  CHECK(out.frames[1] == "{\"method\":\"b\",\"params\":{\"s\":\"x\\ny\"}}");
  check_every_split(input, out.frames);
}

TEST_CASE("content-length framing: case-insensitive names, unknown headers ignored, any split") {
  std::string body1 = "{\"id\":1,\n  \"method\":\"initialize\"}";  // pretty-printed, raw newline inside
  std::string body2 = "{\"method\":\"ü\"}";                           // multi-byte: lengths count bytes
  std::string input = "content-length: " + std::to_string(body1.size()) + "\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" +
                      body1 + "CONTENT-LENGTH:" + std::to_string(body2.size()) + "\r\n\r\n" + body2;
  FrameDecoder d;
  d.feed(input);
  auto out = drain(d);
  CHECK(d.framing() == Framing::ContentLength);
  CHECK(out.frames == std::vector<std::string>{body1, body2});
  check_every_split(input, {body1, body2});
  CHECK(decode_in_chunks(input, 1).frames == std::vector<std::string>{body1, body2});
  CHECK(decode_in_chunks(input, 7).frames == std::vector<std::string>{body1, body2});
}

TEST_CASE("an oversize content-length body is skipped and the stream stays in sync") {
  std::string big(100, 'x');
  std::string good = "{\"id\":2}";
  std::string input = "Content-Length: 100\r\n\r\n" + big + "Content-Length: " + std::to_string(good.size()) + "\r\n\r\n" + good;
  for (std::size_t chunk : {1u, 3u, 1000u}) {
    auto out = decode_in_chunks(input, chunk, /*max=*/50);
    CAPTURE(chunk);
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].find("exceeds") != std::string::npos);
    CHECK(out.frames == std::vector<std::string>{good});
  }
}

TEST_CASE("a header block without a valid Content-Length resyncs at the next header") {
  std::string good = "{\"id\":3}";
  std::string input = "Content-Length: abc\r\n\r\n{\"junk\":1}Content-Length: " + std::to_string(good.size()) + "\r\n\r\n" + good;
  auto out = decode_in_chunks(input, 1);
  CHECK(out.errors.size() == 1);
  CHECK(out.frames == std::vector<std::string>{good});

  std::string missing = "X-Foo: 1\r\n\r\n{}\r\nContent-Length: " + std::to_string(good.size()) + "\r\n\r\n" + good;
  out = decode_in_chunks(missing, 5);
  CHECK(out.errors.size() == 1);
  CHECK(out.frames == std::vector<std::string>{good});
}

TEST_CASE("an endless header block is reported instead of buffered forever") {
  std::string input = "Content-Length: 5" + std::string(20000, ' ');
  auto out = decode_in_chunks(input, 512);
  CHECK(out.errors.size() == 1);
  CHECK(out.frames.empty());
}

TEST_CASE("an oversize line is reported once and the next line still decodes") {
  std::string input = "{\"a\":\"" + std::string(200, 'y') + "\"}\n{\"id\":4}\n";
  for (std::size_t chunk : {1u, 16u, 4096u}) {
    auto out = decode_in_chunks(input, chunk, /*max=*/64);
    CAPTURE(chunk);
    CHECK(out.errors.size() == 1);
    CHECK(out.frames == std::vector<std::string>{"{\"id\":4}"});
  }
}

TEST_CASE("Content-Length counts bytes, not characters") {
  FrameDecoder d(1 << 20, Framing::ContentLength);
  d.feed("Content-Length: 10\r\n\r\n{\"m\":\"\u00e9\"}");  // \u00e9 is two bytes
  auto ev = d.next();
  CHECK(ev.type == Type::Frame);
  CHECK(ev.body == "{\"m\":\"\u00e9\"}");
}
