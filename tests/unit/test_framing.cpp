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
Decoded decode_in_chunks(const std::string& input, std::size_t chunk, std::size_t max = 1 << 20,
                         Framing framing = Framing::Unknown) {
  FrameDecoder d(max, framing);
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

  // (Once the framing is known: as the first bytes of a stream, the `{` would decide for lines.)
  std::string missing = "X-Foo: 1\r\n\r\n{}\r\nContent-Length: " + std::to_string(good.size()) + "\r\n\r\n" + good;
  out = decode_in_chunks(missing, 5, 1 << 20, Framing::ContentLength);
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

namespace {

// Every split of `input` in two, and one byte at a time: the same frames and the same number of errors.
void check_recovery(const std::string& input, const std::vector<std::string>& frames, std::size_t errors,
                    std::size_t max = 1 << 20) {
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    FrameDecoder d(max);
    d.feed(std::string_view(input).substr(0, cut));
    Decoded out = drain(d);
    d.feed(std::string_view(input).substr(cut));
    out = drain(d, std::move(out));
    CAPTURE(cut);
    CHECK(out.frames == frames);
    CHECK(out.errors.size() == errors);
  }
  auto bytewise = decode_in_chunks(input, 1, max);
  CHECK(bytewise.frames == frames);
  CHECK(bytewise.errors.size() == errors);
}

std::string lsp(const std::string& body) { return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body; }

}  // namespace

TEST_CASE("a UTF-8 byte order mark at the start is skipped in either framing") {
  const std::string bom = "\xEF\xBB\xBF";
  check_recovery(bom + "{\"id\":1}\n{\"id\":2}\n", {"{\"id\":1}", "{\"id\":2}"}, 0);
  check_recovery(bom + lsp("{\"id\":1}") + lsp("{\"id\":2}"), {"{\"id\":1}", "{\"id\":2}"}, 0);
  FrameDecoder d;
  d.feed(bom + lsp("{}"));
  drain(d);
  CHECK(d.framing() == Framing::ContentLength);
}

TEST_CASE("bytes before the first message are skipped, reported once, and the framing still detected") {
  // A banner line, binary noise, a JSON scalar: none of them starts a message.
  for (std::string junk : {std::string("hello world\n"), std::string("\x00\x01\x02xyz", 6), std::string("42\n"),
                           std::string("\"just a string\"\r\n"), std::string("true "), std::string("\xEF\xBB")}) {
    CAPTURE(junk);
    check_recovery(junk + "{\"id\":1}\n{\"id\":2}\n", {"{\"id\":1}", "{\"id\":2}"}, 1);
    check_recovery(junk + lsp("{\"id\":1}") + lsp("{\"id\":2}"), {"{\"id\":1}", "{\"id\":2}"}, 1);
  }
  // Content-Type first is an LSP header too.
  check_recovery("Content-Type: application/vscode-jsonrpc\r\n" + lsp("{}"), {"{}"}, 0);
  // Junk glued to the header on the same line.
  check_recovery("junk" + lsp("{\"id\":1}"), {"{\"id\":1}"}, 1);
}

TEST_CASE("a Content-Length far beyond the cap resyncs at the next header instead of swallowing the stream") {
  const std::string good = "{\"id\":2}";
  for (std::string length : {std::string("99999999999"), std::string("9223372036854775807"),
                             std::string("18446744073709551615"), std::string("99999999999999999999999999"),
                             std::string("-1"), std::string("0x10")}) {
    CAPTURE(length);
    std::string input = "Content-Length: " + length + "\r\n\r\n{\"id\":1}" + lsp(good) + lsp(good);
    check_recovery(input, {good, good}, 1, 64);
  }
  // Just above the cap (an honest oversize message): skipped exactly, so its body may hold anything.
  std::string body = "{\"s\":\"Content-Length: 3\\r\\n\\r\\n{}\"," + std::string(80, ' ') + "}";
  check_recovery(lsp(body) + lsp(good), {good}, 1, 64);
}

TEST_CASE("a header block with junk before its Content-Length resyncs inside the block") {
  const std::string good = "{\"id\":5}";
  std::string input = lsp("{}") + "garbage line\r\n" + lsp(good);
  check_recovery(input, {"{}", good}, 1);
  // A body shorter than announced: the next header is swallowed, then the stream recovers.
  std::string shorter = "Content-Length: 3\r\n\r\n{\"id\":1}" + lsp(good);
  auto out = decode_in_chunks(shorter, 1);
  CHECK(out.frames.size() == 2);  // "{\"i" (a parse error for the session) and the good one
  CHECK(out.frames.back() == good);
}
