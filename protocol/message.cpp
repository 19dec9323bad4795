#include "protocol/message.h"

namespace coco::protocol {

bool is_valid_id(const json& id) { return id.is_number_integer() || id.is_string(); }

Message classify(json body) {
  Message m;
  if (!body.is_object()) {
    m.problem = body.is_array() ? "batches are not supported" : "a message must be a JSON object";
    m.body = std::move(body);
    return m;
  }
  auto method = body.find("method");
  auto id = body.find("id");
  // JSON-RPC wants the id back in the error for an invalid request whenever it can be read.
  if (id != body.end() && is_valid_id(*id)) m.id = *id;
  if (method != body.end()) {
    if (!method->is_string()) {
      m.problem = "\"method\" must be a string";
    } else if (auto params = body.find("params"); params != body.end() && !params->is_object() && !params->is_array()) {
      m.problem = "\"params\" must be an object or an array";
    } else if (id == body.end()) {
      m.kind = Kind::Notification;
      m.method = method->get<std::string>();
    } else if (!is_valid_id(*id)) {
      m.problem = "\"id\" must be an integer or a string";
    } else {
      m.kind = Kind::Request;
      m.method = method->get<std::string>();
    }
  } else if (id != body.end() && (body.contains("result") || body.contains("error"))) {
    if (is_valid_id(*id) || id->is_null()) {
      m.kind = Kind::Response;
    } else {
      m.problem = "\"id\" must be an integer or a string";
    }
  } else {
    m.problem = "neither a request, a notification nor a response";
  }
  m.body = std::move(body);
  return m;
}

json make_error(const json& id, int code, std::string_view message, json data) {
  json err = {{"code", code}, {"message", message}};
  if (!data.is_null()) err["data"] = std::move(data);
  return {{"id", id}, {"error", std::move(err)}};
}

json make_result(const json& id, json result) { return {{"id", id}, {"result", std::move(result)}}; }

json make_request(const json& id, std::string_view method, json params) {
  json j = {{"id", id}, {"method", method}};
  if (!params.is_null()) j["params"] = std::move(params);
  return j;
}

json make_notification(std::string_view method, json params) {
  json j = {{"method", method}};
  if (!params.is_null()) j["params"] = std::move(params);
  return j;
}

std::string to_line(const json& body) {
  // dump() escapes control characters inside strings, so the result holds no raw newline.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace coco::protocol
