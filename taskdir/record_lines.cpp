#include "taskdir/record_lines.h"

#include "protocol/json_text.h"
#include "taskdir/redact.h"

namespace coco::taskdir {
namespace {

constexpr std::string_view kMsgKey = "\"msg\":";
constexpr std::string_view kLineEnd = "}\n";

// The line with its message replaced by {error, raw}: `line` is `<prefix>"msg":<message>}\n`.
std::string as_invalid_record(std::string_view prefix, std::string_view message, protocol::JsonStatus status) {
  std::string out(prefix);
  out += "\"error\":";
  protocol::append_json_string(out, status == protocol::JsonStatus::TooDeep
                                        ? "the message nests deeper than 512 levels; recorded as text"
                                        : "the message is not valid JSON; recorded as text");
  out += ',';
  append_raw_fields(out, message);
  out += kLineEnd;
  return out;
}

}  // namespace

void append_raw_fields(std::string& out, std::string_view raw) {
  // Redacted before encoding: base64 would hide a secret from the redaction of the line.
  std::string clean = might_contain_secret(raw) ? redact_secrets(raw) : std::string(raw);
  out += "\"raw\":";
  if (!protocol::append_json_string(out, clean)) {
    out += ",\"rawBase64\":\"";
    protocol::append_base64(out, clean);
    out += '"';
  }
}

bool finish_record_lines(std::string_view data, std::string& out) {
  bool changed = false;
  std::size_t copied = 0;  // data[0, copied) is in `out` already (once changed)
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t end = data.find('\n', start);
    end = end == std::string_view::npos ? data.size() : end + 1;
    std::string_view line = data.substr(start, end - start);
    std::string line_out;
    bool line_changed = false;
    // Our own prefix has no bare `"msg":` (its strings are escaped), so the first one starts the message.
    std::size_t key = line.find(kMsgKey);
    if (key != std::string_view::npos && line.size() >= key + kMsgKey.size() + kLineEnd.size() &&
        line.substr(line.size() - kLineEnd.size()) == kLineEnd) {
      std::size_t msg = key + kMsgKey.size();
      std::string_view message = line.substr(msg, line.size() - kLineEnd.size() - msg);
      protocol::JsonStatus status = protocol::check_json_text(message);
      if (status != protocol::JsonStatus::Ok) {
        line_out = as_invalid_record(line.substr(0, key), message, status);
        line_changed = true;
      }
    }
    if (line_changed) {
      if (might_contain_secret(line_out)) line_out = redact_secrets(line_out);
    } else if (might_contain_secret(line)) {
      // Most lines that pass the prefilter hold a harmless "tokenUsage": compared, not copied, then.
      std::string redacted = redact_secrets(line);
      if (redacted != line) {
        line_out = std::move(redacted);
        line_changed = true;
      }
    }
    if (line_changed) {
      if (!changed) out.reserve(data.size());
      out.append(data.substr(copied, start - copied));
      out += line_out;
      copied = end;
      changed = true;
    }
    start = end;
  }
  if (changed) out.append(data.substr(copied));
  return changed;
}

}  // namespace coco::taskdir
