#include "workers/worker_report.h"

#include "workers/exec_events.h"
#include "taskdir/fs_util.h"
#include "text/one_line.h"

#include <chrono>
#include <cstdio>
#include <map>

namespace coco::workers {
using text::one_line;
using json = nlohmann::json;

namespace {

std::string str(const json& j, const char* key, const std::string& def = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : def;
}

// Table cells must stay on one line and must not end the cell early.
std::string cell(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : one_line(text, max)) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

std::string final_text(const json& final) {
  if (final.is_null()) return "";
  if (final.is_string()) return final.get<std::string>();
  return final.dump(2);
}

}  // namespace

std::string format_duration(long long ms) {
  char buf[64];
  if (ms < 1000) std::snprintf(buf, sizeof buf, "%lld ms", ms);
  else if (ms < 60000) std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  else std::snprintf(buf, sizeof buf, "%lld min %lld s", ms / 60000, (ms % 60000) / 1000);
  return buf;
}

json build_report(const std::string& task_id, const std::string& task_dir, const json& workers, bool complete) {
  std::map<std::string, int> counts;
  bool ok = true;
  for (const auto& w : workers) {
    std::string status = str(w, "status", "unknown");
    ++counts[status];
    if (status != "completed") ok = false;
  }
  return {{"taskId", task_id},
          {"taskDir", task_dir},
          {"generatedAt", taskdir::detail::iso_utc_ms(std::chrono::system_clock::now())},
          {"complete", complete},
          {"ok", ok && complete},
          {"counts", counts},
          {"workers", workers}};
}

std::string render_summary(const json& report) {
  const json& workers = report.contains("workers") ? report["workers"] : json::array();
  std::string out = "# Exec workers of task " + str(report, "taskId") + "\n\n";
  std::string counts;
  if (report.contains("counts")) {
    for (const auto& [status, n] : report["counts"].items()) {
      counts += (counts.empty() ? "" : ", ") + std::to_string(n.get<int>()) + " " + status;
    }
  }
  out += std::to_string(workers.size()) + " worker" + (workers.size() == 1 ? "" : "s") +
         (counts.empty() ? "" : ": " + counts) + ".";
  if (!report.value("complete", true)) out += " The join timed out: some workers were still running.";
  out += "\n\n";
  if (workers.empty()) return out;

  out += "| worker | status | duration | branch | final |\n|---|---|---|---|---|\n";
  for (const auto& w : workers) {
    std::string duration = w.contains("durationMs") && w["durationMs"].is_number()
                               ? format_duration(w["durationMs"].get<long long>())
                               : "-";
    std::string branch = str(w, "branch");
    const json& f = w.contains("final") ? w["final"] : json();
    std::string final = f.is_null() ? "" : f.is_string() ? f.get<std::string>() : f.dump();
    std::string status = str(w, "status");
    if (status != "completed" && !str(w, "reason").empty()) final = str(w, "reason");
    out += "| " + cell(str(w, "agentId"), 40) + " | " + status + " | " + duration + " | " +
           (branch.empty() ? "-" : "`" + cell(branch, 60) + "`") + " | " + (final.empty() ? "-" : cell(final, 80)) +
           " |\n";
  }

  for (const auto& w : workers) {
    out += "\n## " + str(w, "agentId") + " (" + str(w, "status") + ")\n\n";
    out += "Prompt: " + one_line(str(w, "prompt"), 300) + "\n";
    if (!str(w, "reason").empty()) out += "\nReason: " + str(w, "reason") + "\n";
    if (!str(w, "branch").empty()) out += "\nBranch: `" + str(w, "branch") + "` (worktree " + str(w, "worktree") + ")\n";
    std::string final = final_text(w.value("final", json()));
    if (!final.empty()) {
      // A fence longer than any backtick run inside keeps the block closed where we mean it.
      std::string fence = "```";
      while (final.find(fence) != std::string::npos) fence += '`';
      out += "\nFinal message:\n\n" + fence + (w.value("final", json()).is_string() ? "" : "json") + "\n" + final +
             "\n" + fence + "\n";
    }
    if (w.contains("errors") && w["errors"].is_array() && !w["errors"].empty()) {
      out += "\nErrors and warnings:\n\n";
      for (const auto& e : w["errors"]) out += "- " + one_line(e.is_string() ? e.get<std::string>() : e.dump(), 300) + "\n";
    }
  }
  return out;
}

}  // namespace coco::workers
