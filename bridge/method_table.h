#pragma once
// One table for every coco/* method, whoever provides it (the core, the gates, the workers), and the
// one place where what a handler throws becomes a JSON-RPC error:
//   InvalidParams, std::invalid_argument, a JSON type or lookup error  -> -32602 invalid params
//   any other exception                                                -> -32603 internal error
// Handlers read their params with the helpers below, which throw InvalidParams with a message that
// names the field, so a wrongly typed field is a clear answer, never a crash.

#include "bridge/reply.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace coco::bridge {

class InvalidParams : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

class MethodTable {
public:
  // `params` is always an object (absent or null params arrive as {}).
  using Handler = std::function<void(const nlohmann::json& params, Reply reply)>;

  // Registering a name twice is a programming error (std::logic_error).
  void add(std::string method, Handler handler);
  bool contains(const std::string& method) const { return handlers_.count(method) > 0; }
  std::vector<std::string> names() const;  // sorted

  // Runs the handler for `method`, or answers -32601. Never throws.
  void dispatch(const std::string& method, const nlohmann::json& params, Reply reply) const;

private:
  std::map<std::string, Handler, std::less<>> handlers_;
};

// Typed access to params (throw InvalidParams naming the field).
std::string required_string(const nlohmann::json& params, const char* key);  // non-empty
std::optional<std::string> optional_string(const nlohmann::json& params, const char* key);  // absent or null: nullopt

}  // namespace coco::bridge
