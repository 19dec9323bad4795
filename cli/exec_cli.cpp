#include "cli/exec_cli.h"

#include "text/one_line.h"

#include "cli/codex_locator.h"
#include "bridge/config.h"
#include "workers/exec_events.h"
#include "workers/git_worktree.h"
#include "workers/worker_pool.h"
#include "workers/worker_report.h"

#include <asio.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <sys/ioctl.h>
#include <unistd.h>

namespace coco::cli {
using bridge::Config;
using bridge::coco_home;
using bridge::load_config;
using workers::PoolOptions;
using workers::WorkerPool;
using workers::WorkerSpec;
using workers::find_git_root;
using workers::format_duration;
using workers::is_valid_sandbox;
using text::one_line;
using workers::parse_timeout_seconds;
using workers::render_summary;
using workers::Isolation;
using bridge::default_config_path;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::set<std::string> kKnownOptions = {"task-root", "parallel", "schema", "isolation", "timeout", "sandbox",
                                             "model",     "cwd",      "codex",  "config",    "prompts", "log-level",
                                             "log-file"};

std::string get(const std::map<std::string, std::vector<std::string>>& o, const std::string& key,
                const std::string& def = "") {
  auto it = o.find(key);
  return it == o.end() || it->second.empty() ? def : it->second.back();
}

std::string read_file(const fs::path& file, const char* what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument(std::string("cannot read ") + what + " " + file.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// At most `cols` code points, keeping the column padding (one_line would collapse it).
std::string clip(const std::string& text, std::size_t cols) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars++ == cols) return text.substr(0, i);
  }
  return text;
}

// Live progress. On a terminal: one line per worker (state, elapsed time, latest event), redrawn in
// place a few times a second. Otherwise: a plain line whenever a worker changes state.
class ProgressView {
public:
  ProgressView(asio::io_context& io, WorkerPool& pool)
      : pool_(pool), timer_(io), tty_(::isatty(STDOUT_FILENO) == 1 && !term_is_dumb()) {}

  void start() {
    if (tty_) tick();
  }
  void changed(const std::string& id) {
    if (tty_) return;  // the timer redraws
    json d = pool_.describe(id);
    std::string state = d.value("status", "");
    if (printed_[id] == state) return;
    printed_[id] = state;
    std::string line = id + ": " + state;
    if (d["durationMs"].is_number() && state != "running") line += " in " + format_duration(d["durationMs"].get<long long>());
    if (d["reason"].is_string()) line += ": " + d["reason"].get<std::string>();
    std::cout << line << std::endl;
  }
  void stop() {
    timer_.cancel();
    if (tty_) draw();
  }

private:
  static bool term_is_dumb() {
    const char* t = std::getenv("TERM");
    return t == nullptr || std::string(t) == "dumb";
  }
  static std::size_t width() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
    return 100;
  }
  void tick() {
    draw();
    timer_.expires_after(std::chrono::milliseconds(250));
    timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec) tick();
    });
  }
  void draw() {
    json workers = pool_.list()["workers"];
    std::size_t name_width = 6;
    for (const auto& w : workers) name_width = std::max(name_width, w["agentId"].get<std::string>().size());
    std::string out;
    if (drawn_ > 0) out += "\x1b[" + std::to_string(drawn_) + "A";  // back to our first line
    std::size_t cols = width();
    for (const auto& w : workers) {
      std::string id = w["agentId"].get<std::string>();
      std::string state = w["status"].get<std::string>();
      std::string line = id + std::string(name_width - id.size() + 2, ' ') + state +
                         std::string(state.size() < 10 ? 10 - state.size() : 1, ' ');
      line += w["durationMs"].is_number() ? format_duration(w["durationMs"].get<long long>()) : "-";
      std::string detail = w["reason"].is_string() ? w["reason"].get<std::string>()
                           : w["latest"].is_string() ? w["latest"].get<std::string>()
                                                     : "";
      if (!detail.empty()) line += "  " + one_line(detail, cols);
      out += "\r\x1b[2K" + clip(line, cols - 1) + "\n";
    }
    drawn_ = workers.size();
    std::cout << out << std::flush;
  }

  WorkerPool& pool_;
  asio::steady_timer timer_;
  bool tty_;
  std::size_t drawn_ = 0;
  std::map<std::string, std::string> printed_;
};

}  // namespace

std::vector<std::string> parse_prompts_file(const std::string& text) {
  std::vector<std::string> prompts;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    prompts.push_back(line);
  }
  return prompts;
}

int run_exec_cli(const std::map<std::string, std::vector<std::string>>& o, const std::vector<std::string>& args) {
  for (const auto& [key, _] : o) {
    if (!kKnownOptions.count(key)) throw std::invalid_argument("coco exec: unknown option --" + key);
  }

  // What every worker gets.
  WorkerSpec base;
  std::error_code ec;
  fs::path cwd = o.count("cwd") ? fs::absolute(get(o, "cwd"), ec) : fs::current_path(ec);
  if (!fs::is_directory(cwd, ec)) throw std::invalid_argument("--cwd is not a directory: " + cwd.string());
  base.cwd = cwd.lexically_normal().string();
  if (base.cwd.size() > 1 && base.cwd.back() == '/') base.cwd.pop_back();
  if (o.count("sandbox")) {
    base.sandbox = get(o, "sandbox");
    if (!is_valid_sandbox(base.sandbox)) throw std::invalid_argument("--sandbox must be read-only, workspace-write or danger-full-access");
  }
  base.model = get(o, "model");
  if (o.count("isolation")) {
    std::string i = get(o, "isolation");
    if (i == "worktree") base.isolation = Isolation::Worktree;
    else if (i != "none") throw std::invalid_argument("--isolation must be none or worktree");
  }
  if (o.count("timeout")) {
    json seconds = json::parse(get(o, "timeout"), nullptr, false);
    base.timeout = parse_timeout_seconds(seconds.is_discarded() ? json("x") : seconds, "--timeout");
  }
  if (o.count("schema")) {
    json schema = json::parse(read_file(get(o, "schema"), "the schema"), nullptr, false);
    if (schema.is_discarded() || !schema.is_object()) throw std::invalid_argument("--schema must be a JSON schema object");
    base.output_schema = schema;
  }

  if (base.isolation == Isolation::Worktree && !find_git_root(base.cwd)) {
    throw std::invalid_argument("--isolation worktree needs a git repository, and " + base.cwd + " is not inside one");
  }

  std::vector<std::string> prompts = args;
  if (o.count("prompts")) {
    auto more = parse_prompts_file(read_file(get(o, "prompts"), "the prompts file"));
    prompts.insert(prompts.end(), more.begin(), more.end());
  }
  if (prompts.empty()) throw std::invalid_argument("coco exec needs at least one prompt (arguments or --prompts FILE)");

  Config config = load_config(o.count("config") ? fs::path(get(o, "config")) : default_config_path(), o.count("config") > 0);
  PoolOptions po;
  po.max_parallel = config.workers.max_parallel;
  if (o.count("parallel")) {
    std::string p = get(o, "parallel");
    int n = 0;
    try {
      std::size_t pos = 0;
      n = std::stoi(p, &pos);
      if (pos != p.size()) n = 0;
    } catch (const std::exception&) {
    }
    if (n < 1) throw std::invalid_argument("--parallel must be a positive integer, got '" + p + "'");
    po.max_parallel = n;
  }
  auto codex = locate_codex(get(o, "codex"));
  if (!codex.path) {
    std::cerr << "coco: " << codex.explain() << "\n";
    return 2;
  }
  po.codex = *codex.path;
  po.codex_homes_root = coco_home() / "codex-homes";

  fs::path root = o.count("task-root") ? fs::path(get(o, "task-root")) : coco_home() / "tasks";
  taskdir::TaskMeta meta;
  meta.cwd = base.cwd;
  meta.title = "coco exec: " + prompts.front();
  auto task = taskdir::TaskWriter::create(root, meta);

  asio::io_context io(1);
  WorkerPool pool(io, *task, std::move(po));
  ProgressView view(io, pool);
  pool.on_change = [&view](const std::string& id) { view.changed(id); };

  std::cout << "task " << task->id() << ": " << prompts.size() << " worker" << (prompts.size() == 1 ? "" : "s") << ", "
            << pool.max_parallel() << " at a time (" << task->dir().string() << ")" << std::endl;
  for (const auto& prompt : prompts) {
    WorkerSpec spec = base;
    spec.prompt = prompt;
    pool.spawn("", std::move(spec));  // a bad spec throws before anything runs (all share one)
  }

  bool interrupted = false;
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const asio::error_code& e, int sig) {
      if (e) return;
      interrupted = true;
      pool.cancel_all("interrupted by signal " + std::to_string(sig));
      wait_signal();
    });
  };
  wait_signal();

  json report;
  pool.join({}, std::chrono::milliseconds(0), [&](const json& r) {
    report = r;
    signals.cancel();
    view.stop();
    io.stop();
  });
  view.start();
  io.run();

  bool ok = report.value("ok", false);
  task->finish(interrupted ? "interrupted" : ok ? "completed" : "failed");
  std::cout << "\n" << render_summary(report) << "\nreport: " << report.value("reportPath", std::string()) << std::endl;
  if (report.contains("reportError")) std::cerr << "coco: " << report["reportError"].get<std::string>() << "\n";
  if (interrupted) return 130;
  return ok ? 0 : 1;
}

}  // namespace coco::cli
