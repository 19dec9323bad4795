#pragma once
// What a `codex exec --json` run printed, folded into what the pool needs to decide how it ended.
// No I/O here: the process side is exec_worker.h.
//
// The rule that matters: an `error` event or an `error` item is NOT final; only `turn.failed`,
// `turn.completed` and the exit status are. And a turn that "completed" proves nothing if codex could
// not start its sandbox: every sandboxed command then failed without running (sandbox_failure()).

#include "process/child_process.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coco::workers {

// Splits a byte stream into lines. Unlike the protocol's FrameDecoder it hands back an
// unterminated last line at EOF (a crash mid-line is worth recording) and keeps blank lines out.
class LineSplitter {
public:
  explicit LineSplitter(std::size_t max_line_bytes = std::size_t{64} << 20) : max_(max_line_bytes) {}
  void feed(std::string_view bytes);
  // The next complete line without its "\n" (and "\r"); nullopt when more bytes are needed.
  std::optional<std::string> next();
  // At EOF: what is left without a newline, if anything.
  std::optional<std::string> finish();
  // Lines longer than the limit were dropped; each counts once.
  std::size_t overlong() const { return overlong_; }

private:
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool skipping_ = false;
  std::size_t overlong_ = 0;
};

class ExecProgress {
public:
  void observe(const nlohmann::json& event);
  void observe_malformed() { ++malformed_; }

  const std::string& thread_id() const { return thread_id_; }
  bool turn_completed() const { return turn_completed_; }
  bool turn_failed() const { return turn_failed_; }
  const std::string& failure() const { return failure_; }
  const nlohmann::json& usage() const { return usage_; }  // null until turn.completed
  const std::vector<std::string>& errors() const { return errors_; }  // non-final error events and items
  const std::string& last_agent_message() const { return last_agent_message_; }
  // Non-empty when a command failed because codex's sandbox could not start (the line that says so).
  const std::string& sandbox_failure() const { return sandbox_failure_; }
  std::size_t malformed() const { return malformed_; }
  std::size_t events() const { return events_; }
  // One short line about the latest event, for progress displays.
  const std::string& latest() const { return latest_; }

private:
  std::string thread_id_;
  bool turn_completed_ = false, turn_failed_ = false;
  std::string failure_;
  nlohmann::json usage_;
  std::vector<std::string> errors_;
  std::string last_agent_message_;
  std::string sandbox_failure_;
  std::size_t malformed_ = 0, events_ = 0;
  std::string latest_;
};

// How one run ended, as seen from outside the event stream.
struct RunEnd {
  std::string start_error;            // the process could not be started (or prepared)
  std::optional<process::ExitStatus> exit;     // how the process exited
  bool cancelled = false;             // coco/exec/cancel (or the bridge shutting down)
  std::string cancel_reason;
  bool timed_out = false;
  std::chrono::milliseconds timeout{0};
  std::string stderr_tail;            // for a reason when codex exits with an error and no event says why
  bool sandboxed = true;              // the run used a sandbox (not danger-full-access)
  std::string sandbox_warning;        // codex said on stderr that it could not set up its sandbox helper
};

struct Verdict {
  std::string status;  // completed | failed | cancelled | timedOut
  std::string reason;  // empty when completed
};

Verdict derive_verdict(const ExecProgress& progress, const RunEnd& end);

// The most useful line of codex's stderr for a failure reason: the last "Error: ..." line, else the
// last non-empty line that is not codex's chatter about stdin.
std::string stderr_reason(std::string_view stderr_tail);

// A final message as the report carries it: the parsed JSON value when a schema was given, the text
// otherwise. With a schema, text that is not JSON gives std::nullopt.
std::optional<nlohmann::json> parse_final(const std::string& text, bool has_schema);


}  // namespace coco::workers
