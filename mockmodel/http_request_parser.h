#pragma once
// Incremental HTTP/1.1 request parser: survives any split of the input (codex's requests arrive in
// TCP segments of any size), handles Content-Length and chunked bodies, keep-alive and pipelining.

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coco::mockmodel {

struct HttpRequest {
  std::string method;
  std::string target;                                        // as sent, e.g. "/v1/responses?x=1"
  std::string version;                                       // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;                                          // de-chunked

  // The first header with this (lower-case) name, or nullptr.
  const std::string* header(std::string_view name) const;
  // The target without its query string.
  std::string_view path() const;
  // HTTP/1.1 keeps the connection unless "Connection: close"; HTTP/1.0 only with "keep-alive".
  bool keep_alive() const;
};

// A malformed request; `status` is the HTTP status to answer with before closing.
class HttpParseError : public std::runtime_error {
public:
  HttpParseError(int status, const std::string& what) : std::runtime_error(what), status(status) {}
  int status;
};

class HttpRequestParser {
public:
  static constexpr std::size_t kMaxHeadBytes = 64 * 1024;
  static constexpr std::size_t kMaxBodyBytes = 256 * 1024 * 1024;

  void feed(std::string_view bytes) { buffer_.append(bytes); }

  // The next complete request, or nullopt until more bytes arrive. Throws HttpParseError.
  std::optional<HttpRequest> next();

  // True once per request that sent "Expect: 100-continue" and still waits for its body.
  bool take_continue_request();

  // Bytes received but not yet part of a returned request.
  std::size_t buffered() const { return buffer_.size(); }

private:
  enum class State { Head, FixedBody, ChunkSize, ChunkData, ChunkDataEnd, Trailers };

  bool parse_head();
  bool parse_body();
  std::optional<std::string> take_line();  // without its CRLF (or LF)

  std::string buffer_;
  State state_ = State::Head;
  HttpRequest current_;
  std::size_t remaining_ = 0;  // body or chunk bytes still expected
  bool continue_pending_ = false;
};

}  // namespace coco::mockmodel
