#include "bridge/method_table.h"

#include "protocol/message.h"

#include <spdlog/spdlog.h>

namespace coco::bridge {

using json = nlohmann::json;
namespace ec = protocol::error_code;

void MethodTable::add(std::string method, Handler handler) {
  if (!handlers_.emplace(method, std::move(handler)).second) throw std::logic_error("method registered twice: " + method);
}

std::vector<std::string> MethodTable::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : handlers_) out.push_back(name);
  return out;
}

void MethodTable::dispatch(const std::string& method, const json& params, Reply reply) const {
  auto it = handlers_.find(method);
  if (it == handlers_.end()) return reply.error(ec::kMethodNotFound, "Unknown method: " + method);
  // Keep a handle on the answer: the handler may move its Reply away and then throw.
  auto state = reply.state_;
  auto answer_error = [&](int code, const std::string& message) { Reply::fail(state, code, message); };
  try {
    it->second(params.is_null() ? json::object() : params, std::move(reply));
  } catch (const std::invalid_argument& e) {
    answer_error(ec::kInvalidParams, std::string("Invalid params: ") + e.what());
  } catch (const json::exception& e) {
    // A handler that read a field of the wrong type or shape (nlohmann throws type_error, out_of_range).
    answer_error(ec::kInvalidParams, std::string("Invalid params: ") + e.what());
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", method, e.what());
    answer_error(ec::kInternalError, std::string("Internal error: ") + e.what());
  }
}

std::string required_string(const json& params, const char* key) {
  auto it = params.find(key);
  if (it == params.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    throw InvalidParams(std::string(key) + " is required and must be a non-empty string");
  return it->get<std::string>();
}

std::optional<std::string> optional_string(const json& params, const char* key) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw InvalidParams(std::string(key) + " must be a string");
  return it->get<std::string>();
}

}  // namespace coco::bridge
