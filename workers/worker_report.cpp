#include "workers/worker_report.h"

#include "protocol/json_fields.h"
#include "workers/exec_events.h"
#include "taskdir/fs_util.h"
#include "text/one_line.h"

#include <chrono>
#include <cstdio>
#include <map>

namespace coco::workers {
using text::one_line;
using json = nlohmann::json;

using protocol::string_member;

namespace {

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
    std::string status = string_member(w, "status", "unknown");
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
  std::string out = "# Exec workers of task " + string_member(report, "taskId") + "\n\n";
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
    std::string branch = string_member(w, "branch");
    const json& f = w.contains("final") ? w["final"] : json();
    std::string final = f.is_null() ? "" : f.is_string() ? f.get<std::string>() : f.dump();
    std::string status = string_member(w, "status");
    if (status != "completed" && !string_member(w, "reason").empty()) final = string_member(w, "reason");
    out += "| " + cell(string_member(w, "agentId"), 40) + " | " + status + " | " + duration + " | " +
           (branch.empty() ? "-" : "`" + cell(branch, 60) + "`") + " | " + (final.empty() ? "-" : cell(final, 80)) +
           " |\n";
  }

  for (const auto& w : workers) {
    out += "\n## " + string_member(w, "agentId") + " (" + string_member(w, "status") + ")\n\n";
    out += "Prompt: " + one_line(string_member(w, "prompt"), 300) + "\n";
    if (!string_member(w, "reason").empty()) out += "\nReason: " + string_member(w, "reason") + "\n";
    if (!string_member(w, "branch").empty()) out += "\nBranch: `" + string_member(w, "branch") + "` (worktree " + string_member(w, "worktree") + ")\n";
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
