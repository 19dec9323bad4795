#pragma once
// The editor's side of exec workers: coco/exec/spawn|cancel|list|resume and coco/task/join on a
// Session, and the pool's callbacks turned into coco/exec/event and coco/exec/completed
// notifications. Documented in docs/protocol.md.

#include "bridge/session.h"
#include "workers/worker_pool.h"

#include <memory>

namespace coco::bridge {

// Call after session.start() (the pool records into the session's task directory). The pool must
// live as long as the session dispatches requests; the caller keeps it.
std::unique_ptr<workers::WorkerPool> attach_worker_pool(Session& session);

}  // namespace coco::bridge
