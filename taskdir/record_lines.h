#pragma once
// What the disk thread does to every record before it reaches an agent's events.jsonl, so that every
// line of every file parses with any strict JSON reader and holds no secret. Internal to taskdir/.

#include <string>
#include <string_view>

namespace coco::taskdir {

// `data` holds whole record lines as AgentLog::message queues them: `{"seq":N,"ts":..,"dir":..,"msg":M}\n`
// with M the message exactly as it arrived. A line whose M is not valid JSON text
// (protocol::check_json_text: NUL and other raw control bytes, invalid UTF-8, junk, nesting beyond
// 512 levels) is rewritten as `{"seq","ts","dir","error","raw"[,"rawBase64"]}`. Then secrets are
// redacted in every line. Returns false, leaving `out` alone, when no line changes (the common case).
bool finish_record_lines(std::string_view data, std::string& out);

// Appends `"raw":"<text>"` for bytes that did not make a message, secrets redacted first; when the
// bytes are not UTF-8, `raw` is lossy (U+FFFD) and `"rawBase64"` follows with the exact (redacted) bytes.
void append_raw_fields(std::string& out, std::string_view raw);

}  // namespace coco::taskdir
