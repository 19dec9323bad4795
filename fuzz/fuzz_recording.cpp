// What the disk thread does to every record: whatever the message bytes, every output line is strict
// JSON; redaction never crashes, and text the prefilter passes is left alone.
#include "protocol/json_text.h"
#include "taskdir/record_lines.h"
#include "taskdir/redact.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace coco;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // A record line as AgentLog::message makes it, but for the raw newline it never lets through.
  std::string message(bytes);
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::string line = "{\"seq\":1,\"ts\":\"t\",\"dir\":\"codex->editor\",\"msg\":" + message + "}\n";
  std::string out;
  std::string_view written = taskdir::finish_record_lines(line, out) ? std::string_view(out) : std::string_view(line);
  if (written.empty() || written.back() != '\n') std::abort();
  if (written.find('\n') != written.size() - 1) std::abort();  // still one line
  if (protocol::check_json_text(written.substr(0, written.size() - 1)) != protocol::JsonStatus::Ok) std::abort();

  std::string redacted = taskdir::redact_secrets(bytes);
  if (!taskdir::might_contain_secret(bytes) && redacted != bytes) std::abort();
  return 0;
}
