#pragma once
// Typed, lenient reads of fields in JSON that came from outside (codex, an editor, a task directory,
// a worker's events). A missing field, a field of another type and a value that is not an object all
// read as "absent": these never throw, so a wrongly shaped message cannot end the bridge. Code that
// must *refuse* a wrong type (method params, answers) checks the type itself and says what was wrong.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace coco::protocol {

// The member `key` of `obj`, or nullptr when `obj` is not an object, has no such member or holds null
// there (codex writes absent optional fields as null).
inline const nlohmann::json* find_member(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// The member `key` of `obj`, or a JSON null when it is absent.
inline const nlohmann::json& member_or_null(const nlohmann::json& obj, std::string_view key) {
  static const nlohmann::json kNull;
  const nlohmann::json* v = find_member(obj, key);
  return v ? *v : kNull;
}

// The string member `key` of `obj`, or `fallback` when it is absent or not a string.
inline std::string string_member(const nlohmann::json& obj, std::string_view key, std::string fallback = {}) {
  const nlohmann::json* v = find_member(obj, key);
  return v && v->is_string() ? v->get<std::string>() : std::move(fallback);
}

}  // namespace coco::protocol
