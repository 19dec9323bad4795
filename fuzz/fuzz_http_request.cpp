// The mock model's HTTP/1.1 request parser: any bytes, split anywhere. It may throw HttpParseError
// (answered 4xx and the connection closed), never anything else, and a split never changes the result.
#include "mockmodel/http_request_parser.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace coco::mockmodel;

namespace {
std::vector<std::string> parse(std::string_view input, std::size_t step) {
  HttpRequestParser p;
  std::vector<std::string> out;
  try {
    for (std::size_t i = 0; i < input.size(); i += step) {
      p.feed(input.substr(i, step));
      while (auto r = p.next()) out.push_back(r->method + " " + r->target + " " + r->body);
    }
  } catch (const HttpParseError& e) {
    out.push_back("error " + std::to_string(e.status));
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (parse(input, input.size() + 1) != parse(input, 1 + data[0] % 13)) std::abort();
  return 0;
}
