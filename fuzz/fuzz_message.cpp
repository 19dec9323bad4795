// Untrusted JSON: the capped parse, classification, the envelope scanner and the strict check.
// Oracles: check_json_text never accepts what nlohmann refuses; the envelope agrees with the full
// classification on what it claims; a classified message serializes to one line that parses back.
#include "protocol/envelope.h"
#include "protocol/json_text.h"
#include "protocol/message.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace coco::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  JsonStatus strict = check_json_text(text);
  ParsedJson parsed = parse_json(text);
  if (strict == JsonStatus::Ok && !parsed.ok()) std::abort();        // strict accepts only valid JSON
  if (strict == JsonStatus::TooDeep && parsed.ok()) std::abort();    // both apply the same cap
  if (parsed.status == JsonStatus::TooDeep && strict == JsonStatus::Ok) std::abort();

  Envelope env = scan_envelope(text);
  if (!parsed.ok()) return 0;
  Message m = classify(std::move(parsed.value));
  if (env.valid && env.is_request() && m.kind == Kind::Request && m.method != env.method) std::abort();
  std::string line = to_line(m.body);
  if (line.find('\n') != std::string::npos) std::abort();
  ParsedJson again = parse_json(line);
  if (!again.ok()) std::abort();
  std::string append;
  append_json_string(append, text);
  if (check_json_text(append) != JsonStatus::Ok) std::abort();
  return 0;
}
