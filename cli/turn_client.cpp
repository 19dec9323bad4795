#include "cli/turn_client.h"

#include "bridge/version.h"

#include <set>

namespace coco::cli {

using json = nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& member(const json& j, const char* key) {
  static const json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}

class Loop {
public:
  Loop(BridgeClient& client, TurnView& view) : client_(client), view_(view) {}

  // Handles messages until the answer to `id` comes (nullopt: none in time, or the bridge closed).
  std::optional<json> call(const std::string& method, json params, std::chrono::milliseconds timeout) {
    std::int64_t id = client_.request(method, std::move(params));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (auto m = next(deadline)) {
      if (!m->contains("method") && member(*m, "id") == json(id)) return m;
      handle(*m);
    }
    return std::nullopt;
  }

  // Handles messages until `turn_id` ends; its status, or "" on timeout or a closed bridge.
  std::string until_turn_ends(const std::string& turn_id, std::chrono::milliseconds timeout) {
    turn_id_ = turn_id;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (status_.empty()) {
      auto m = next(deadline);
      if (!m) break;
      handle(*m);
    }
    return status_;
  }

private:
  std::optional<json> next(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    return client_.next(left);
  }

  void handle(const json& m) {
    std::string method = str(m, "method");
    const json& params = member(m, "params");
    const json& item = member(params, "item");
    if (m.contains("id") && m.contains("method")) {
      if (method == "coco/approval/request") {
        if (auto answer = view_.approve(params)) client_.respond(m["id"], *answer);
      } else {
        client_.respond(m["id"], nullptr);  // nothing else is expected of a one-turn client
      }
    } else if (method == "coco/approval/pending") {
      view_.approval_pending(params);
    } else if (method == "coco/approval/resolved") {
      view_.approval_resolved(params);
    } else if (method == "item/agentMessage/delta") {
      view_.agent_text(str(params, "delta"));
      streamed_.insert(str(params, "itemId"));
    } else if (method == "item/completed" && str(item, "type") == "agentMessage") {
      // A message that arrived whole (no deltas) is shown now.
      if (!streamed_.count(str(item, "id"))) view_.agent_text(str(item, "text"));
      view_.agent_message_done();
    } else if (method == "item/started" && str(item, "type") == "commandExecution") {
      view_.command_started(item);
    } else if (method == "item/completed" && str(item, "type") == "commandExecution") {
      view_.command_completed(item);
    } else if (method == "error") {
      const json& error = member(params, "error");
      view_.problem("codex error: " + (str(error, "message").empty() ? params.dump() : str(error, "message")));
    } else if (method == "coco/upstream/exited") {
      view_.problem("codex exited: " + str(params, "description"));
    } else if (method == "turn/completed") {
      const json& turn = member(params, "turn");
      if (!turn_id_.empty() && str(turn, "id") == turn_id_) {
        status_ = str(turn, "status");
        if (!member(turn, "error").is_null()) view_.problem("the turn failed: " + member(turn, "error").dump());
      }
    }
  }

  BridgeClient& client_;
  TurnView& view_;
  std::set<std::string> streamed_;  // agent messages already shown through deltas
  std::string turn_id_, status_;
};

std::string failure(const std::string& what, const std::optional<json>& r) {
  return what + " failed: " + (r ? r->dump() : std::string("no answer from the bridge"));
}

}  // namespace

TurnResult run_turn(BridgeClient& client, const TurnRequest& request, TurnView& view) {
  TurnResult out;
  Loop loop(client, view);
  auto init = loop.call("initialize",
                        {{"clientInfo", {{"name", request.client_name}, {"version", bridge::kCocoVersion}}},
                         {"capabilities", {{"coco", {{"approvals", "prompt"}}}}}},
                        request.reply_timeout);
  if (!init || !init->contains("result")) return out.error = failure("initialize", init), out;
  out.task_dir = str(member((*init)["result"], "coco"), "taskDir");
  view.started(out.task_dir);
  client.notify("initialized", nullptr);
  auto thread = loop.call("thread/start", {{"cwd", request.cwd}}, request.reply_timeout);
  if (!thread || !thread->contains("result")) return out.error = failure("thread/start", thread), out;
  std::string thread_id = str(member((*thread)["result"], "thread"), "id");
  auto turn = loop.call("turn/start",
                        {{"threadId", thread_id}, {"input", json::array({{{"type", "text"}, {"text", request.prompt}}})}},
                        request.reply_timeout);
  if (!turn || !turn->contains("result")) return out.error = failure("turn/start", turn), out;
  out.status = loop.until_turn_ends(str(member((*turn)["result"], "turn"), "id"), request.turn_timeout);
  return out;
}

}  // namespace coco::cli
