#include "mockmodel/http_request_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace coco::mockmodel {
namespace {

std::string lower(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Whether a comma-separated header value (Connection, Transfer-Encoding) lists `token`.
bool lists_token(const std::string* value, std::string_view token) {
  if (value == nullptr) {
    return false;
  }
  std::string_view rest = *value;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    if (lower(trim(rest.substr(0, comma))) == token) {
      return true;
    }
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return false;
}

std::size_t parse_size(std::string_view text, int base, const char* what) {
  std::size_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw HttpParseError(400, std::string("bad ") + what + ": " + std::string(text.substr(0, 40)));
  }
  return value;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

std::string_view HttpRequest::path() const {
  std::string_view view = target;
  return view.substr(0, view.find('?'));
}

bool HttpRequest::keep_alive() const {
  const std::string* connection = header("connection");
  if (version == "HTTP/1.0") {
    return lists_token(connection, "keep-alive");
  }
  return !lists_token(connection, "close");
}

std::optional<std::string> HttpRequestParser::take_line() {
  auto end = buffer_.find('\n');
  if (end == std::string::npos) {
    if (buffer_.size() > kMaxHeadBytes) {
      throw HttpParseError(431, "header line too long");
    }
    return std::nullopt;
  }
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 1);
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

// Waits for the whole head (so a request line split anywhere is fine), then parses it.
bool HttpRequestParser::parse_head() {
  // Clients may send stray CRLFs between requests (RFC 9112 2.2): skip them.
  while (buffer_.starts_with("\r\n") || buffer_.starts_with("\n")) {
    buffer_.erase(0, buffer_[0] == '\r' ? 2 : 1);
  }
  auto crlf_end = buffer_.find("\r\n\r\n");
  auto lf_end = buffer_.find("\n\n");
  auto end = std::min(crlf_end == std::string::npos ? std::string::npos : crlf_end + 4,
                      lf_end == std::string::npos ? std::string::npos : lf_end + 2);
  if (end == std::string::npos) {
    if (buffer_.size() > kMaxHeadBytes) {
      throw HttpParseError(431, "request head too large");
    }
    return false;
  }
  if (end > kMaxHeadBytes) {
    throw HttpParseError(431, "request head too large");
  }
  current_ = HttpRequest{};
  auto request_line = take_line().value();
  auto first_space = request_line.find(' ');
  auto last_space = request_line.rfind(' ');
  if (first_space == std::string::npos || first_space == last_space) {
    throw HttpParseError(400, "bad request line: " + request_line.substr(0, 80));
  }
  current_.method = request_line.substr(0, first_space);
  current_.target = request_line.substr(first_space + 1, last_space - first_space - 1);
  current_.version = request_line.substr(last_space + 1);
  if (!current_.version.starts_with("HTTP/1.")) {
    throw HttpParseError(505, "unsupported version: " + current_.version.substr(0, 20));
  }
  for (;;) {
    auto line = take_line().value();
    if (line.empty()) {
      break;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw HttpParseError(400, "bad header line: " + line.substr(0, 80));
    }
    current_.headers.emplace_back(lower(std::string_view(line).substr(0, colon)),
                                  std::string(trim(std::string_view(line).substr(colon + 1))));
  }

  const std::string* transfer_encoding = current_.header("transfer-encoding");
  const std::string* content_length = current_.header("content-length");
  if (transfer_encoding != nullptr) {
    if (!lists_token(transfer_encoding, "chunked")) {
      throw HttpParseError(501, "unsupported Transfer-Encoding: " + *transfer_encoding);
    }
    state_ = State::ChunkSize;
  } else if (content_length != nullptr) {
    remaining_ = parse_size(*content_length, 10, "Content-Length");
    if (remaining_ > kMaxBodyBytes) {
      throw HttpParseError(413, "body too large");
    }
    state_ = State::FixedBody;
  } else {
    remaining_ = 0;
    state_ = State::FixedBody;  // no body
  }
  const std::string* expect = current_.header("expect");
  continue_pending_ = expect != nullptr && lower(*expect) == "100-continue";
  return true;
}

// Consumes body bytes; true once the request is complete.
bool HttpRequestParser::parse_body() {
  for (;;) {
    switch (state_) {
    case State::Head:
      return false;
    case State::FixedBody:
    case State::ChunkData: {
      auto n = std::min(remaining_, buffer_.size());
      current_.body.append(buffer_, 0, n);
      buffer_.erase(0, n);
      remaining_ -= n;
      if (remaining_ > 0) {
        return false;
      }
      if (state_ == State::FixedBody) {
        return true;
      }
      state_ = State::ChunkDataEnd;
      break;
    }
    case State::ChunkSize: {
      auto line = take_line();
      if (!line) {
        return false;
      }
      std::string_view size = *line;
      size = trim(size.substr(0, size.find(';')));  // drop chunk extensions
      remaining_ = parse_size(size, 16, "chunk size");
      if (current_.body.size() + remaining_ > kMaxBodyBytes) {
        throw HttpParseError(413, "body too large");
      }
      state_ = remaining_ == 0 ? State::Trailers : State::ChunkData;
      break;
    }
    case State::ChunkDataEnd: {
      auto line = take_line();
      if (!line) {
        return false;
      }
      if (!line->empty()) {
        throw HttpParseError(400, "chunk data longer than its size");
      }
      state_ = State::ChunkSize;
      break;
    }
    case State::Trailers: {
      auto line = take_line();
      if (!line) {
        return false;
      }
      if (line->empty()) {
        return true;
      }
      break;  // trailer fields are ignored
    }
    }
  }
}

std::optional<HttpRequest> HttpRequestParser::next() {
  if (state_ == State::Head && !parse_head()) {
    return std::nullopt;
  }
  if (!parse_body()) {
    return std::nullopt;
  }
  state_ = State::Head;
  continue_pending_ = false;
  return std::move(current_);
}

bool HttpRequestParser::take_continue_request() { return std::exchange(continue_pending_, false); }

}  // namespace coco::mockmodel
