#pragma once
// Reads task directories with no process running: what `coco task ls|show` and any GUI use.
// Every reader tolerates a torn last line (a crash mid-write) and skips lines that do not parse.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace coco::taskdir {

// Parses a JSONL file. Lines that do not parse are skipped and counted in *bad_lines.
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& file, std::size_t* bad_lines = nullptr);

struct AgentSummary {
  std::string id, kind, status;
};

struct TaskSummary {
  std::string id;
  std::filesystem::path dir;
  std::string title, status, created, updated, cwd, codex_version;
  std::string reason;  // why a `failed` task failed, when the bridge could say
  long bridge_pid = 0;
  std::vector<AgentSummary> agents;
  // What task.yaml says; `status` differs from it only when a dead `running` task is reported as
  // `interrupted`.
  std::string recorded_status;
  // Start time of the bridge process (clock ticks after boot), 0 if unknown: tells a live bridge from
  // an unrelated process that got the same pid.
  unsigned long long bridge_start_ticks = 0;
  // task.yaml's `recording`: false when records are missing (a full disk, a full queue).
  bool recording_complete = true;
  std::uint64_t lost_records = 0, dropped_records = 0;
  std::uint64_t records = 0;  // record lines given to the recorder, all files together (0: unknown)
};

// Loads task.yaml. A task still marked `running` whose bridge process is gone is reported as
// `interrupted` (the file is not changed).
std::optional<TaskSummary> load_task(const std::filesystem::path& task_dir);
// All tasks under root, newest first.
std::vector<TaskSummary> list_tasks(const std::filesystem::path& root);
// ID (a directory name under root), a path to a task directory, or a unique prefix (4+ characters) of
// an ID under root. Only strings shaped like a task ID are looked up under root, so "../x" never
// escapes it by accident.
std::optional<std::filesystem::path> resolve_task(const std::filesystem::path& root,
                                                  const std::string& id_or_path);

// The list as JSON for scripts and editors (`coco task ls --json`), in the same order:
// [{id, dir, title, status, reason?, created, updated, cwd, codexVersion, agents: [{id, kind, status}]}].
nlohmann::json task_list_json(const std::vector<TaskSummary>& tasks);

// Human-readable renderings used by the CLI.
// A table: ID, STATUS, AGE (since created: 45s, 3m, 5h, 2d), AGENTS, TITLE.
std::string render_task_list(const std::vector<TaskSummary>& tasks);
std::string render_task_list(const std::vector<TaskSummary>& tasks,
                             std::chrono::system_clock::time_point now);
// Rebuilt from the directory alone: a header, then prompts, agent messages, commands, file changes,
// approvals, errors and turns of agents/app-server in time order, interleaved with upstream/gate/agent
// events from events.jsonl, then one paragraph per worker (kind `exec`).
std::string render_transcript(const std::filesystem::path& task_dir);

}  // namespace coco::taskdir
