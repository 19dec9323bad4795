#include "workers/exec_events.h"

#include "text/one_line.h"
#include <cstring>

namespace coco::workers {
using text::one_line;
using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxErrorsKept = 20;  // a looping worker must not grow the report without bound

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string describe_item(const json& item) {
  std::string type = str(item, "type");
  std::string detail;
  if (type == "agent_message" || type == "reasoning") detail = str(item, "text");
  else if (type == "command_execution") detail = str(item, "command");
  else if (type == "error") detail = str(item, "message");
  else if (type == "file_change" && item.contains("changes") && item["changes"].is_array()) {
    for (const auto& c : item["changes"]) detail += (detail.empty() ? "" : " ") + str(c, "path");
  } else if (type == "mcp_tool_call") detail = str(item, "server") + "." + str(item, "tool");
  else if (type == "web_search") detail = str(item, "query");
  return detail.empty() ? type : type + ": " + detail;
}

// The line of a command's output that says codex's sandbox could not start, or "". codex runs
// sandboxed commands through bubblewrap and its `codex-linux-sandbox` helper; when it could not set the
// helper up (a CODEX_HOME under the system temp dir, a read-only home...) every such command fails with
// "bwrap: execvp codex-linux-sandbox: No such file or directory" and never runs.
std::string sandbox_failure_line(const std::string& output) {
  std::size_t at = output.find("codex-linux-sandbox");
  if (at == std::string::npos) return {};
  std::size_t begin = output.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  std::size_t end = output.find('\n', at);
  std::string line = output.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  bool failed_to_start = line.find("bwrap") != std::string::npos || line.find("execvp") != std::string::npos ||
                         line.find("No such file") != std::string::npos;
  return failed_to_start ? line : std::string();
}

}  // namespace

// ---- LineSplitter ----

void LineSplitter::feed(std::string_view bytes) {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {  // keep the buffer from creeping
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

std::optional<std::string> LineSplitter::next() {
  for (;;) {
    auto nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      if (buf_.size() - pos_ > max_) {  // an endless line: drop what we have, skip to its end
        if (!skipping_) ++overlong_;
        skipping_ = true;
        buf_.clear();
        pos_ = 0;
      }
      return std::nullopt;
    }
    std::size_t start = pos_;
    pos_ = nl + 1;
    if (skipping_) {
      skipping_ = false;
      continue;
    }
    std::size_t end = nl;
    if (end > start && buf_[end - 1] == '\r') --end;
    if (end - start > max_) {
      ++overlong_;
      continue;
    }
    bool blank = true;
    for (std::size_t i = start; i < end && blank; ++i) blank = buf_[i] == ' ' || buf_[i] == '\t';
    if (blank) continue;
    return buf_.substr(start, end - start);
  }
}

std::optional<std::string> LineSplitter::finish() {
  if (skipping_ || pos_ >= buf_.size()) return std::nullopt;
  std::string rest = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  if (rest.find_first_not_of(" \t\r") == std::string::npos) return std::nullopt;
  return rest;
}

// ---- ExecProgress ----

void ExecProgress::observe(const json& event) {
  ++events_;
  std::string type = str(event, "type");
  latest_ = type.empty() ? "(event without a type)" : type;
  if (type == "thread.started") {
    if (auto id = str(event, "thread_id"); !id.empty()) thread_id_ = id;
  } else if (type == "item.started" || type == "item.updated" || type == "item.completed") {
    const json& item = event.contains("item") ? event["item"] : json();
    latest_ += " " + describe_item(item);
    if (type == "item.completed") {
      std::string item_type = str(item, "type");
      if (item_type == "agent_message") last_agent_message_ = str(item, "text");
      if (item_type == "error" && errors_.size() < kMaxErrorsKept) errors_.push_back(str(item, "message"));
      if (item_type == "command_execution" && sandbox_failure_.empty())
        sandbox_failure_ = sandbox_failure_line(str(item, "aggregated_output"));
    }
  } else if (type == "turn.completed") {
    turn_completed_ = true;
    turn_failed_ = false;  // a later turn (resume) supersedes an earlier failure
    if (event.contains("usage")) usage_ = event["usage"];
  } else if (type == "turn.failed") {
    turn_failed_ = true;
    const json& error = event.contains("error") ? event["error"] : json();
    failure_ = error.is_object() ? str(error, "message") : error.is_string() ? error.get<std::string>() : "";
    if (failure_.empty()) failure_ = "no message";
    latest_ += ": " + failure_;
  } else if (type == "error") {
    std::string message = str(event, "message");
    if (errors_.size() < kMaxErrorsKept) errors_.push_back(message);
    latest_ += ": " + message;
  }
  latest_ = one_line(latest_, 200);
}

// ---- verdicts ----

std::string stderr_reason(std::string_view tail) {
  std::string last;
  std::string last_error;
  std::size_t pos = 0;
  while (pos < tail.size()) {
    auto nl = tail.find('\n', pos);
    std::string_view line = tail.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? tail.size() : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line.rfind("Reading additional input from stdin", 0) == 0) continue;
    // Codex prints a stack backtrace after "Error: ..."; its frames are not the reason.
    if (line.rfind("Error:", 0) == 0) last_error = std::string(line);
    else if (line.find("Stack backtrace") == std::string_view::npos && line.rfind("   ", 0) != 0) last = std::string(line);
  }
  return one_line(last_error.empty() ? last : last_error, 300);
}

Verdict derive_verdict(const ExecProgress& p, const RunEnd& end) {
  if (!end.start_error.empty()) return {"failed", end.start_error};
  if (end.cancelled) return {"cancelled", end.cancel_reason.empty() ? "cancelled" : end.cancel_reason};
  if (end.timed_out) {
    auto ms = end.timeout.count();
    std::string s = ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
    return {"timedOut", "no result within the timeout of " + s + "; stopped"};
  }
  if (p.turn_failed()) return {"failed", "the turn failed: " + p.failure()};
  std::string why = stderr_reason(end.stderr_tail);
  if (why.empty() && !p.errors().empty()) why = p.errors().back();
  auto with_why = [&](std::string s) { return why.empty() ? s : s + ": " + why; };
  if (end.exit && end.exit->signal != 0) return {"failed", with_why("codex was " + end.exit->describe())};
  if (end.exit && end.exit->exit_code != 0) return {"failed", with_why("codex " + end.exit->describe())};
  if (!p.turn_completed()) return {"failed", with_why("codex exited without turn.completed")};
  // A "completed" turn proves nothing when the sandbox could not start: every sandboxed command failed
  // without running (and codex exec does not always report those commands as items).
  std::string sandbox = !p.sandbox_failure().empty() ? p.sandbox_failure() : end.sandboxed ? end.sandbox_warning : "";
  if (!sandbox.empty())
    return {"failed", "codex could not start its sandbox, so sandboxed commands could not run (" + one_line(sandbox, 200) + ")"};
  return {"completed", ""};
}

std::optional<json> parse_final(const std::string& text, bool has_schema) {
  if (!has_schema) return json(text);
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) return std::nullopt;
  return v;
}


}  // namespace coco::workers
