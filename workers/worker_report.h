#pragma once
// The joined result of exec workers: shared/reports/report.json (for programs) and summary.md (for a
// person). Pure functions of the workers' descriptions (WorkerPool::describe), so they are tested
// without processes.

#include <nlohmann/json.hpp>

#include <string>

namespace coco::workers {

// {taskId, taskDir, generatedAt, complete, ok, counts: {status: n}, workers: [...]}.
// `complete` is false when a join timed out with workers still queued or running; `ok` is true when
// every worker completed.
nlohmann::json build_report(const std::string& task_id, const std::string& task_dir, const nlohmann::json& workers,
                            bool complete);

// Markdown: a heading, a table (worker, status, duration, branch, final in one line), then each
// worker's final message and errors.
std::string render_summary(const nlohmann::json& report);

// "850 ms", "12.3 s", "4 min 5 s".
std::string format_duration(long long ms);

}  // namespace coco::workers
