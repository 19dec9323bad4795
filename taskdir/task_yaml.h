#pragma once
// task.yaml: one place that knows its keys, for the writer (render) and the reader (parse).
// Internal to taskdir/.

#include "taskdir/task_reader.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace coco::taskdir::detail {

// `meta` holds the task.yaml fields as JSON (what TaskWriter keeps in memory); keys come out in a
// fixed, readable order.
std::string render_task_yaml(const nlohmann::json& meta);

// Parses task.yaml text. Missing fields stay empty; std::nullopt if it is not a YAML map with an id.
std::optional<TaskSummary> parse_task_yaml(const std::string& text);

// The start time of a process in clock ticks after boot (field 22 of /proc/<pid>/stat), 0 if unknown.
// Together with the pid it names one process, even after the pid is reused.
unsigned long long process_start_ticks(long pid);

}  // namespace coco::taskdir::detail
