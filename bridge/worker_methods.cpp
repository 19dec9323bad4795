#include "bridge/worker_methods.h"

#include "protocol/message.h"

#include <spdlog/spdlog.h>

namespace coco::bridge {
using json = nlohmann::json;
namespace ec = protocol::error_code;

namespace {

std::string required_string(const json& params, const char* key) {
  if (!params.is_object() || !params.contains(key) || !params[key].is_string() || params[key].get<std::string>().empty()) {
    throw std::invalid_argument(std::string(key) + " is required and must be a non-empty string");
  }
  return params[key].get<std::string>();
}

// Every handler answers exactly once: bad input is kInvalidParams, anything else kInternalError.
template <typename Fn>
Session::MethodHandler guarded(Session& session, Fn fn) {
  return [&session, fn = std::move(fn)](const json& id, const json& params) {
    try {
      fn(id, params.is_null() ? json::object() : params);
    } catch (const std::invalid_argument& e) {
      session.reply_error(id, ec::kInvalidParams, e.what());
    } catch (const std::exception& e) {
      spdlog::error("exec worker request failed: {}", e.what());
      session.reply_error(id, ec::kInternalError, e.what());
    }
  };
}

}  // namespace

std::unique_ptr<workers::WorkerPool> attach_worker_pool(Session& session) {
  const BridgeOptions& o = session.options();
  workers::PoolOptions po;
  po.codex = o.codex;
  po.env = o.codex_env;
  po.max_parallel = o.config.workers.max_parallel;
  po.reserved_names = {"app-server"};
  auto pool = std::make_unique<workers::WorkerPool>(session.io(), session.task(), std::move(po));
  workers::WorkerPool* p = pool.get();

  p->on_event = [&session](const std::string& agent_id, const json& event) {
    session.notify_editor("coco/exec/event", {{"agentId", agent_id}, {"event", event}});
  };
  p->on_completed = [&session](const json& completed) { session.notify_editor("coco/exec/completed", completed); };

  session.register_method("coco/exec/spawn", guarded(session, [&session, p](const json& id, const json& params) {
    workers::SpawnRequest r = workers::parse_spawn_params(params, session.options().cwd);
    auto spawned = p->spawn(std::move(r.name), std::move(r.spec));
    session.reply(id, {{"agentId", spawned.agent_id}, {"dir", spawned.dir.string()}});
  }));
  session.register_method("coco/exec/cancel", guarded(session, [&session, p](const json& id, const json& params) {
    session.reply(id, p->cancel(required_string(params, "agentId")));
  }));
  session.register_method("coco/exec/list", guarded(session, [&session, p](const json& id, const json&) {
    session.reply(id, p->list());
  }));
  session.register_method("coco/exec/resume", guarded(session, [&session, p](const json& id, const json& params) {
    auto spawned = p->resume(required_string(params, "agentId"), required_string(params, "prompt"));
    session.reply(id, {{"agentId", spawned.agent_id}, {"dir", spawned.dir.string()}});
  }));
  session.register_method("coco/task/join", guarded(session, [&session, p](const json& id, const json& params) {
    std::vector<std::string> ids;
    if (params.contains("agentIds") && !params["agentIds"].is_null()) {
      if (!params["agentIds"].is_array()) throw std::invalid_argument("agentIds must be an array of worker names");
      for (const auto& a : params["agentIds"]) {
        if (!a.is_string()) throw std::invalid_argument("agentIds must be an array of worker names");
        ids.push_back(a.get<std::string>());
      }
    }
    std::chrono::milliseconds timeout{0};
    if (params.contains("timeoutS") && !params["timeoutS"].is_null()) {
      timeout = workers::parse_timeout_seconds(params["timeoutS"], "timeoutS");
    }
    // The answer may come much later: the request stays open until the workers end.
    p->join(std::move(ids), timeout, [&session, id](const json& report) { session.reply(id, report); });
  }));
  return pool;
}

}  // namespace coco::bridge
