#pragma once
#include <filesystem>
#include <string>

namespace coco::cli {
// `coco gate ls [TASK]`: open gates of TASK, or of every running task.
int gate_ls(const std::filesystem::path& task_root, const std::string& task);
// `coco gate answer TASK GATE OPTION [--feedback TEXT]`: writes gates/GATE.decision.json.
int gate_answer(const std::filesystem::path& task_root, const std::string& task, const std::string& gate_id,
                const std::string& option_id, const std::string& feedback);
}  // namespace coco::cli
