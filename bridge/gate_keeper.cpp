#include "bridge/gate_keeper.h"

#include "bridge/session.h"
#include "protocol/json_fields.h"
#include "protocol/json_text.h"
#include "protocol/message.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace coco::bridge {

using json = nlohmann::json;
namespace fs = std::filesystem;
namespace ec = protocol::error_code;
using protocol::string_member;

namespace {

constexpr auto kDirectoryPollInterval = std::chrono::milliseconds(250);
constexpr std::size_t kMaxDecisionFileBytes = 64 * 1024;
constexpr std::size_t kMaxRememberedGates = 1000;
constexpr std::string_view kDecisionSuffix = ".decision.json";

std::int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

// "g12" -> 12; anything else 0.
std::uint64_t gate_number(std::string_view name) {
  if (name.size() < 2 || name[0] != 'g') return 0;
  std::uint64_t n = 0;
  for (char c : name.substr(1)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

// What is on disk at `path`, read only up to `max_bytes` (a file-change prompt shows it).
gates::DiskText read_disk_text(const std::string& path, std::size_t max_bytes) {
  gates::DiskText out;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    out.state = errno == ENOENT ? gates::DiskText::State::Missing : gates::DiskText::State::Unreadable;
    return out;
  }
  if (!S_ISREG(st.st_mode)) {
    out.state = gates::DiskText::State::Unreadable;
    return out;
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    out.state = gates::DiskText::State::TooLarge;
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.state = gates::DiskText::State::Unreadable;
    return out;
  }
  std::ostringstream s;
  s << in.rdbuf();
  out.text = s.str();
  out.state = out.text.size() > max_bytes ? gates::DiskText::State::TooLarge : gates::DiskText::State::Read;
  return out;
}

}  // namespace

GateKeeper::GateKeeper(Session& session, gates::PolicyConfig policy, std::optional<gates::Mode> mode_override)
    : session_(session), policy_(std::move(policy)), mode_(mode_override.value_or(policy_.mode)),
      poll_timer_(session.io()) {
  // A continued task keeps its gate files: new gates are numbered after them.
  std::error_code err;
  for (const auto& entry : fs::directory_iterator(gates_dir(), err)) {
    std::string name = entry.path().stem().string();
    next_gate_ = std::max(next_gate_, gate_number(name) + 1);
  }
  register_methods();
}

GateKeeper::~GateKeeper() = default;

fs::path GateKeeper::gates_dir() const { return session_.task().dir() / "gates"; }

std::size_t GateKeeper::open_count() const {
  std::size_t n = 0;
  for (const auto& [_, g] : gates_) n += g.resolved ? 0 : 1;
  return n;
}

const Gate* GateKeeper::find(const std::string& gate_id) const {
  auto it = gates_.find(gate_id);
  return it == gates_.end() ? nullptr : &it->second;
}

Gate* GateKeeper::find_open(const std::string& gate_id) {
  auto it = gates_.find(gate_id);
  return it == gates_.end() || it->second.resolved ? nullptr : &it->second;
}

Gate* GateKeeper::find_by_codex_id(const json& codex_id) {
  for (auto& [_, g] : gates_)
    if (!g.resolved && g.codex_id == codex_id && g.generation == session_.generation()) return &g;
  return nullptr;
}

gates::FileTexts GateKeeper::file_texts() const {
  gates::FileTexts files;
  std::size_t cap = policy_.max_text_bytes;
  files.read = [cap](const std::string& path) { return read_disk_text(path, cap); };
  files.cwd = session_.options().cwd;
  files.max_text_bytes = cap;
  return files;
}

// ---------------------------------------------------------------------------------------------
// Opening a gate

void GateKeeper::open(const json& codex_id, const std::string& method, const json& params, std::uint64_t generation) {
  std::string id = "g" + std::to_string(next_gate_++);
  json known_changes;
  if (auto it = file_changes_.find(string_member(params, "itemId")); it != file_changes_.end()) known_changes = it->second;

  gates::Prompt prompt;
  try {
    prompt = gates::make_prompt(method, params, known_changes, file_texts());
  } catch (const std::exception& e) {
    // make_prompt reads every field with a type check; should a shape still slip through, codex gets
    // an error at once rather than waiting on a gate nobody can see.
    spdlog::error("cannot read codex's {} request: {}", method, e.what());
    session_.task().event("gate.unreadable", {{"method", method}, {"error", e.what()}});
    session_.answer_codex(codex_id, generation,
                          {{"error", {{"code", ec::kInternalError}, {"message", std::string("the bridge could not read this request: ") + e.what()}}}});
    return;
  }
  Gate& g = gates_[id];
  g.id = id;
  g.codex_id = codex_id;
  g.raw_params = params;
  g.generation = generation;
  g.prompt = std::move(prompt);
  g.opened = std::chrono::steady_clock::now();

  json options = json::array();
  for (const auto& o : g.prompt.options) options.push_back(o.id);
  session_.task().event("gate.blocked", {{"gateId", id},
                                         {"kind", gates::to_string(g.prompt.kind)},
                                         {"method", method},
                                         {"threadId", g.prompt.thread_id},
                                         {"turnId", g.prompt.turn_id},
                                         {"itemId", g.prompt.item_id},
                                         {"summary", g.prompt.title},
                                         {"options", options}});
  write_gate_file(g);
  spdlog::info("gate {} opened: {}", id, g.prompt.title);

  // Policy first: a matching rule answers at once.
  auto verdict = gates::evaluate(policy_, g.prompt);
  if (verdict.action != gates::Action::Ask) {
    const gates::Option* o = g.prompt.first_of(verdict.action == gates::Action::Allow ? gates::OptionKind::AllowOnce
                                                                                       : gates::OptionKind::Deny);
    if (o) {
      resolve(g, *o, "policy", {}, nullptr, verdict.rule);
      return;
    }
  }
  // Headless modes answer everything the rules did not.
  if (mode_ == gates::Mode::Allow || mode_ == gates::Mode::Deny) {
    const gates::Option* o =
        g.prompt.first_of(mode_ == gates::Mode::Allow ? gates::OptionKind::AllowOnce : gates::OptionKind::Deny);
    if (o) {
      resolve(g, *o, "policy", {}, nullptr, nullptr, mode_ == gates::Mode::Allow ? "--approvals allow" : "--approvals deny");
      return;
    }
  }

  if (policy_.timeout_s) {
    g.timeout = std::make_unique<asio::steady_timer>(session_.io());
    g.timeout->expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(*policy_.timeout_s * 1000)));
    g.timeout->async_wait([this, id](const asio::error_code& e) {
      if (e) return;
      if (Gate* gate = find_open(id)) resolve_with(*gate, policy_.on_timeout, "timeout", "no answer within the approval timeout");
    });
  }
  if (mode_ == gates::Mode::Dir) session_.face().show_pending(g);
  else session_.face().ask(g);
  schedule_directory_poll();
}

// ---------------------------------------------------------------------------------------------
// What the face reports

GateKeeper::Result GateKeeper::answer(const std::string& gate_id, const json& value) {
  auto it = gates_.find(gate_id);
  if (it == gates_.end()) return {ec::kInvalidParams, "no gate '" + gate_id + "'", nullptr};
  Gate& g = it->second;
  if (g.resolved)
    return {ec::kRequestCancelled, "gate " + gate_id + " was already resolved by " + string_member(g.outcome, "by"), g.outcome};
  auto parsed = gates::parse_answer(g.prompt, value);
  if (auto* problem = std::get_if<std::string>(&parsed)) return {ec::kInvalidParams, *problem, nullptr};
  const auto& a = std::get<gates::Answer>(parsed);
  resolve(g, *a.option, "editor", a.feedback, a.answers);
  return {};
}

void GateKeeper::reject_answer(const std::string& gate_id, const std::string& reason) {
  Gate* g = find_open(gate_id);
  if (!g) return;
  ++g->rejected_answers;
  bool again = g->rejected_answers < kMaxRejectedAnswers;
  spdlog::warn("gate {}: the editor's answer was rejected ({}){}", gate_id, reason, again ? "; asking again" : "");
  session_.task().event("gate.answerRejected",
                        {{"gateId", gate_id}, {"reason", reason}, {"attempt", g->rejected_answers}, {"askingAgain", again}});
  session_.face().answer_rejected(*g, reason, again);
  if (again) {
    session_.face().ask(*g);
  } else {
    resolve_with(*g, gates::OptionKind::Deny, "editor",
                 "denied: the editor's answers were rejected " + std::to_string(g->rejected_answers) + " times");
  }
}

void GateKeeper::dismiss(const std::string& gate_id) {
  Gate* g = find_open(gate_id);
  if (!g) return;
  session_.task().event("gate.dismissed", {{"gateId", gate_id}});
  if (!policy_.on_dismiss) return reject_answer(gate_id, "the prompt was dismissed without a choice");
  resolve_with(*g, *policy_.on_dismiss, "editor", "the prompt was dismissed");
}

void GateKeeper::answer_raw(const std::string& gate_id, const json& response) {
  Gate* g = find_open(gate_id);
  if (!g) return late_answer(gate_id, response);
  // Transparent mode: whatever the editor answered goes to codex as it is.
  const json* error = response.is_object() && response.contains("error") ? &response["error"] : nullptr;
  json result = response.is_object() && response.contains("result") ? response["result"] : json();
  json body = error ? json{{"error", *error}} : json{{"result", result}};
  session_.answer_codex(g->codex_id, g->generation, body);
  json outcome = {{"gateId", g->id}, {"by", "editor"}, {"decision", error ? body : result}};
  for (const auto& o : g->prompt.options)
    if (!error && o.answer == result) outcome["optionId"] = o.id;
  finish(*g, std::move(outcome));
}

void GateKeeper::late_answer(const std::string& gate_id, const json& response) {
  const Gate* g = find(gate_id);
  spdlog::info("late answer to gate {} ignored (already resolved by {})", gate_id, g ? string_member(g->outcome, "by") : "?");
  session_.task().event("gate.lateAnswer", {{"gateId", gate_id}, {"response", response}});
}

// ---------------------------------------------------------------------------------------------
// Outcomes

bool GateKeeper::resolve(Gate& g, const gates::Option& option, std::string_view by, const std::string& feedback,
                         const json& answers, const gates::Rule* rule, std::string_view note) {
  if (g.resolved) return false;
  json answer = gates::codex_answer(g.prompt, option, answers, feedback);
  session_.answer_codex(g.codex_id, g.generation, {{"result", answer}});

  json outcome = {{"gateId", g.id}, {"optionId", option.id}, {"optionKind", gates::to_string(option.kind)},
                  {"decision", answer}, {"by", by}};
  if (rule) outcome["rule"] = rule->name;
  if (!note.empty()) outcome["note"] = note;
  if (!feedback.empty()) outcome["feedback"] = feedback;
  finish(g, outcome);

  // "Deny with feedback": decline, then tell the running turn why, so the agent goes on knowing.
  if (!feedback.empty() && option.kind == gates::OptionKind::Deny && !g.prompt.thread_id.empty() && !g.prompt.turn_id.empty()) {
    std::string gate_id = g.id;
    session_.request_codex("turn/steer",
                           {{"threadId", g.prompt.thread_id},
                            {"expectedTurnId", g.prompt.turn_id},
                            {"input", json::array({{{"type", "text"}, {"text", feedback}}})}},
                           [this, gate_id](CodexResponse& r) {
                             if (!r.is_error()) return;
                             spdlog::warn("turn/steer with the feedback of gate {} failed: {}", gate_id, r.body()["error"].dump());
                             session_.task().event("gate.feedbackFailed", {{"gateId", gate_id}, {"error", r.body()["error"]}});
                           });
  }
  return true;
}

void GateKeeper::resolve_with(Gate& g, gates::OptionKind kind, std::string_view by, std::string_view note) {
  const gates::Option* o = g.prompt.first_of(kind);
  if (!o) o = g.prompt.first_of(gates::OptionKind::Deny);
  if (o) resolve(g, *o, by, {}, nullptr, nullptr, note);
  else close_unanswered(g, by, note);
}

void GateKeeper::close_unanswered(Gate& g, std::string_view by, std::string_view reason) {
  if (g.resolved) return;
  finish(g, {{"gateId", g.id}, {"by", by}, {"decision", nullptr}, {"note", reason}});
}

void GateKeeper::finish(Gate& g, json outcome) {
  g.resolved = true;
  if (g.timeout) g.timeout->cancel();
  outcome["waitMs"] = ms_since(g.opened);
  g.outcome = outcome;
  session_.task().event("gate.resolved", outcome);
  write_gate_file(g);
  spdlog::info("gate {} resolved by {}{}", g.id, string_member(outcome, "by"),
               outcome.contains("optionId") ? ": " + string_member(outcome, "optionId") : "");
  session_.face().gate_resolved(g);
  // Resolved gates are kept a while so late answers can be told apart from unknown ones.
  while (gates_.size() > kMaxRememberedGates) {
    auto it = std::find_if(gates_.begin(), gates_.end(), [](const auto& kv) { return kv.second.resolved; });
    if (it == gates_.end()) break;
    gates_.erase(it);
  }
}

// ---------------------------------------------------------------------------------------------
// Codex's side

void GateKeeper::on_codex_notification(const std::string& method, const json& params) {
  if (method == "item/started") {
    const json* item = params.contains("item") ? &params["item"] : nullptr;
    if (item && string_member(*item, "type") == "fileChange" && item->contains("changes"))
      file_changes_[string_member(*item, "id")] = (*item)["changes"];
  } else if (method == "item/fileChange/patchUpdated") {
    if (params.contains("changes")) file_changes_[string_member(params, "itemId")] = params["changes"];
  } else if (method == "turn/completed") {
    const json* turn = params.contains("turn") ? &params["turn"] : nullptr;
    std::string turn_id = turn ? string_member(*turn, "id") : std::string();
    std::string status = turn ? string_member(*turn, "status") : std::string();
    for (auto& [_, g] : gates_)
      if (!g.resolved && g.prompt.turn_id == turn_id && !turn_id.empty())
        close_unanswered(g, "upstream", "the turn ended (" + status + ")");
    file_changes_.clear();  // diffs are only needed while their turn can still ask
  }
}

void GateKeeper::on_codex_request_resolved(const json& codex_id) {
  if (Gate* g = find_by_codex_id(codex_id)) close_unanswered(*g, "upstream", "codex resolved the request");
}

void GateKeeper::on_upstream_exit() {
  for (auto& [_, g] : gates_)
    if (!g.resolved) close_unanswered(g, "upstream", "codex exited");
  file_changes_.clear();
}

void GateKeeper::on_editor_gone() {
  for (auto& [_, g] : gates_)
    if (!g.resolved) resolve_with(g, policy_.on_disconnect, "disconnect", "the editor disconnected with the gate open");
}

// ---------------------------------------------------------------------------------------------
// The task-directory hand-off

void GateKeeper::write_gate_file(const Gate& g) {
  json j = g.prompt.to_json(g.id);
  j["status"] = g.resolved ? "resolved" : "open";
  if (g.resolved) j["outcome"] = g.outcome;
  std::string body = j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  // Written on the loop: a few KB, twice per gate, and gates wait on humans anyway. Temp file and
  // rename, so a reader never sees half a gate; no fsync here (the task's fsyncs cover the rest).
  fs::path dir = gates_dir();
  if (!fs::exists(dir) && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    spdlog::error("cannot create {}: {}", dir.string(), std::strerror(errno));
    return;
  }
  fs::path tmp = dir / ("." + g.id + ".json.tmp"), final_path = dir / (g.id + ".json");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  if (fd >= 0) ::close(fd);
  if (!ok || std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    spdlog::error("cannot write {}: {}", final_path.string(), std::strerror(errno));
    session_.task().event("gate.fileError", {{"gateId", g.id}, {"error", std::strerror(errno)}});
  }
}

void GateKeeper::schedule_directory_poll() {
  if (polling_ || open_count() == 0) return;
  polling_ = true;
  poll_timer_.expires_after(kDirectoryPollInterval);
  poll_timer_.async_wait([this](const asio::error_code& e) {
    polling_ = false;
    if (e) return;
    poll_directory();
    schedule_directory_poll();
  });
}

void GateKeeper::poll_directory() {
  std::error_code err;
  fs::directory_iterator it(gates_dir(), err);
  if (err) return;
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.size() <= kDecisionSuffix.size() ||
        name.compare(name.size() - kDecisionSuffix.size(), kDecisionSuffix.size(), kDecisionSuffix) != 0)
      continue;
    std::string gate_id = name.substr(0, name.size() - kDecisionSuffix.size());
    fs::path path = entry.path();

    auto reject = [&](const std::string& why) {
      spdlog::warn("rejected {}: {}", path.string(), why);
      session_.task().event("gate.decisionRejected", {{"file", name}, {"reason", why}});
      std::error_code rec;
      fs::rename(path, path.string() + ".rejected", rec);
      if (rec) fs::remove(path, rec);
    };

    // Only a regular file owned by us, small enough, naming an open gate and one of its options.
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode)) { reject("not a regular file"); continue; }
    if (st.st_uid != ::geteuid()) { reject("not owned by the bridge's user"); continue; }
    if (static_cast<std::size_t>(st.st_size) > kMaxDecisionFileBytes) { reject("larger than 64 KiB"); continue; }
    auto git = gates_.find(gate_id);
    if (git == gates_.end()) { reject("no gate named '" + gate_id + "'"); continue; }
    Gate& g = git->second;
    if (g.resolved) { reject("gate " + gate_id + " is already resolved"); continue; }
    std::ifstream in(path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    auto parsed = gates::parse_decision_file(g.prompt, buf.str());
    if (auto* problem = std::get_if<std::string>(&parsed)) { reject(*problem); continue; }
    const auto& a = std::get<gates::Answer>(parsed);
    resolve(g, *a.option, "directory", a.feedback, a.answers);
    std::error_code rec;
    fs::rename(path, path.string() + ".applied", rec);
  }
}

// ---------------------------------------------------------------------------------------------
// coco/approval/* methods

void GateKeeper::register_methods() {
  session_.methods().add("coco/approval/list", [this](const json&, Reply reply) {
    json open = json::array();
    for (const auto& [_, g] : gates_)
      if (!g.resolved) open.push_back(g.prompt.to_json(g.id));
    reply({{"gates", open}, {"mode", gates::to_string(mode_)}});
  });
  // The same as answering coco/approval/request, usable by any client; the only way to get an error
  // back for an answer that came too late or named an unknown option.
  session_.methods().add("coco/approval/answer", [this](const json& params, Reply reply) {
    std::string gate_id = required_string(params, "gateId");
    Result r = answer(gate_id, params);
    if (r.code != 0) return reply.error(r.code, r.message, r.data);
    reply({{"resolved", true}, {"outcome", find(gate_id)->outcome}});
  });
}

}  // namespace coco::bridge
