#include "bridge/worker_methods.h"

#include "protocol/message.h"

#include <spdlog/spdlog.h>

namespace coco::bridge {
using json = nlohmann::json;

std::unique_ptr<workers::WorkerPool> attach_worker_pool(Session& session) {
  const BridgeOptions& o = session.options();
  workers::PoolOptions po;
  po.codex = o.codex;
  po.env = o.codex_env;
  po.max_parallel = o.config.workers.max_parallel;
  // A continued task keeps its earlier workers' names (and directories).
  po.reserved_names = session.task().agent_ids();
  po.reserved_names.push_back("app-server");
  po.codex_homes_root = coco_home() / "codex-homes";
  auto pool = std::make_unique<workers::WorkerPool>(session.io(), session.task(), std::move(po));
  workers::WorkerPool* p = pool.get();

  p->on_event = [&session](const std::string& agent_id, const json& event) {
    session.face().notify("coco/exec/event", {{"agentId", agent_id}, {"event", event}});
  };
  p->on_completed = [&session](const json& completed) { session.face().notify("coco/exec/completed", completed); };

  // Bad params throw std::invalid_argument (the pool and the spec parser do): the method table
  // answers -32602 with their message.
  MethodTable& methods = session.methods();
  methods.add("coco/exec/spawn", [&session, p](const json& params, Reply reply) {
    workers::SpawnRequest r = workers::parse_spawn_params(params, session.options().cwd);
    auto spawned = p->spawn(std::move(r.name), std::move(r.spec));
    reply({{"agentId", spawned.agent_id}, {"dir", spawned.dir.string()}});
  });
  methods.add("coco/exec/cancel", [p](const json& params, Reply reply) { reply(p->cancel(required_string(params, "agentId"))); });
  methods.add("coco/exec/list", [p](const json&, Reply reply) { reply(p->list()); });
  methods.add("coco/exec/resume", [p](const json& params, Reply reply) {
    auto spawned = p->resume(required_string(params, "agentId"), required_string(params, "prompt"));
    reply({{"agentId", spawned.agent_id}, {"dir", spawned.dir.string()}});
  });
  methods.add("coco/task/join", [p](const json& params, Reply reply) {
    std::vector<std::string> ids;
    if (params.contains("agentIds") && !params["agentIds"].is_null()) {
      if (!params["agentIds"].is_array()) throw InvalidParams("agentIds must be an array of worker names");
      for (const auto& a : params["agentIds"]) {
        if (!a.is_string()) throw InvalidParams("agentIds must be an array of worker names");
        ids.push_back(a.get<std::string>());
      }
    }
    std::chrono::milliseconds timeout{0};
    if (params.contains("timeoutS") && !params["timeoutS"].is_null())
      timeout = workers::parse_timeout_seconds(params["timeoutS"], "timeoutS");
    // The answer may come much later: the Reply waits in the join until the workers end.
    auto shared = std::make_shared<Reply>(std::move(reply));
    p->join(std::move(ids), timeout, [shared](const json& report) { (*shared)(report); });
  });
  return pool;
}

}  // namespace coco::bridge
