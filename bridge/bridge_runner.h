#pragma once
#include "bridge/session.h"

namespace coco::bridge {

// The protocol the editor speaks: which face stands in front of the core.
enum class EditorProtocol {
  Codex,  // `coco bridge`: codex app-server's own protocol, plus coco/* (CodexFace)
  Acp,    // `coco acp`: the Agent Client Protocol (AcpFace)
};

// Runs the bridge on this process's stdin/stdout until the editor leaves; returns the exit code.
int run_bridge(const BridgeOptions& options, EditorProtocol protocol = EditorProtocol::Codex);

}  // namespace coco::bridge
