#pragma once
#include "bridge/session.h"

namespace coco::bridge {
// Runs `coco bridge` on this process's stdin/stdout until the editor leaves; returns the exit code.
int run_bridge(const BridgeOptions& options);
}  // namespace coco::bridge
