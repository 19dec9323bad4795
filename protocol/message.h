#pragma once
// The JSON-RPC message model shared by every peer: classification, errors, and the bridge's own
// error codes. Codex omits "jsonrpc":"2.0"; editors send it; neither is required here.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace coco::protocol {

using json = nlohmann::json;

enum class Kind { Request, Notification, Response, Invalid };

struct Message {
  Kind kind = Kind::Invalid;
  json body;           // the whole message
  std::string method;  // requests and notifications
  json id;             // requests and responses (integer or string; null on some error responses)
  std::string problem; // Invalid: why
};

// Classifies a parsed JSON value. Never throws.
Message classify(json body);

// Ids are integers or strings; responses to unparseable requests carry null.
bool is_valid_id(const json& id);

namespace error_code {
// JSON-RPC 2.0
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
// Coco's server errors (-32099..-32000). Codex itself uses -32001 ("server overloaded"), so the
// bridge's codes start at -32050. Documented in docs/protocol.md.
inline constexpr int kUpstreamExited = -32050;      // codex exited before answering this request
inline constexpr int kUpstreamUnavailable = -32051; // codex is not running (restarting, or gave up)
inline constexpr int kBadFrame = -32052;            // a frame was too large or its headers were broken; it was skipped
inline constexpr int kRequestCancelled = -32053;    // the request was resolved elsewhere / is stale
}  // namespace error_code

json make_error(const json& id, int code, std::string_view message, json data = nullptr);
json make_result(const json& id, json result);
json make_request(const json& id, std::string_view method, json params);
json make_notification(std::string_view method, json params);

// Serializes compactly for a line-framed peer (never contains a raw newline).
std::string to_line(const json& body);

}  // namespace coco::protocol
