#include "workers/worker_spec.h"

#include "protocol/json_fields.h"
#include "taskdir/task_writer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

namespace coco::workers {
namespace fs = std::filesystem;
using json = nlohmann::json;
using protocol::find_member;

namespace {

constexpr double kMaxTimeoutSeconds = 7 * 24 * 3600.0;

// A TOML basic string. TOML forbids raw control characters (except tab) and DEL inside strings,
// which JSON serializers happily emit raw (DEL), so this escapes by TOML's rules, not JSON's.
void append_toml_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\t': out += "\\t"; break;
    case '\n': out += "\\n"; break;
    case '\f': out += "\\f"; break;
    case '\r': out += "\\r"; break;
    default:
      if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += ch;  // UTF-8 passes through: nlohmann strings are valid UTF-8
      }
    }
  }
  out += '"';
}

void append_toml(std::string& out, const json& v) {
  switch (v.type()) {
  case json::value_t::string: append_toml_string(out, v.get_ref<const std::string&>()); break;
  case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
  case json::value_t::number_integer:
  case json::value_t::number_unsigned: out += v.dump(); break;
  case json::value_t::number_float: {
    double d = v.get<double>();
    if (!std::isfinite(d)) throw std::invalid_argument("config values must be finite numbers");
    std::string s = v.dump();
    // TOML needs a fraction or an exponent to read a float as a float.
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    out += s;
    break;
  }
  case json::value_t::array: {
    out += '[';
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += ", ";
      first = false;
      append_toml(out, e);
    }
    out += ']';
    break;
  }
  case json::value_t::object: {
    out += '{';
    bool first = true;
    for (const auto& [k, e] : v.items()) {
      out += first ? " " : ", ";
      first = false;
      append_toml_string(out, k);
      out += " = ";
      append_toml(out, e);
    }
    out += first ? "}" : " }";
    break;
  }
  default: throw std::invalid_argument("config values cannot be null");
  }
}

std::string string_field(const json& params, const char* key) {
  const json* v = find_member(params, key);
  if (!v) return {};
  if (!v->is_string()) throw std::invalid_argument(std::string(key) + " must be a string");
  return v->get<std::string>();
}

}  // namespace

std::string_view to_string(Isolation isolation) { return isolation == Isolation::Worktree ? "worktree" : "none"; }

bool is_valid_sandbox(std::string_view s) {
  return s == "read-only" || s == "workspace-write" || s == "danger-full-access";
}

bool is_writable_sandbox(std::string_view s) { return s == "workspace-write" || s == "danger-full-access"; }

bool is_valid_config_key(std::string_view key) {
  if (key.empty() || key.size() > 256 || key.front() == '.' || key.back() == '.') return false;
  char prev = 0;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

std::string toml_literal(const json& value) {
  std::string out;
  append_toml(out, value);
  return out;
}

bool is_valid_thread_id(std::string_view id) {
  if (id.empty() || id.size() > 128 || id.front() == '-') return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::chrono::milliseconds parse_timeout_seconds(const json& seconds, std::string_view what) {
  if (!seconds.is_number()) throw std::invalid_argument(std::string(what) + " must be a number of seconds");
  double s = seconds.get<double>();
  if (!(s > 0) || s > kMaxTimeoutSeconds) {
    throw std::invalid_argument(std::string(what) + " must be more than 0 and at most 604800 seconds");
  }
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(s * 1000)));
}

SpawnRequest parse_spawn_params(const json& params, const std::string& base_cwd) {
  if (!params.is_object()) throw std::invalid_argument("params must be an object");
  SpawnRequest r;
  WorkerSpec& s = r.spec;

  s.prompt = string_field(params, "prompt");
  if (s.prompt.empty()) throw std::invalid_argument("prompt is required and must not be empty");

  r.name = string_field(params, "name");
  if (!r.name.empty() && !taskdir::is_valid_name(r.name)) {
    throw std::invalid_argument("name must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit");
  }

  std::string cwd = string_field(params, "cwd");
  fs::path dir = cwd.empty() ? fs::path(base_cwd) : fs::path(cwd);
  if (dir.is_relative()) dir = fs::path(base_cwd) / dir;
  dir = dir.lexically_normal();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::invalid_argument("cwd is not a directory: " + dir.string());
  s.cwd = dir.string();
  if (s.cwd.size() > 1 && s.cwd.back() == '/') s.cwd.pop_back();

  if (const json* schema = find_member(params, "outputSchema")) {
    if (!schema->is_object()) throw std::invalid_argument("outputSchema must be a JSON schema object");
    s.output_schema = *schema;
  }

  if (std::string sandbox = string_field(params, "sandbox"); !sandbox.empty()) {
    if (!is_valid_sandbox(sandbox)) {
      throw std::invalid_argument("sandbox must be read-only, workspace-write or danger-full-access");
    }
    s.sandbox = sandbox;
  }

  s.model = string_field(params, "model");

  if (const json* config = find_member(params, "config")) {
    if (!config->is_object()) throw std::invalid_argument("config must be an object of key: value");
    for (const auto& [key, value] : config->items()) {
      if (!is_valid_config_key(key)) throw std::invalid_argument("config key '" + key + "' is not a dotted name");
      try {
        s.config.emplace_back(key, toml_literal(value));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("config." + key + ": " + e.what());
      }
    }
  }

  if (std::string isolation = string_field(params, "isolation"); !isolation.empty()) {
    if (isolation == "worktree") s.isolation = Isolation::Worktree;
    else if (isolation != "none") throw std::invalid_argument("isolation must be none or worktree");
  }

  if (const json* timeout = find_member(params, "timeoutS")) s.timeout = parse_timeout_seconds(*timeout, "timeoutS");
  return r;
}

}  // namespace coco::workers
