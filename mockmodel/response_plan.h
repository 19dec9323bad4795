#pragma once
// Turns a scripted step into what the server sends: the SSE records of a Responses API stream
// (response.created, output items, response.completed / response.failed) or a plain HTTP error.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mockmodel/script.h"

namespace coco::mockmodel {

// Unique ids across every response of one server ("resp_1", "msg_1", "call_1", ...), so that codex
// never sees two items with one id even when several codex processes share the server.
class IdGenerator {
public:
  std::string next(const std::string& prefix);

private:
  std::mutex mutex_;
  std::map<std::string, std::uint64_t> counters_;
};

struct SseRecord {
  std::string event;  // also repeated as data.type, as the real API does
  nlohmann::json data;

  // "event: <type>\ndata: <compact json>\n\n"
  std::string wire() const;
};

struct ResponsePlan {
  int http_status = 0;  // nonzero: a plain HTTP response with `body` (JSON) instead of a stream
  std::string body;
  std::vector<SseRecord> records;
  bool disconnect = false;  // drop the connection after the records (no response.completed)
};

ResponsePlan plan_response(const Step& step, std::size_t request_bytes, IdGenerator& ids);

// An OpenAI-style error object: {"error":{"message","type","code"}}.
std::string error_body(int status, const std::string& message);

// What a request gets when no step matches: a plain message, so codex ends the turn instead of hanging.
const Step& exhausted_step();

// Splits text into delta pieces at word boundaries (never inside a UTF-8 character).
std::vector<std::string> split_for_streaming(std::string_view text);

}  // namespace coco::mockmodel
