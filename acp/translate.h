#pragma once
// Codex's protocol in the words of the Agent Client Protocol (ACP v1): the pure part of `coco acp`.
//
// Every function here turns one codex value (an item, a notification's params, a turn) or one ACP
// value (a prompt, a permission answer) into the other. No I/O and no state: the face
// (bridge/acp_face.cpp) keeps the state (which session, which turn, which output so far) and reads
// files when a diff needs the text on disk. docs/acp.md has the tables these functions implement.

#include "gates/prompt.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coco::acp {

using json = nlohmann::json;

// The ACP protocol version Coco speaks.
inline constexpr int kProtocolVersion = 1;

// ACP error codes beyond JSON-RPC's own (schema: ErrorCode).
namespace error_code {
inline constexpr int kAuthRequired = -32000;
inline constexpr int kResourceNotFound = -32002;
inline constexpr int kRequestCancelled = -32800;
}  // namespace error_code

// --- tool calls -------------------------------------------------------------------------------

// ToolKind of a command from codex's reading of it (`commandActions`): all reads -> "read", all
// searches or listings -> "search", anything else (or nothing known) -> "execute".
std::string_view command_kind(const json& command_actions);
// The command as the model wrote it: codex's shell wrapper ("/bin/bash -lc '...'") taken off when
// codex's own reading of the command gives it; otherwise the command as it runs.
std::string command_title(const json& item);
// ToolCallStatus of a codex item status: inProgress -> in_progress, completed -> completed,
// failed/declined -> failed.
std::string_view tool_status(std::string_view codex_status);

// A codex item that is a tool call (commandExecution, fileChange, mcpToolCall, dynamicToolCall,
// webSearch, imageView, collabAgentToolCall): the `tool_call` update announcing it. `content` is what
// the face computed for it (the diffs of a file change); null when the item is not a tool call.
json tool_call(const json& item, const json& content = json::array());
// The `tool_call_update` for a tool item that completed: final status, and for commands the output
// (its last `max_output_bytes`) and exit code.
json tool_call_completed(const json& item, const json& content, std::size_t max_output_bytes);

// One file change as described by gates::describe_change ({path, kind, movePath?, oldText, newText,
// diff, textsOmitted?}) as ToolCallContent: a `diff` (path, oldText, newText), or, when the texts
// could not be given, the unified diff as text.
json diff_content(const json& described_change);
// A text block as ToolCallContent.
json text_content(std::string text);
// A command's output as ToolCallContent: its last `max_bytes` (see output_tail) in a code block.
json output_content(std::string_view output, std::size_t max_bytes, std::size_t total_bytes);
// The last `max_bytes` of `text`, cut on a UTF-8 boundary, with a first line saying how much was left
// out (when anything was).
std::string output_tail(std::string_view text, std::size_t max_bytes, std::size_t total_bytes);

// --- other session updates --------------------------------------------------------------------

// turn/plan/updated -> `plan` (entries with priority "medium"; status pending|in_progress|completed).
json plan_update(const json& params);
// thread/tokenUsage/updated -> `usage_update` {used, size}; nullopt when codex does not know the
// context window (ACP requires `size`).
std::optional<json> usage_update(const json& params);
// The text of a completed agentMessage / reasoning item (reasoning: its summary parts, else its raw
// content), for items whose text did not stream as deltas.
std::string item_text(const json& item);

// --- turns ---------------------------------------------------------------------------------------

// How a prompt ends, from codex's turn (turn/completed's `turn`): a StopReason, or a JSON-RPC error
// for a turn that failed for a reason ACP has no stop reason for. `cancel_requested`: the client sent
// session/cancel, and then the answer is `cancelled` whatever happened (ACP requires it).
struct PromptEnd {
  std::string stop_reason;  // end_turn | cancelled | max_tokens | refusal; empty when `error` is set
  json error;               // {code, message, data} or null
};
PromptEnd prompt_end(const json& turn, bool cancel_requested);

// An ACP prompt (ContentBlock[]) as codex's turn input (UserInput[]). Text stays text; an image
// becomes a data URL; a resource link or an embedded resource becomes text naming it (with its
// content). `problem` is set (and `input` meaningless) for a block Coco does not accept.
struct CodexInput {
  json input = json::array();
  std::string first_text;  // the first non-empty text, for a title
  std::string problem;
};
CodexInput codex_input(const json& prompt);

// --- permission requests ---------------------------------------------------------------------------

// ToolCallId of the tool call a gate asks about: codex's item id, or one made from the gate id for
// requests that come with no item (permissions, elicitations, questions).
std::string gate_tool_call_id(const gates::Prompt& prompt, std::string_view gate_id);
// The `tool_call` update announcing a gate that has no item of its own to show (see above).
json gate_tool_call(const gates::Prompt& prompt, std::string_view gate_id);
// session/request_permission params for a gate. Every gate option becomes a PermissionOption:
// allowOnce -> allow_once, allowSession and allowAlways -> allow_always, deny -> reject_once (or
// reject_always for a standing network denial), cancel -> reject_once named "... and stop the turn";
// each carries the exact codex answer in _meta.coco.decision. A question with one list of choices
// offers each choice as an option. A file change carries its diffs (from the prompt's `changes`).
// `tool_call_announced`: the client knows the tool call already (else the request names it).
json permission_request(const gates::Prompt& prompt, std::string_view gate_id, std::string_view session_id,
                        bool tool_call_announced);

// The client's RequestPermissionResponse, read against the gate's prompt.
struct PermissionAnswer {
  enum class Kind { Selected, Cancelled, Invalid } kind = Kind::Invalid;
  json value;           // Selected: {optionId, feedback?, answers?} for GateKeeper::answer
  std::string problem;  // Invalid: what is wrong
};
PermissionAnswer read_permission_answer(const gates::Prompt& prompt, const json& result);

// --- session/load ---------------------------------------------------------------------------------

// The session/update notifications that replay session `session_id`, from the message logs of the
// task directories that recorded it (`recordings`, oldest task first; each the parsed lines of an
// agents/app-server/runtime/events.jsonl: {dir, msg}). In a log, the client's prompts become
// `user_message_chunk`s and the updates Coco sent are repeated exactly; a log that holds a replay of
// this session (lines marked _meta.coco.replay) already holds everything before it, so its last
// replay replaces what older logs gave. Each returned notification is marked with `replay_mark`.
std::vector<json> replay_updates(const std::vector<std::vector<json>>& recordings, std::string_view session_id,
                                 std::int64_t replay_mark);

}  // namespace coco::acp
