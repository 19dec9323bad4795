#pragma once
// A fast look at a message's top level without building a JSON tree.
//
// Codex streams thousands of notifications a second (agent deltas, command output); the bridge
// only needs to know each one's kind, method and id span to route it. scan_envelope() makes one
// linear pass over the text, skipping nested values. Anything unusual (escaped keys, bad syntax)
// makes it report !valid, and the caller falls back to a full parse, which gives the precise error.

#include <cstddef>
#include <string_view>

namespace coco::protocol {

struct Envelope {
  bool valid = false;
  bool has_method = false, has_id = false, has_result = false, has_error = false, has_jsonrpc = false;
  std::string_view method;              // raw string contents (valid only if it had no escapes)
  bool method_has_escapes = false;
  std::size_t id_begin = 0, id_end = 0; // span of the id's value in the text
  bool has_params = false;
  char params_first = 0;                // the first byte of params' value: '{' or '[' when it is valid

  bool is_notification() const { return valid && has_method && !has_id && !method_has_escapes; }
  bool is_request() const { return valid && has_method && has_id && !method_has_escapes; }
  bool is_response() const { return valid && !has_method && has_id && (has_result || has_error); }
};

Envelope scan_envelope(std::string_view text);

}  // namespace coco::protocol
