#include "bridge/gate_keeper.h"

#include "bridge/session.h"
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

namespace {

constexpr auto kDirectoryPollInterval = std::chrono::milliseconds(250);
constexpr std::size_t kMaxDecisionFileBytes = 64 * 1024;
constexpr std::size_t kMaxRememberedGates = 1000;

std::int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

// LSP's MessageType.Warning; one action per option, labelled so the answer maps back.
json show_message_request(const gates::Prompt& p) {
  json actions = json::array();
  for (const auto& o : p.options) actions.push_back({{"title", o.label}});
  return {{"type", 2}, {"message", p.title + "\n\n" + p.detail}, {"actions", actions}};
}

}  // namespace

GateKeeper::GateKeeper(Session& session, gates::PolicyConfig policy, std::optional<gates::Mode> mode_override)
    : session_(session), policy_(std::move(policy)), mode_(mode_override.value_or(policy_.mode)),
      poll_timer_(session.io()) {
  register_methods();
}

GateKeeper::~GateKeeper() = default;

fs::path GateKeeper::gates_dir() const { return session_.task().dir() / "gates"; }

std::size_t GateKeeper::open_count() const {
  std::size_t n = 0;
  for (const auto& [_, g] : gates_) n += g.resolved ? 0 : 1;
  return n;
}

GateKeeper::Gate* GateKeeper::find(const std::string& gate_id) {
  auto it = gates_.find(gate_id);
  return it == gates_.end() ? nullptr : &it->second;
}

GateKeeper::Gate* GateKeeper::find_by_codex_id(const json& codex_id) {
  for (auto& [_, g] : gates_)
    if (!g.resolved && g.codex_id == codex_id && g.generation == session_.generation()) return &g;
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Opening a gate

void GateKeeper::open(const json& codex_id, const std::string& method, const json& params, std::uint64_t generation) {
  std::string id = "g" + std::to_string(next_gate_++);
  json known_changes;
  if (auto it = file_changes_.find(params.value("itemId", "")); it != file_changes_.end()) known_changes = it->second;

  Gate& g = gates_[id];
  g.id = id;
  g.codex_id = codex_id;
  g.raw_params = params;
  g.generation = generation;
  g.prompt = gates::make_prompt(method, params, known_changes);
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
    g.timeout->async_wait([this, id](const asio::error_code& ec) {
      if (ec) return;
      Gate* gate = find(id);
      if (!gate || gate->resolved) return;
      const gates::Option* o = gate->prompt.first_of(policy_.on_timeout);
      if (!o) o = gate->prompt.first_of(gates::OptionKind::Deny);
      if (o) resolve(*gate, *o, "timeout", {}, nullptr, nullptr, "no answer within the approval timeout");
    });
  }
  if (mode_ != gates::Mode::Dir) {
    deliver(g);
  } else if (client_approvals() == "prompt") {
    // Headless hand-off: the client is told, but the answer must come through the directory.
    g.delivery = Delivery::Prompt;
    session_.notify_editor("coco/approval/pending", g.prompt.to_json(g.id));
  }
  schedule_directory_poll();
}

std::string GateKeeper::client_approvals() const {
  const json& caps = session_.client_capabilities();
  if (caps.contains("coco") && caps["coco"].is_object() && caps["coco"].contains("approvals") && caps["coco"]["approvals"].is_string())
    return caps["coco"]["approvals"].get<std::string>();
  return {};
}

void GateKeeper::deliver(Gate& g) {
  std::string approvals = client_approvals();
  std::string id = g.id;
  if (approvals == "prompt") {
    g.delivery = Delivery::Prompt;
    g.editor_request_id = session_.request_editor("coco/approval/request", g.prompt.to_json(g.id),
                                                  [this, id](const json& r) { on_editor_answer(id, r); });
  } else if (approvals == "lsp") {
    g.delivery = Delivery::Lsp;
    g.editor_request_id = session_.request_editor("window/showMessageRequest", show_message_request(g.prompt),
                                                  [this, id](const json& r) { on_editor_answer(id, r); });
  } else {
    // Transparent: codex's own request, as codex sent it (with an id the editor cannot confuse).
    g.delivery = Delivery::Raw;
    g.editor_request_id =
        session_.request_editor(g.prompt.method, g.raw_params, [this, id](const json& r) { on_raw_answer(id, r); });
  }
  if (g.codex_id.is_number_integer()) session_.remember_codex_request_id(g.codex_id.get<std::int64_t>(), *g.editor_request_id);
}

// ---------------------------------------------------------------------------------------------
// Answers

void GateKeeper::on_editor_answer(const std::string& gate_id, const json& response) {
  Gate* g = find(gate_id);
  if (!g) return;
  if (g->resolved) {
    spdlog::info("late answer to gate {} ignored (already resolved by {})", gate_id, g->outcome.value("by", "?"));
    session_.task().event("gate.lateAnswer", {{"gateId", gate_id}, {"response", response}});
    return;
  }
  if (response.contains("error")) {
    // The editor could not show the prompt: leave the gate to the directory, the timeout or policy.
    spdlog::warn("the editor failed gate {}: {}", gate_id, response["error"].dump());
    session_.task().event("gate.editorError", {{"gateId", gate_id}, {"error", response["error"]}});
    return;
  }
  const json& result = response.value("result", json::object());
  const gates::Option* option = nullptr;
  std::string feedback;
  json answers;
  if (g->delivery == Delivery::Lsp) {
    // showMessageRequest answers with the chosen action (or null when dismissed).
    std::string title = result.is_object() ? result.value("title", "") : "";
    for (const auto& o : g->prompt.options)
      if (o.label == title) option = &o;
    if (!option) {
      session_.task().event("gate.editorError", {{"gateId", gate_id}, {"error", "the popup was dismissed"}});
      return;
    }
  } else {
    std::string option_id = result.is_object() ? result.value("optionId", "") : "";
    option = g->prompt.find_option(option_id);
    if (!option) {
      session_.task().event("gate.editorError", {{"gateId", gate_id}, {"error", "unknown optionId '" + option_id + "'"}});
      spdlog::warn("gate {}: the editor chose an unknown option '{}'", gate_id, option_id);
      return;
    }
    feedback = result.value("feedback", "");
    answers = result.value("answers", json());
  }
  resolve(*g, *option, "editor", feedback, answers);
}

void GateKeeper::on_raw_answer(const std::string& gate_id, const json& response) {
  Gate* g = find(gate_id);
  if (!g || g->resolved) {
    if (g) session_.task().event("gate.lateAnswer", {{"gateId", gate_id}, {"response", response}});
    return;
  }
  // Transparent mode: whatever the editor answered goes to codex as is.
  json body = response.contains("error") ? json{{"error", response["error"]}} : json{{"result", response.value("result", json())}};
  session_.answer_codex(g->codex_id, g->generation, body);
  std::string option_id;
  for (const auto& o : g->prompt.options)
    if (o.answer == body.value("result", json())) option_id = o.id;
  json outcome = {{"gateId", g->id}, {"by", "editor"}, {"decision", body.contains("result") ? body["result"] : body}};
  if (!option_id.empty()) outcome["optionId"] = option_id;
  finish(*g, std::move(outcome));
}

bool GateKeeper::resolve(Gate& g, const gates::Option& option, std::string_view by, const std::string& feedback,
                         const json& answers, const gates::Rule* rule, std::string_view note) {
  if (g.resolved) return false;
  json answer = gates::codex_answer(g.prompt, option, answers);
  session_.answer_codex(g.codex_id, g.generation, {{"result", answer}});

  json outcome = {{"gateId", g.id}, {"optionId", option.id}, {"optionKind", gates::to_string(option.kind)},
                  {"decision", answer}, {"by", by}};
  if (rule) outcome["rule"] = rule->name;
  if (!note.empty()) outcome["note"] = note;
  if (!feedback.empty()) outcome["feedback"] = feedback;
  bool notify = by != "editor";
  finish(g, outcome);
  if (notify) notify_resolved(g, option.id, answer, by);

  // "Deny with feedback": decline, then tell the running turn why, so the agent goes on knowing.
  if (!feedback.empty() && option.kind == gates::OptionKind::Deny && !g.prompt.thread_id.empty() && !g.prompt.turn_id.empty()) {
    std::string gate_id = g.id;
    session_.request_codex("turn/steer",
                           {{"threadId", g.prompt.thread_id},
                            {"expectedTurnId", g.prompt.turn_id},
                            {"input", json::array({{{"type", "text"}, {"text", feedback}}})}},
                           [this, gate_id](const json& r) {
                             if (r.contains("error")) {
                               spdlog::warn("turn/steer with the feedback of gate {} failed: {}", gate_id, r["error"].dump());
                               session_.task().event("gate.feedbackFailed", {{"gateId", gate_id}, {"error", r["error"]}});
                             }
                           });
  }
  return true;
}

void GateKeeper::close_unanswered(Gate& g, std::string_view by, std::string_view reason) {
  if (g.resolved) return;
  json outcome = {{"gateId", g.id}, {"by", by}, {"decision", nullptr}, {"note", reason}};
  finish(g, outcome);
  notify_resolved(g, "", nullptr, by);
}

void GateKeeper::finish(Gate& g, json outcome) {
  g.resolved = true;
  if (g.timeout) g.timeout->cancel();
  outcome["waitMs"] = ms_since(g.opened);
  g.outcome = outcome;
  session_.task().event("gate.resolved", outcome);
  write_gate_file(g);
  spdlog::info("gate {} resolved by {}{}", g.id, outcome.value("by", "?"),
               outcome.contains("optionId") ? ": " + outcome["optionId"].get<std::string>() : "");
  // Resolved gates are kept a while so late answers can be told apart from unknown ones.
  while (gates_.size() > kMaxRememberedGates) {
    auto it = std::find_if(gates_.begin(), gates_.end(), [](const auto& kv) { return kv.second.resolved; });
    if (it == gates_.end()) break;
    gates_.erase(it);
  }
}

void GateKeeper::notify_resolved(const Gate& g, const std::string& option_id, const json& decision, std::string_view by) {
  // Only a client that got our prompt has a popup to close. In transparent mode codex's own
  // serverRequest/resolved does that job.
  if (g.delivery != Delivery::Prompt || !session_.editor_connected()) return;
  json params = {{"gateId", g.id}, {"decision", decision}, {"by", by}};
  if (!option_id.empty()) params["optionId"] = option_id;
  session_.notify_editor("coco/approval/resolved", params);
}

// ---------------------------------------------------------------------------------------------
// Codex's side

void GateKeeper::on_codex_notification(const std::string& method, const json& params) {
  if (method == "item/started") {
    const json& item = params.value("item", json::object());
    if (item.value("type", "") == "fileChange" && item.contains("changes")) file_changes_[item.value("id", "")] = item["changes"];
  } else if (method == "item/fileChange/patchUpdated") {
    if (params.contains("changes")) file_changes_[params.value("itemId", "")] = params["changes"];
  } else if (method == "turn/completed") {
    std::string turn_id = params.value("turn", json::object()).value("id", "");
    for (auto& [_, g] : gates_)
      if (!g.resolved && g.prompt.turn_id == turn_id && !turn_id.empty())
        close_unanswered(g, "upstream", "the turn ended (" + params["turn"].value("status", "") + ")");
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
  for (auto& [_, g] : gates_) {
    if (g.resolved) continue;
    const gates::Option* o = g.prompt.first_of(policy_.on_disconnect);
    if (!o) o = g.prompt.first_of(gates::OptionKind::Deny);
    if (o) resolve(g, *o, "disconnect", {}, nullptr, nullptr, "the editor disconnected with the gate open");
    else close_unanswered(g, "disconnect", "the editor disconnected");
  }
}

// ---------------------------------------------------------------------------------------------
// The task-directory hand-off

void GateKeeper::write_gate_file(const Gate& g) {
  json j = g.prompt.to_json(g.id);
  j["status"] = g.resolved ? "resolved" : "open";
  if (g.resolved) j["outcome"] = g.outcome;
  std::string body = j.dump(2) + "\n";
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
  poll_timer_.async_wait([this](const asio::error_code& ec) {
    polling_ = false;
    if (ec) return;
    poll_directory();
    schedule_directory_poll();
  });
}

void GateKeeper::poll_directory() {
  std::error_code ec;
  fs::directory_iterator it(gates_dir(), ec);
  if (ec) return;
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    static constexpr std::string_view kSuffix = ".decision.json";
    if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) continue;
    std::string gate_id = name.substr(0, name.size() - kSuffix.size());
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
    Gate* g = find(gate_id);
    if (!g) { reject("no gate named '" + gate_id + "'"); continue; }
    if (g->resolved) { reject("gate " + gate_id + " is already resolved"); continue; }
    std::ifstream in(path);
    std::stringstream buf;
    buf << in.rdbuf();
    json d = json::parse(buf.str(), nullptr, false);
    if (d.is_discarded() || !d.is_object()) { reject("not a JSON object"); continue; }
    const gates::Option* option = g->prompt.find_option(d.value("optionId", ""));
    if (!option) { reject("unknown optionId '" + d.value("optionId", "") + "'"); continue; }
    std::string feedback = d.contains("feedback") && d["feedback"].is_string() ? d["feedback"].get<std::string>() : "";
    resolve(*g, *option, "directory", feedback, d.value("answers", json()));
    std::error_code rec;
    fs::rename(path, path.string() + ".applied", rec);
  }
}

// ---------------------------------------------------------------------------------------------
// coco/approval/* methods

void GateKeeper::register_methods() {
  session_.register_method("coco/approval/list", [this](const json& id, const json&) {
    json open = json::array();
    for (const auto& [_, g] : gates_)
      if (!g.resolved) open.push_back(g.prompt.to_json(g.id));
    session_.reply(id, {{"gates", open}, {"mode", gates::to_string(mode_)}});
  });
  // The same as answering coco/approval/request, usable by any client (and the only way to get an
  // error back for a late answer).
  session_.register_method("coco/approval/answer", [this](const json& id, const json& params) {
    std::string gate_id = params.value("gateId", "");
    Gate* g = find(gate_id);
    if (!g) return session_.reply_error(id, protocol::error_code::kInvalidParams, "no gate '" + gate_id + "'");
    if (g->resolved)
      return session_.reply_error(id, protocol::error_code::kRequestCancelled,
                                  "gate " + gate_id + " was already resolved by " + g->outcome.value("by", "?"),
                                  g->outcome);
    const gates::Option* o = g->prompt.find_option(params.value("optionId", ""));
    if (!o) return session_.reply_error(id, protocol::error_code::kInvalidParams, "unknown optionId for gate " + gate_id);
    std::string feedback = params.contains("feedback") && params["feedback"].is_string() ? params["feedback"].get<std::string>() : "";
    resolve(*g, *o, "editor", feedback, params.value("answers", json()));
    session_.reply(id, {{"resolved", true}});
  });
}

}  // namespace coco::bridge
