// Exec workers: argv building, input validation, event folding and verdicts, reports, and the pool
// driven end to end against a fake codex (a shell script) so that every path runs in milliseconds.

#include "cli/exec_cli.h"
#include "workers/exec_events.h"
#include "workers/exec_worker.h"
#include "workers/git_worktree.h"
#include "workers/worker_pool.h"
#include "workers/worker_report.h"
#include "workers/worker_spec.h"
#include "taskdir/task_reader.h"
#include "taskdir/task_writer.h"

#include "test_support.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace coco::workers;
using coco::process::ExitStatus;
using coco::cli::parse_prompts_file;
using nlohmann::json;
using coco::test::mode_of;
using coco::test::read_text;
using coco::test::write_text;

namespace {

json event(const std::string& text) { return json::parse(text); }

ExitStatus exited(int code) {
  ExitStatus s;
  s.exit_code = code;
  return s;
}

// A stand-in for `codex exec --json`: what it does depends on words in the prompt (its last argument).
constexpr const char* kFakeCodex = R"(#!/bin/sh
out=""
for a in "$@"; do
  case "$a" in --output-last-message=*) out="${a#--output-last-message=}";; esac
  prompt="$a"
done
thread="t-0001"
case "$*" in *" resume t-0001 "*) echo "resumed" >&2;; esac
echo '{"type":"thread.started","thread_id":"'$thread'"}'
echo '{"type":"turn.started"}'
case "$prompt" in
  *sleep*) exec sleep 30;;
  *garbage*) echo 'this is not json';;
  *fail*) echo '{"type":"error","message":"retrying"}'; echo '{"type":"turn.failed","error":{"message":"boom"}}'; exit 1;;
  *crash*) echo 'Error: something broke' >&2; exit 3;;
  *quiet*) exit 0;;
  *prose*) printf 'plain prose' > "$out"; echo '{"type":"turn.completed","usage":{}}'; exit 0;;
  *home*) printf '%s' "$CODEX_HOME" > "$out"; echo '{"type":"turn.completed","usage":{"input_tokens":1}}'; exit 0;;
esac
echo '{"type":"error","message":"transient, not final"}'
echo '{"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"{\"answer\":\"x\"}"}}'
printf '%s' '{"answer":"x"}' > "$out"
echo '{"type":"turn.completed","usage":{"input_tokens":10,"output_tokens":2}}'
)";

// A task directory, a pool on its own loop, and a fake codex.
struct PoolFixture {
  coco::test::TempDir tmp{"coco-workers-test"};
  asio::io_context io;
  std::unique_ptr<coco::taskdir::TaskWriter> task;
  std::unique_ptr<WorkerPool> pool;
  std::vector<json> completed;
  fs::path codex = tmp.path / "fake-codex";
  fs::path user_home = tmp.path / "user-codex-home";

  explicit PoolFixture(int max_parallel = 4, std::string codex_path = "") {
    write_text(codex, kFakeCodex);
    fs::permissions(codex, fs::perms::owner_all);
    write_text(user_home / "config.toml", "model = \"mock\"\n");
    write_text(user_home / "auth.json", "{\"token\":\"secret\"}\n");
    task = coco::taskdir::TaskWriter::create(tmp.path / "tasks", {tmp.path.string(), "", "workers"});
    PoolOptions o;
    o.codex = codex_path.empty() ? codex.string() : codex_path;
    o.max_parallel = max_parallel;
    o.kill_grace = std::chrono::milliseconds(500);
    o.seed_codex_home = user_home;
    o.reserved_names = {"app-server"};
    pool = std::make_unique<WorkerPool>(io, *task, o);
    pool->on_completed = [this](const json& c) { completed.push_back(c); };
  }

  WorkerSpec spec(const std::string& prompt, const std::string& sandbox = "read-only") {
    WorkerSpec s;
    s.prompt = prompt;
    s.cwd = tmp.path.string();
    s.sandbox = sandbox;
    return s;
  }

  // Runs the loop until `done` or a generous deadline (a hang fails the test instead of blocking it).
  template <typename Pred>
  void run_until(Pred done, std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (io.stopped()) io.restart();  // it stops whenever it runs out of work
      io.run_one_for(std::chrono::milliseconds(50));
    }
    REQUIRE(done());
  }

  json join_all(std::chrono::seconds limit = std::chrono::seconds(20)) {
    json report;
    bool got = false;
    pool->join({}, std::chrono::milliseconds(0), [&](const json& r) {
      report = r;
      got = true;
    });
    run_until([&] { return got; }, limit);
    return report;
  }

  json worker(const json& report, const std::string& id) {
    for (const auto& w : report["workers"]) {
      if (w["agentId"] == id) return w;
    }
    FAIL("no worker " << id);
    return {};
  }

  // Ends the task so that everything queued is on disk (the writer's thread writes asynchronously).
  void flush() { task->finish("completed"); }

  std::vector<json> task_events() {
    flush();
    return coco::taskdir::read_jsonl(task->dir() / "events.jsonl");
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// argv and validation

TEST_CASE("workers: exec argv puts every value in its own element and the prompt after --") {
  ExecArgs a;
  a.codex = "/opt/codex";
  a.cwd = "/work/p";
  a.sandbox = "read-only";
  a.final_file = "/t/agents/w/artifacts/final.json";
  a.prompt = "--help; rm -rf /";
  auto argv = build_exec_argv(a);
  CHECK(argv == std::vector<std::string>{"/opt/codex", "exec", "--json", "--skip-git-repo-check", "--cd=/work/p",
                                         "--sandbox=read-only", "--output-last-message=/t/agents/w/artifacts/final.json",
                                         "--", "--help; rm -rf /"});

  a.model = "-weird";
  a.config = {{"model_reasoning_effort", "\"low\""}};
  a.schema_file = "/t/schema.json";
  a.resume_thread = "01a200b5-6d8b-7781-ae86-55937f23cee8";
  argv = build_exec_argv(a);
  CHECK(argv == std::vector<std::string>{"/opt/codex", "exec", "--json", "--skip-git-repo-check", "--cd=/work/p",
                                         "--sandbox=read-only", "--model=-weird",
                                         "--config=model_reasoning_effort=\"low\"",
                                         "--output-last-message=/t/agents/w/artifacts/final.json",
                                         "--output-schema=/t/schema.json", "resume",
                                         "01a200b5-6d8b-7781-ae86-55937f23cee8", "--", "--help; rm -rf /"});

  a.resume_thread = "--last";
  CHECK_THROWS_AS(build_exec_argv(a), std::invalid_argument);
}

TEST_CASE("workers: config keys and TOML literals") {
  CHECK(is_valid_config_key("model"));
  CHECK(is_valid_config_key("sandbox_workspace_write.network_access"));
  CHECK(is_valid_config_key("a-b.C_9"));
  CHECK_FALSE(is_valid_config_key(""));
  CHECK_FALSE(is_valid_config_key("a=b"));
  CHECK_FALSE(is_valid_config_key("a b"));
  CHECK_FALSE(is_valid_config_key(".a"));
  CHECK_FALSE(is_valid_config_key("a..b"));
  CHECK_FALSE(is_valid_config_key("a\nb"));

  CHECK(toml_literal(json("low")) == "\"low\"");
  CHECK(toml_literal(json("a\"b\\c\nd\te")) == "\"a\\\"b\\\\c\\nd\\te\"");
  CHECK(toml_literal(json(std::string("x\x7fy\x01"))) == "\"x\\u007fy\\u0001\"");
  CHECK(toml_literal(json("héllo")) == "\"héllo\"");
  CHECK(toml_literal(json(true)) == "true");
  CHECK(toml_literal(json(42)) == "42");
  CHECK(toml_literal(json(-1)) == "-1");
  CHECK(toml_literal(json(1.5)) == "1.5");
  CHECK(toml_literal(json::parse("[1, \"a\", [true]]")) == "[1, \"a\", [true]]");
  CHECK(toml_literal(json::parse("{\"a\": 1, \"b c\": {\"d\": \"e\"}}")) == "{ \"a\" = 1, \"b c\" = { \"d\" = \"e\" } }");
  CHECK(toml_literal(json::object()) == "{}");
  CHECK_THROWS_AS(toml_literal(json(nullptr)), std::invalid_argument);
  CHECK_THROWS_AS(toml_literal(json::parse("[null]")), std::invalid_argument);

  CHECK(is_valid_thread_id("01a200b5-6d8b-7781-ae86-55937f23cee8"));
  CHECK_FALSE(is_valid_thread_id(""));
  CHECK_FALSE(is_valid_thread_id("a b"));
  CHECK_FALSE(is_valid_thread_id("../x"));
}

TEST_CASE("workers: spawn params are validated field by field") {
  coco::test::TempDir tmp("coco-workers-test");
  fs::create_directories(tmp.path / "sub");
  std::string base = tmp.path.string();

  auto r = parse_spawn_params(json{{"prompt", "hi"}}, base);
  CHECK(r.name.empty());
  CHECK(r.spec.prompt == "hi");
  CHECK(r.spec.cwd == base);
  CHECK(r.spec.sandbox == "read-only");
  CHECK(r.spec.isolation == Isolation::None);
  CHECK(r.spec.timeout.count() == 0);

  r = parse_spawn_params(json::parse(R"({"prompt":"p","name":"w_1","cwd":"sub","sandbox":"workspace-write",
      "model":"m","isolation":"worktree","timeoutS":1.5,"outputSchema":{"type":"object"},
      "config":{"model_reasoning_effort":"low","x.y":[1,2]}})"),
                         base);
  CHECK(r.name == "w_1");
  CHECK(r.spec.cwd == (tmp.path / "sub").string());
  CHECK(r.spec.sandbox == "workspace-write");
  CHECK(r.spec.model == "m");
  CHECK(r.spec.isolation == Isolation::Worktree);
  CHECK(r.spec.timeout.count() == 1500);
  REQUIRE(r.spec.output_schema);
  CHECK((*r.spec.output_schema)["type"] == "object");
  REQUIRE(r.spec.config.size() == 2);
  CHECK(r.spec.config[0] == std::pair<std::string, std::string>{"model_reasoning_effort", "\"low\""});
  CHECK(r.spec.config[1] == std::pair<std::string, std::string>{"x.y", "[1, 2]"});

  auto bad = [&](const char* params) {
    CHECK_THROWS_AS(parse_spawn_params(json::parse(params), base), std::invalid_argument);
  };
  bad(R"({})");
  bad(R"({"prompt":""})");
  bad(R"({"prompt":5})");
  bad(R"({"prompt":"p","name":"../x"})");
  bad(R"({"prompt":"p","name":"a/b"})");
  bad(R"({"prompt":"p","name":"Upper"})");
  bad(R"({"prompt":"p","cwd":"does-not-exist"})");
  bad(R"({"prompt":"p","sandbox":"yolo"})");
  bad(R"({"prompt":"p","isolation":"chroot"})");
  bad(R"({"prompt":"p","config":{"a=b":"x"}})");
  bad(R"({"prompt":"p","config":{"a":null}})");
  bad(R"({"prompt":"p","config":"a=b"})");
  bad(R"({"prompt":"p","outputSchema":"{}"})");
  bad(R"({"prompt":"p","timeoutS":0})");
  bad(R"({"prompt":"p","timeoutS":-3})");
  bad(R"({"prompt":"p","timeoutS":"10"})");
  CHECK_THROWS_AS(parse_spawn_params(json::array(), base), std::invalid_argument);

  CHECK(is_writable_sandbox("workspace-write"));
  CHECK(is_writable_sandbox("danger-full-access"));
  CHECK_FALSE(is_writable_sandbox("read-only"));
}

TEST_CASE("workers: prompts files skip blanks and comments") {
  CHECK(parse_prompts_file("one\n\n# note\n  two words  \r\n   \nthree") ==
        std::vector<std::string>{"one", "  two words  ", "three"});
}

TEST_CASE("workers: git roots and branch names") {
  coco::test::TempDir tmp("coco-workers-test");
  fs::create_directories(tmp.path / "repo" / ".git");
  fs::create_directories(tmp.path / "repo" / "a" / "b");
  fs::create_directories(tmp.path / "plain");
  CHECK(find_git_root(tmp.path / "repo" / "a" / "b") == fs::canonical(tmp.path / "repo"));
  CHECK(find_git_root(tmp.path / "repo") == fs::canonical(tmp.path / "repo"));
  CHECK_FALSE(find_git_root(tmp.path / "plain").has_value());
  CHECK(worktree_branch("20250101T000000Z-abcdef", "w1") == "coco/20250101T000000Z-abcdef/w1");
  CHECK(worktree_add_argv("/r", "coco/t/w1", "/t/agents/w1/worktree") ==
        std::vector<std::string>{"git", "-C", "/r", "worktree", "add", "-b", "coco/t/w1", "--", "/t/agents/w1/worktree",
                                 "HEAD"});
}

// ---------------------------------------------------------------------------------------------
// events and verdicts

TEST_CASE("workers: the line splitter survives any split and hands back a torn last line") {
  std::string input = "{\"a\":1}\r\n\n  \n{\"b\":2}\nnot json\n{\"c\":";
  LineSplitter s;
  std::vector<std::string> lines;
  for (char c : input) {
    s.feed(std::string_view(&c, 1));
    while (auto l = s.next()) lines.push_back(*l);
  }
  CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "not json"});
  CHECK(s.finish() == std::optional<std::string>("{\"c\":"));
  CHECK_FALSE(s.finish().has_value());

  LineSplitter small(8);
  small.feed("0123456789abcdef");
  CHECK_FALSE(small.next().has_value());
  small.feed("xyz\nok\n");
  CHECK(small.next() == std::optional<std::string>("ok"));
  CHECK(small.overlong() == 1);
}

TEST_CASE("workers: events fold into thread, usage, errors and the last message") {
  ExecProgress p;
  p.observe(event(R"({"type":"thread.started","thread_id":"t1"})"));
  p.observe(event(R"({"type":"item.completed","item":{"id":"i0","type":"error","message":"Model metadata not found"}})"));
  p.observe(event(R"({"type":"turn.started"})"));
  p.observe(event(R"({"type":"item.started","item":{"id":"i1","type":"command_execution","command":"ls -la"}})"));
  CHECK(p.latest() == "item.started command_execution: ls -la");
  p.observe(event(R"({"type":"error","message":"reconnecting 1/5"})"));
  p.observe(event(R"({"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"done"}})"));
  p.observe(event(R"({"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":1}})"));
  p.observe_malformed();
  CHECK(p.thread_id() == "t1");
  CHECK(p.turn_completed());
  CHECK_FALSE(p.turn_failed());
  CHECK(p.usage()["input_tokens"] == 5);
  CHECK(p.errors() == std::vector<std::string>{"Model metadata not found", "reconnecting 1/5"});
  CHECK(p.last_agent_message() == "done");
  CHECK(p.malformed() == 1);
  CHECK(p.events() == 7);

  RunEnd end;
  end.exit = exited(0);
  CHECK(derive_verdict(p, end).status == "completed");  // error events along the way are not final
}

TEST_CASE("workers: verdicts: turn.failed, crashes, signals, missing turn.completed, cancel and timeout") {
  ExecProgress failed;
  failed.observe(event(R"({"type":"error","message":"stream disconnected"})"));
  failed.observe(event(R"({"type":"turn.failed","error":{"message":"scripted failure"}})"));
  RunEnd end;
  end.exit = exited(1);
  Verdict v = derive_verdict(failed, end);
  CHECK(v.status == "failed");
  CHECK(v.reason == "the turn failed: scripted failure");

  ExecProgress nothing;
  end.stderr_tail = "Reading additional input from stdin...\nError: thread/resume failed: no rollout found\n\nStack "
                    "backtrace:\n   0: <unknown>\n";
  v = derive_verdict(nothing, end);
  CHECK(v.status == "failed");
  CHECK(v.reason == "codex exited with code 1: Error: thread/resume failed: no rollout found");

  end.exit = exited(0);
  end.stderr_tail.clear();
  v = derive_verdict(nothing, end);
  CHECK(v.status == "failed");
  CHECK(v.reason == "codex exited without turn.completed");

  ExitStatus killed;
  killed.signal = SIGKILL;
  end.exit = killed;
  v = derive_verdict(nothing, end);
  CHECK(v.status == "failed");
  CHECK(v.reason.find("killed by signal 9") != std::string::npos);

  end.timed_out = true;
  end.timeout = std::chrono::seconds(2);
  v = derive_verdict(failed, end);
  CHECK(v.status == "timedOut");
  CHECK(v.reason.find("2 s") != std::string::npos);

  end.cancelled = true;
  end.cancel_reason = "cancelled on request";
  CHECK(derive_verdict(failed, end).status == "cancelled");

  end.start_error = "cannot start codex";
  CHECK(derive_verdict(failed, end).status == "failed");

  // A resumed thread: a later turn.completed supersedes an earlier turn.failed in the same stream.
  failed.observe(event(R"({"type":"turn.completed","usage":{}})"));
  RunEnd ok;
  ok.exit = exited(0);
  CHECK(derive_verdict(failed, ok).status == "completed");
}

TEST_CASE("workers: finals are JSON with a schema, text without") {
  CHECK(parse_final("{\"a\":1}", true) == std::optional<json>(json{{"a", 1}}));
  CHECK_FALSE(parse_final("not json", true).has_value());
  CHECK(parse_final("{\"a\":1}", false) == std::optional<json>(json("{\"a\":1}")));
  CHECK(stderr_reason("warning: bubblewrap\nfatal thing\n") == "fatal thing");
}

// ---------------------------------------------------------------------------------------------
// reports

TEST_CASE("workers: reports count statuses and render a readable summary") {
  json workers = json::parse(R"([
    {"agentId":"w1","status":"completed","final":{"answer":"A|B"},"durationMs":1200,"branch":"coco/t/w1",
     "worktree":"/t/agents/w1/worktree","prompt":"do it","errors":[],"usage":{"input_tokens":3}},
    {"agentId":"w2","status":"failed","reason":"the turn failed: boom","final":null,"durationMs":300,
     "prompt":"x","errors":["retrying"]},
    {"agentId":"w3","status":"completed","final":"text with ``` fence","durationMs":65000,"prompt":"y"}
  ])");
  json report = build_report("T1", "/t", workers, true);
  CHECK(report["taskId"] == "T1");
  CHECK(report["complete"] == true);
  CHECK(report["ok"] == false);
  CHECK(report["counts"]["completed"] == 2);
  CHECK(report["counts"]["failed"] == 1);
  CHECK(report["workers"].size() == 3);

  std::string md = render_summary(report);
  CHECK(md.find("# Exec workers of task T1") == 0);
  CHECK(md.find("3 workers: 2 completed, 1 failed.") != std::string::npos);
  CHECK(md.find("| w1 | completed | 1.2 s | `coco/t/w1` | {\"answer\":\"A\\|B\"} |") != std::string::npos);
  CHECK(md.find("| w2 | failed | 300 ms | - | the turn failed: boom |") != std::string::npos);
  CHECK(md.find("1 min 5 s") != std::string::npos);
  CHECK(md.find("````\ntext with ``` fence\n````") != std::string::npos);  // the fence outgrows the text's
  CHECK(md.find("- retrying") != std::string::npos);

  json all_ok = build_report("T", "/t", json::array({workers[0]}), true);
  CHECK(all_ok["ok"] == true);
  json partial = build_report("T", "/t", json::array({workers[0]}), false);
  CHECK(partial["ok"] == false);
  CHECK(render_summary(partial).find("The join timed out") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// the pool against a fake codex

TEST_CASE("workers: pool runs workers, seeds CODEX_HOME privately, records events, joins into a report") {
  PoolFixture f;
  auto schema_spec = f.spec("answer please");
  schema_spec.output_schema = json::parse(R"({"type":"object"})");
  auto a = f.pool->spawn("alpha", schema_spec);
  auto b = f.pool->spawn("", f.spec("where is home"));
  auto c = f.pool->spawn("", f.spec("emit garbage"));
  CHECK(a.agent_id == "alpha");
  CHECK(b.agent_id == "worker-2");
  CHECK(c.agent_id == "worker-3");
  CHECK_THROWS_AS(f.pool->spawn("alpha", f.spec("again")), std::invalid_argument);
  CHECK_THROWS_AS(f.pool->spawn("app-server", f.spec("x")), std::invalid_argument);
  CHECK_THROWS_AS(f.pool->spawn("../up", f.spec("x")), std::invalid_argument);

  json report = f.join_all();
  CHECK(report["complete"] == true);
  CHECK(report["ok"] == true);
  json wa = f.worker(report, "alpha");
  CHECK(wa["status"] == "completed");
  CHECK(wa["final"] == json{{"answer", "x"}});  // parsed: a schema was given
  CHECK(wa["threadId"] == "t-0001");
  CHECK(wa["usage"]["input_tokens"] == 10);
  CHECK(wa["errors"] == json::array({"transient, not final"}));

  fs::path agent = f.task->dir() / "agents" / "alpha";
  CHECK(mode_of(agent / "artifacts") == 0700);
  CHECK(mode_of(agent / "artifacts" / "final.json") == 0600);
  CHECK(mode_of(agent / "artifacts" / "schema.json") == 0600);
  CHECK(json::parse(read_text(agent / "artifacts" / "schema.json")) == json{{"type", "object"}});
  CHECK(mode_of(agent / "codex-home") == 0700);
  CHECK(mode_of(agent / "codex-home" / "auth.json") == 0600);
  CHECK(read_text(agent / "codex-home" / "config.toml") == "model = \"mock\"\n");

  // The worker saw its own CODEX_HOME.
  json wb = f.worker(report, "worker-2");
  CHECK(wb["final"] == (f.task->dir() / "agents" / "worker-2" / "codex-home").string());

  // A line that is not JSON is recorded and counted, not fatal.
  json wc = f.worker(report, "worker-3");
  CHECK(wc["status"] == "completed");
  CHECK(wc["malformedLines"] == 1);
  f.flush();
  auto records = coco::taskdir::read_jsonl(f.task->dir() / "agents" / "worker-3" / "runtime" / "events.jsonl");
  bool recorded_invalid = std::any_of(records.begin(), records.end(), [](const json& r) {
    return r.value("error", "") == "not JSON" && r.value("raw", "") == "this is not json";
  });
  CHECK(recorded_invalid);

  // The report is on disk, and the task events tell the story.
  fs::path reports = f.task->dir() / "shared" / "reports";
  CHECK(json::parse(read_text(reports / "report.json"))["workers"].size() == 3);
  CHECK(read_text(reports / "summary.md").find("| alpha | completed |") != std::string::npos);
  auto events = f.task_events();
  auto count = [&](const std::string& type) {
    return std::count_if(events.begin(), events.end(), [&](const json& e) { return e["type"] == type; });
  };
  CHECK(count("agent.spawned") == 3);
  CHECK(count("agent.started") == 3);
  CHECK(count("agent.completed") == 3);
  CHECK(count("report.written") == 1);
  CHECK(f.completed.size() == 3);
}

TEST_CASE("workers: failures end a worker with a clear status and reason") {
  PoolFixture f;
  f.pool->spawn("fails", f.spec("please fail"));
  f.pool->spawn("crashes", f.spec("crash now"));
  f.pool->spawn("quiet", f.spec("be quiet"));
  auto schema_spec = f.spec("answer in prose");
  schema_spec.output_schema = json::parse(R"({"type":"object"})");
  f.pool->spawn("prose", schema_spec);
  json report = f.join_all();
  CHECK(report["ok"] == false);
  json w = f.worker(report, "fails");
  CHECK(w["status"] == "failed");
  CHECK(w["reason"] == "the turn failed: boom");
  CHECK(w["exitCode"] == 1);
  CHECK(w["errors"] == json::array({"retrying"}));
  w = f.worker(report, "crashes");
  CHECK(w["status"] == "failed");
  CHECK(w["reason"] == "codex exited with code 3: Error: something broke");
  w = f.worker(report, "quiet");
  CHECK(w["status"] == "failed");
  CHECK(w["reason"] == "codex exited without turn.completed");
  w = f.worker(report, "prose");
  CHECK(w["status"] == "failed");
  CHECK(w["reason"] == "the final message is not JSON although an output schema was given");
  CHECK(w["final"] == "plain prose");
}

TEST_CASE("workers: a write that fails while preparing (a full disk) fails that worker with the reason") {
  PoolFixture f;
  // A directory where schema.json must go makes the write fail, as ENOSPC would.
  fs::create_directories(f.task->dir() / "agents" / "broken" / "artifacts" / "schema.json");
  auto spec = f.spec("hi");
  spec.output_schema = json::object();
  auto spawned = f.pool->spawn("broken", spec);
  CHECK(spawned.agent_id == "broken");
  f.pool->spawn("fine", f.spec("hi"));
  json report = f.join_all();
  json w = f.worker(report, "broken");
  CHECK(w["status"] == "failed");
  CHECK(w["reason"].get<std::string>().find("cannot prepare the worker: cannot create") != std::string::npos);
  CHECK(w["runs"] == 0);
  CHECK(f.worker(report, "fine")["status"] == "completed");
  auto events = f.task_events();
  CHECK(std::any_of(events.begin(), events.end(),
                    [](const json& e) { return e["type"] == "agent.failed" && e["agentId"] == "broken"; }));
}

TEST_CASE("workers: a worker killed from outside fails with the signal") {
  PoolFixture f;
  f.pool->spawn("victim", f.spec("sleep"));
  f.run_until([&] { return !f.pool->describe("victim")["threadId"].is_null(); });
  json pid = f.pool->describe("victim")["pid"];
  REQUIRE(pid.is_number());
  ::kill(pid.get<pid_t>(), SIGKILL);
  json w = f.worker(f.join_all(), "victim");
  CHECK(w["status"] == "failed");
  CHECK(w["reason"].get<std::string>().find("codex was killed by signal 9") == 0);
  CHECK(w["signal"] == 9);
  CHECK(w["pid"].is_null());
}

TEST_CASE("workers: a missing codex fails the worker, not the pool") {
  PoolFixture f(2, "/nonexistent/codex");
  f.pool->spawn("w", f.spec("hi"));
  json report = f.join_all();
  json w = f.worker(report, "w");
  CHECK(w["status"] == "failed");
  CHECK(w["reason"].get<std::string>().find("cannot start codex") != std::string::npos);
  auto events = f.task_events();
  CHECK(std::any_of(events.begin(), events.end(), [](const json& e) { return e["type"] == "agent.failed"; }));
}

TEST_CASE("workers: cancel (queued and running), timeout, and resume") {
  PoolFixture f(1);
  auto running = f.spec("sleep please");
  f.pool->spawn("slow", running);
  f.pool->spawn("queued", f.spec("never runs"));
  auto timed = f.spec("sleep too");
  timed.timeout = std::chrono::milliseconds(300);
  f.pool->spawn("timed", timed);

  // Queued: cancelled on the spot.
  json c = f.pool->cancel("queued");
  CHECK(c["status"] == "cancelled");
  CHECK(c["cancelled"] == true);
  CHECK_THROWS_AS(f.pool->cancel("nobody"), std::invalid_argument);

  f.run_until([&] { return f.pool->describe("slow")["status"] == "running"; });
  f.run_until([&] { return !f.pool->describe("slow")["threadId"].is_null(); });
  CHECK(f.pool->describe("timed")["status"] == "queued");  // max_parallel 1
  CHECK_THROWS_AS(f.pool->resume("slow", "more"), std::invalid_argument);  // still running
  c = f.pool->cancel("slow");
  CHECK(c["cancelled"] == true);
  f.run_until([&] { return f.pool->describe("timed")["status"] == "timedOut"; });
  json slow = f.pool->describe("slow");
  CHECK(slow["status"] == "cancelled");
  CHECK(slow["reason"] == "cancelled on request");
  CHECK(f.pool->cancel("slow")["cancelled"] == false);  // already over
  json timed_out = f.pool->describe("timed");
  CHECK(timed_out["reason"].get<std::string>().find("300 ms") != std::string::npos);

  // Resume the cancelled worker's thread: the fake answers normally this time.
  CHECK_THROWS_AS(f.pool->resume("queued", "x"), std::invalid_argument);  // never had a thread
  f.pool->resume("slow", "now answer");
  json report = f.join_all();
  json w = f.worker(report, "slow");
  CHECK(w["status"] == "completed");
  CHECK(w["runs"] == 2);
  CHECK(w["threadId"] == "t-0001");
  auto events = f.task_events();
  std::string stderr_log = read_text(f.task->dir() / "agents" / "slow" / "runtime" / "stderr.log");
  CHECK(stderr_log.find("resumed") != std::string::npos);  // argv carried `resume t-0001`

  std::vector<std::string> types;
  for (const auto& e : events) {
    if (e.value("agentId", "") == "slow") types.push_back(e["type"]);
  }
  CHECK(types == std::vector<std::string>{"agent.spawned", "agent.started", "agent.cancelled", "agent.resumed",
                                          "agent.started", "agent.completed"});
}

TEST_CASE("workers: single writer per cwd, read-only workers alongside") {
  PoolFixture f(3);
  f.pool->spawn("writer1", f.spec("sleep one", "workspace-write"));
  f.pool->spawn("writer2", f.spec("plain two", "workspace-write"));
  f.pool->spawn("reader", f.spec("plain three"));
  f.run_until([&] { return f.pool->describe("reader")["status"] == "completed"; });
  CHECK(f.pool->describe("writer1")["status"] == "running");
  CHECK(f.pool->describe("writer2")["status"] == "queued");  // a free slot, but its cwd has a writer
  f.pool->cancel("writer1");
  json report = f.join_all();
  json w1 = f.worker(report, "writer1"), w2 = f.worker(report, "writer2");
  CHECK(w1["status"] == "cancelled");
  CHECK(w2["status"] == "completed");
  CHECK(w2["startedAt"].get<std::string>() >= w1["endedAt"].get<std::string>());
}

TEST_CASE("workers: a join with a timeout reports what is still running") {
  PoolFixture f;
  f.pool->spawn("slow", f.spec("sleep"));
  json report;
  bool got = false;
  f.pool->join({"slow"}, std::chrono::milliseconds(200), [&](const json& r) {
    report = r;
    got = true;
  });
  CHECK_THROWS_AS(f.pool->join({"ghost"}, std::chrono::milliseconds(0), [](const json&) {}), std::invalid_argument);
  f.run_until([&] { return got; });
  CHECK(report["complete"] == false);
  CHECK(f.worker(report, "slow")["status"] == "running");
  f.pool->cancel_all("the test is over", true);
  CHECK(f.pool->describe("slow")["status"] == "cancelled");
  CHECK(f.pool->all_finished());
  CHECK_THROWS_AS(f.pool->spawn("", f.spec("late")), std::invalid_argument);
}

TEST_CASE("workers: a completed turn whose sandbox could not start is a failure") {
  ExecProgress p;
  p.observe(json::parse(R"({"type":"thread.started","thread_id":"t"})"));
  p.observe(json::parse(R"({"type":"item.completed","item":{"type":"command_execution","command":"echo hi",
    "aggregated_output":"bwrap: execvp codex-linux-sandbox: No such file or directory\n","exit_code":1}})"));
  p.observe(json::parse(R"({"type":"turn.completed","usage":{}})"));
  RunEnd end;
  end.exit = exited(0);
  Verdict v = derive_verdict(p, end);
  CHECK(v.status == "failed");
  CHECK(v.reason.find("could not start its sandbox") != std::string::npos);
  CHECK(v.reason.find("bwrap: execvp codex-linux-sandbox") != std::string::npos);

  // codex does not always report the failed command; its warning on stderr is enough, when sandboxed.
  ExecProgress quiet;
  quiet.observe(json::parse(R"({"type":"turn.completed","usage":{}})"));
  RunEnd warned;
  warned.exit = exited(0);
  warned.sandbox_warning = "WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper binaries";
  CHECK(derive_verdict(quiet, warned).status == "failed");
  warned.sandboxed = false;  // danger-full-access runs no sandbox: nothing was lost
  CHECK(derive_verdict(quiet, warned).status == "completed");
  // A command that merely mentions the helper's name is no failure.
  ExecProgress mention;
  mention.observe(json::parse(R"({"type":"item.completed","item":{"type":"command_execution","aggregated_output":"see codex-linux-sandbox --help\n"}})"));
  CHECK(mention.sandbox_failure().empty());
}

namespace {
std::size_t open_fds(const std::string& containing = "") {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec).string();
    if (containing.empty() || target.find(containing) != std::string::npos) ++n;
  }
  return n;
}
}  // namespace

TEST_CASE("workers: each finished worker's files are closed: 50 workers leave the fd count where it was") {
  PoolFixture f(8);
  const std::string agents = (f.task->dir() / "agents").string() + "/";
  // The disk thread closes a worker's two files once their last records are written, and the loop
  // releases each finished run (its pipes, its pidfd) from a posted handler: poll both, with a deadline.
  auto wait_for_agent_files_closed = [&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      if (f.io.stopped()) f.io.restart();
      f.io.poll();
      if (open_fds(agents) == 0 || std::chrono::steady_clock::now() > deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  // One worker first: the loop's own descriptors (epoll, timers) are created on first use and stay.
  f.pool->spawn("warmup", f.spec("answer"));
  f.join_all();
  wait_for_agent_files_closed();
  std::size_t before = open_fds();
  for (int i = 0; i < 50; ++i) f.pool->spawn("", f.spec(i % 2 ? "answer" : "fail please"));
  json report = f.join_all(std::chrono::seconds(120));  // 50 processes on a busy 2-core machine
  CHECK(report["workers"].size() == 51);
  wait_for_agent_files_closed();
  CHECK(open_fds(agents) == 0);
  CHECK(open_fds() == before);

  // A resumed worker reopens its files and appends, its seq going on.
  f.pool->resume("warmup", "again");
  f.join_all();
  wait_for_agent_files_closed();
  CHECK(open_fds() == before);
  f.flush();
  auto records = coco::taskdir::read_jsonl(f.task->dir() / "agents" / "warmup" / "runtime" / "events.jsonl");
  REQUIRE(records.size() >= 8);
  for (std::size_t i = 0; i < records.size(); ++i) CHECK(records[i]["seq"] == i + 1);
}
