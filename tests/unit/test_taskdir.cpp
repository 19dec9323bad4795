// Task directory writer and reader: layout, permissions, line formats, crash tolerance, the bounded
// queue, interrupted-task inference and the transcript.

#include "taskdir/disk_queue.h"
#include "taskdir/redact.h"
#include "taskdir/task_reader.h"
#include "taskdir/task_writer.h"

#include "test_support.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace coco::taskdir;
using nlohmann::json;
using coco::test::mode_of;
using coco::test::read_text;
using coco::test::write_text;

namespace {

// Sets the umask for the scope, so tests prove that modes are set explicitly.
struct ScopedUmask {
  mode_t old;
  explicit ScopedUmask(mode_t m) : old(::umask(m)) {}
  ~ScopedUmask() { ::umask(old); }
};

std::vector<std::string> types_of(const std::vector<json>& events) {
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e.value("type", ""));
  return types;
}

// A pid that certainly belonged to a process that is gone now.
long dead_pid() {
  std::fflush(nullptr);  // the child must not print the parent's buffered output again
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return child;
}

std::string task_yaml(const std::string& id, const std::string& status, long pid,
                      unsigned long long ticks = 0) {
  return "id: " + id + "\ntitle: \"hand written\"\nstatus: " + status +
         "\ncreated: 2025-03-01T10:00:00Z\nupdated: 2025-03-01T10:02:05Z\ncwd: "
         "\"/home/me/proj\"\nbridge_pid: " +
         std::to_string(pid) + "\nbridge_start_ticks: " + std::to_string(ticks) +
         "\ncodex_version: \"0.169.0\"\nagents:\n  - id: app-server\n    kind: app-server\n    status: " +
         status + "\n";
}

}  // namespace

TEST_CASE("taskdir: names and ids") {
  CHECK(is_valid_name("app-server"));
  CHECK(is_valid_name("w1_build"));
  CHECK(is_valid_name(std::string(64, 'a')));
  CHECK_FALSE(is_valid_name(std::string(65, 'a')));
  CHECK_FALSE(is_valid_name(""));
  CHECK_FALSE(is_valid_name("A"));
  CHECK_FALSE(is_valid_name("../x"));
  CHECK_FALSE(is_valid_name("a/b"));
  CHECK_FALSE(is_valid_name("."));
  CHECK_FALSE(is_valid_name("-a"));
  CHECK_FALSE(is_valid_name("a b"));

  auto t = std::chrono::system_clock::from_time_t(1740823201);  // 2025-03-01T10:00:01Z
  std::string id = make_task_id(t);
  CHECK(id.substr(0, 17) == "20250301T100001Z-");
  CHECK(is_valid_task_id(id));
  CHECK_FALSE(is_valid_task_id("20250301T100001Z-ABCDEF"));
  CHECK_FALSE(is_valid_task_id("../20250301T10000"));
  CHECK(make_task_id(t + std::chrono::seconds(1)) > id);  // names sort by time
}

TEST_CASE("taskdir: titles are one short line") {
  CHECK(shorten_title("  fix\n the   bug\t") == "fix the bug");
  std::string long_text(200, 'x');
  std::string t = shorten_title(long_text);
  CHECK(t.size() == 79 + std::string("\u2026").size());
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\u00e9";
  std::string cut = shorten_title(accents);
  CHECK(cut.size() == 79 * 2 + 3);  // cut between code points, never inside one
}

TEST_CASE("taskdir: writer creates the layout with private modes whatever the umask") {
  coco::test::TempDir tmp("coco-taskdir-test");
  ScopedUmask open_umask(0);  // 0666/0777 would show through if modes were left to the umask
  fs::path root = tmp.path / "state" / "tasks";
  auto w = TaskWriter::create(root, TaskMeta{"/work/proj", "0.169.0", ""});
  fs::path dir = w->dir();
  CHECK(dir.parent_path() == root);
  CHECK(is_valid_task_id(w->id()));
  AgentLog log = w->add_agent("app-server", "app-server");
  CHECK(log.dir() == dir / "agents" / "app-server" / "runtime");
  w->finish("completed");

  CHECK(mode_of(tmp.path / "state") == 0700);
  CHECK(mode_of(root) == 0700);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / "agents") == 0700);
  CHECK(mode_of(dir / "agents" / "app-server") == 0700);
  CHECK(mode_of(dir / "agents" / "app-server" / "runtime") == 0700);
  CHECK(mode_of(dir / "task.yaml") == 0600);
  CHECK(mode_of(dir / "events.jsonl") == 0600);
  CHECK(mode_of(dir / "agents" / "app-server" / "runtime" / "events.jsonl") == 0600);
  CHECK(mode_of(dir / "agents" / "app-server" / "runtime" / "stderr.log") == 0600);
  CHECK_FALSE(fs::exists(dir / "task.yaml.tmp"));
  CHECK_THROWS_AS(TaskWriter::create(tmp.path / "state" / "tasks", TaskMeta{})->add_agent("../x", "exec"),
                  std::invalid_argument);
}

TEST_CASE("taskdir: events have increasing seq and the documented shape") {
  coco::test::TempDir tmp("coco-taskdir-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{"/p", "", ""});
  w->event("client.connected", {{"client", "nvim"}});
  w->event("upstream.started", {{"pid", 42}, {"seq", 999}, {"type", "overridden?"}});
  w->event("gate.blocked");
  w->sync();
  w->finish("failed");
  w->event("after.finish");  // ignored

  std::size_t bad = 0;
  auto events = read_jsonl(w->dir() / "events.jsonl", &bad);
  CHECK(bad == 0);
  REQUIRE(events.size() == 5);
  CHECK(types_of(events) == std::vector<std::string>{"task.created", "client.connected", "upstream.started",
                                                     "gate.blocked", "task.completed"});
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i]["seq"] == i + 1);
    std::string ts = events[i]["ts"];
    CHECK(ts.size() == 24);  // 2025-03-01T10:00:01.123Z
    CHECK(ts[10] == 'T');
    CHECK(ts[19] == '.');
    CHECK(ts.back() == 'Z');
  }
  CHECK(events[0]["id"] == w->id());
  CHECK(events[0]["cwd"] == "/p");
  CHECK(events[1]["client"] == "nvim");
  CHECK(events[2]["pid"] == 42);
  CHECK(events[2]["seq"] == 3);  // the record's own fields win
  CHECK(events[4]["status"] == "failed");
  CHECK(read_text(w->dir() / "events.jsonl").find("overridden?") == std::string::npos);
}

TEST_CASE("taskdir: agent messages are embedded verbatim, invalid input and stderr are kept") {
  coco::test::TempDir tmp("coco-taskdir-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{});
  AgentLog log = w->add_agent("app-server", "app-server");
  const std::string raw = R"({"id":1,"method":"turn/start","params":{"threadId":"t","x":1.50,"y":"\u00e9"}})";
  log.message("editor->codex", raw);
  log.invalid("codex->editor", "not JSON", "{oops \xff");
  log.message("codex->editor", "{\n  \"id\": 1,\n  \"result\": {}\n}");  // pretty-printed: still one line
  log.stderr_bytes("warning: one\nwarn");
  log.stderr_bytes("ing: two\nno newline at the end");
  w->finish("completed");

  fs::path runtime = w->dir() / "agents" / "app-server" / "runtime";
  std::string text = read_text(runtime / "events.jsonl");
  CHECK(text.find("\"dir\":\"editor->codex\",\"msg\":" + raw + "}\n") != std::string::npos);
  auto lines = read_jsonl(runtime / "events.jsonl");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["seq"] == 1);
  CHECK(lines[0]["msg"]["params"]["x"] == 1.5);
  CHECK(lines[1]["seq"] == 2);
  CHECK(lines[1]["dir"] == "codex->editor");
  CHECK(lines[1]["error"] == "not JSON");
  CHECK(lines[1]["raw"].get<std::string>().rfind("{oops ", 0) == 0);
  CHECK_FALSE(lines[1].contains("msg"));
  CHECK(lines[2]["msg"]["id"] == 1);
  CHECK(read_text(runtime / "stderr.log") == "warning: one\nwarning: two\nno newline at the end");
}

TEST_CASE("taskdir: many messages keep their order") {
  coco::test::TempDir tmp("coco-taskdir-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{});
  AgentLog log = w->add_agent("app-server", "app-server");
  constexpr int kCount = 20000;
  // Lines over 100 KB happen (item/completed carries whole command outputs).
  const std::string big =
      R"({"method":"item/completed","params":{"n":-1,"out":")" + std::string(300000, 'x') + "\"}}";
  log.message("codex->editor", big);
  for (int i = 0; i < kCount; ++i) {
    log.message(i % 2 ? "codex->editor" : "editor->codex",
                R"({"method":"item/agentMessage/delta","params":{"n":)" + std::to_string(i) + "}}");
  }
  w->finish("completed");
  auto lines = read_jsonl(log.dir() / "events.jsonl");
  REQUIRE(lines.size() == kCount + 1);
  CHECK(lines[0]["msg"]["params"]["out"].get<std::string>().size() == 300000);
  for (int i = 1; i <= kCount; ++i) {
    REQUIRE(lines[i]["seq"] == i + 1);
    REQUIRE(lines[i]["msg"]["params"]["n"] == i - 1);
  }
  CHECK(w->stats().dropped_lines == 0);
}

TEST_CASE("taskdir: a producer that pauses while the recorder is congested loses nothing") {
  coco::test::TempDir tmp("coco-taskdir-test");
  WriterOptions options;
  options.pause_above_bytes = 64 * 1024;
  options.resume_below_bytes = 16 * 1024;
  options.max_queued_bytes = 256 * 1024;  // a producer that ignored the congestion would meet this
  auto w = TaskWriter::create(tmp.path, TaskMeta{}, options);
  AgentLog log = w->add_agent("app-server", "app-server");
  std::mutex m;
  std::condition_variable cv;
  int relieved = 0;
  w->on_recorder_relieved([&] {
    std::lock_guard lock(m);
    ++relieved;
    cv.notify_all();
  });
  // Like the bridge: push until congested, then wait for the disk thread to say it caught up.
  const std::string body = R"({"method":"item/agentMessage/delta","params":{"delta":")" + std::string(1000, 'x');
  int pushed = 0, pauses = 0, first_pause_at = 0;
  while (pauses < 5 && pushed < 100000) {
    log.message("codex->editor", body + std::to_string(pushed++) + "\"}}");
    if (!w->recorder_congested()) continue;
    if (++pauses == 1) first_pause_at = pushed;
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return relieved >= pauses; }));
    CHECK_FALSE(w->recorder_congested());
  }
  w->on_recorder_relieved(nullptr);
  REQUIRE(pauses == 5);
  // Records of ~1.1 KB: congestion starts near the 64 KiB mark (the disk thread may already have
  // written some), never before it.
  CHECK(first_pause_at >= 55);
  w->finish("completed");
  auto lines = read_jsonl(log.dir() / "events.jsonl");
  REQUIRE(lines.size() == static_cast<std::size_t>(pushed));
  for (int i = 0; i < pushed; ++i) REQUIRE(lines[i]["seq"] == i + 1);
  CHECK(w->stats().dropped_lines == 0);
}

TEST_CASE("taskdir: several producer threads: seq follows file order") {
  coco::test::TempDir tmp("coco-taskdir-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{});
  AgentLog log = w->add_agent("app-server", "app-server");
  auto produce = [&log](int who) {
    for (int i = 0; i < 5000; ++i) log.message("codex->editor", "{\"who\":" + std::to_string(who) + "}");
  };
  std::thread a(produce, 1), b(produce, 2);
  a.join();
  b.join();
  w->finish("completed");
  auto lines = read_jsonl(log.dir() / "events.jsonl");
  REQUIRE(lines.size() == 10000);
  for (std::size_t i = 0; i < lines.size(); ++i) REQUIRE(lines[i]["seq"] == i + 1);
}

TEST_CASE("taskdir: an agent added again keeps its log and seq") {
  coco::test::TempDir tmp("coco-taskdir-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{});
  AgentLog first = w->add_agent("app-server", "app-server");
  first.message("editor->codex", "{}");
  w->set_agent_status("app-server", "failed");
  AgentLog again = w->add_agent("app-server", "app-server");
  again.message("editor->codex", "[]");
  w->finish("completed");
  auto lines = read_jsonl(first.dir() / "events.jsonl");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1]["seq"] == 2);
  auto task = load_task(w->dir());
  REQUIRE(task);
  REQUIRE(task->agents.size() == 1);
  CHECK(task->agents[0].status == "completed");
}

TEST_CASE("taskdir: task.yaml round-trips through load_task") {
  coco::test::TempDir tmp("coco-taskdir-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{"/home/me/proj", "", ""});
  auto live = load_task(w->dir());  // the first task.yaml is written before create() returns
  REQUIRE(live);
  CHECK(live->status == "running");  // this process is the bridge and it is alive
  CHECK(live->bridge_pid == ::getpid());

  w->set_title("Fix the flaky test\nin parser.cpp, please: yes");
  w->set_codex_version("0.169.0");
  w->add_agent("app-server", "app-server");
  w->add_agent("w1", "exec");
  w->set_agent_status("w1", "failed");
  w->finish("completed");

  auto task = load_task(w->dir());
  REQUIRE(task);
  CHECK(task->id == w->id());
  CHECK(task->dir == w->dir());
  CHECK(task->title == "Fix the flaky test in parser.cpp, please: yes");
  CHECK(task->status == "completed");
  CHECK(task->recorded_status == "completed");
  CHECK(task->cwd == "/home/me/proj");
  CHECK(task->codex_version == "0.169.0");
  CHECK(task->bridge_pid == ::getpid());
  CHECK(task->created.size() == 20);
  CHECK(task->updated >= task->created);
  REQUIRE(task->agents.size() == 2);
  CHECK(task->agents[0].id == "app-server");
  CHECK(task->agents[0].kind == "app-server");
  CHECK(task->agents[0].status == "completed");  // still running at finish: takes the task's status
  CHECK(task->agents[1].id == "w1");
  CHECK(task->agents[1].kind == "exec");
  CHECK(task->agents[1].status == "failed");
}

TEST_CASE("taskdir: a torn last line is skipped, the rest is read") {
  coco::test::TempDir tmp("coco-taskdir-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{});
  w->event("client.connected");
  w->finish("completed");
  {
    std::ofstream out(w->dir() / "events.jsonl", std::ios::app | std::ios::binary);
    out << R"({"seq":4,"ts":"2025-03-01T10:00)";  // a crash in the middle of a write
  }
  std::size_t bad = 0;
  auto events = read_jsonl(w->dir() / "events.jsonl", &bad);
  CHECK(events.size() == 3);
  CHECK(bad == 1);
  CHECK(render_transcript(w->dir()).find("1 unreadable lines skipped") != std::string::npos);
  CHECK(read_jsonl(tmp.path / "missing.jsonl").empty());
}

TEST_CASE("taskdir: a running task whose bridge is gone is reported interrupted") {
  coco::test::TempDir tmp("coco-taskdir-test");
  fs::path dir = tmp.path / "20250301T100000Z-abc123";
  write_text(dir / "task.yaml", task_yaml("20250301T100000Z-abc123", "running", dead_pid()));
  auto task = load_task(dir);
  REQUIRE(task);
  CHECK(task->status == "interrupted");
  CHECK(task->recorded_status == "running");
  CHECK(read_text(dir / "task.yaml").find("status: running") != std::string::npos);  // file unchanged

  // The pid is alive but belongs to another process than the one that wrote the task (pid reuse).
  write_text(dir / "task.yaml", task_yaml("20250301T100000Z-abc123", "running", ::getpid(), 1));
  CHECK(load_task(dir)->status == "interrupted");

  // Finished tasks are what they say, whatever the pid.
  write_text(dir / "task.yaml", task_yaml("20250301T100000Z-abc123", "completed", dead_pid()));
  CHECK(load_task(dir)->status == "completed");

  write_text(dir / "task.yaml", "not: [a task");
  CHECK_FALSE(load_task(dir));
  CHECK_FALSE(load_task(tmp.path / "nothing-here"));
}

TEST_CASE("taskdir: a full queue drops records and says so in events.jsonl") {
  coco::test::TempDir tmp("coco-taskdir-test");
  WriterOptions options;
  options.max_queued_bytes = 0;  // the queue is always full: every message is dropped
  auto w = TaskWriter::create(tmp.path, TaskMeta{}, options);
  AgentLog log = w->add_agent("app-server", "app-server");
  for (int i = 0; i < 10; ++i) log.message("codex->editor", R"({"method":"item/agentMessage/delta"})");
  log.stderr_bytes("lost\n");
  w->event("client.disconnected");  // events are never dropped; the report comes right before
  w->finish("completed");

  CHECK(read_jsonl(log.dir() / "events.jsonl").empty());
  CHECK(read_text(log.dir() / "stderr.log").empty());
  auto events = read_jsonl(w->dir() / "events.jsonl");
  CHECK(types_of(events) == std::vector<std::string>{"task.created", "recording.dropped",
                                                     "client.disconnected", "task.completed"});
  CHECK(events[1]["lines"] == 10);
  CHECK(events[1]["bytes"].get<std::uint64_t>() > 10 * 30);
  CHECK(w->stats().dropped_lines == 10);
  CHECK(render_transcript(w->dir()).find("recording dropped 10 lines") != std::string::npos);
}

TEST_CASE("taskdir: secrets are redacted on disk") {
  coco::test::TempDir tmp("coco-taskdir-test");
  auto w = TaskWriter::create(tmp.path, TaskMeta{});
  AgentLog log = w->add_agent("app-server", "app-server");
  const std::string key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123";
  log.message("editor->codex",
              R"({"id":1,"method":"account/login/start","params":{"type":"apiKey","apiKey":")" + key +
                  R"("}})");
  log.message("editor->codex",
              R"({"id":2,"method":"turn/start","params":{"input":[{"type":"text","text":"use )" + key +
                  R"("}]}})");
  log.invalid("editor->codex", "bad", R"({"password":"hunter2hunter2")");
  log.stderr_bytes("curl -H 'Authorization: Bearer ");
  log.stderr_bytes("Zm9vYmFyYmF6cXV4MTIz'\n");  // split across chunks: redaction sees whole lines
  w->event("upstream.exited", {{"env", "OPENAI_API_KEY=" + key}});
  w->set_title("please use " + key);
  w->finish("completed");

  std::string all = read_text(log.dir() / "events.jsonl") + read_text(log.dir() / "stderr.log") +
                    read_text(w->dir() / "events.jsonl") + read_text(w->dir() / "task.yaml");
  CHECK(all.find("abcdefghijklmnopqrstuvwxyz") == std::string::npos);
  CHECK(all.find("hunter2") == std::string::npos);
  CHECK(all.find("Zm9vYmFy") == std::string::npos);
  CHECK(all.find("[REDACTED]") != std::string::npos);
  auto lines = read_jsonl(log.dir() / "events.jsonl");
  REQUIRE(lines.size() == 3);  // still valid JSON after redaction
  CHECK(lines[0]["msg"]["params"]["apiKey"] == "[REDACTED]");
  CHECK(lines[0]["msg"]["params"]["type"] == "apiKey");
  CHECK(read_text(log.dir() / "stderr.log") == "curl -H 'Authorization: Bearer [REDACTED]'\n");
}

TEST_CASE("taskdir: resolve_task and list_tasks") {
  coco::test::TempDir tmp("coco-taskdir-test");
  const std::string a = "20250301T100000Z-aaaaaa", b = "20250301T110000Z-bbbbbb",
                    c = "20250302T090000Z-cccccc";
  for (const auto& id : {a, b, c}) write_text(tmp.path / id / "task.yaml", task_yaml(id, "completed", 1));
  fs::create_directories(tmp.path / "not-a-task");

  CHECK(resolve_task(tmp.path, a) == tmp.path / a);
  CHECK(resolve_task(tmp.path, "20250302") == tmp.path / c);  // unique prefix
  CHECK_FALSE(resolve_task(tmp.path, "20250301"));            // ambiguous
  CHECK(resolve_task(tmp.path, (tmp.path / b).string()) == tmp.path / b);
  CHECK_FALSE(resolve_task(tmp.path, "../x"));
  CHECK_FALSE(resolve_task(tmp.path, ""));
  CHECK_FALSE(resolve_task(tmp.path, "20250309T000000Z-000000"));

  auto tasks = list_tasks(tmp.path);
  REQUIRE(tasks.size() == 3);
  CHECK(tasks[0].id == c);  // newest first
  CHECK(tasks[2].id == a);

  auto now = std::chrono::system_clock::from_time_t(1740823200) + std::chrono::minutes(3);  // 10:03:00Z
  std::string table = render_task_list({tasks[2]}, now);
  CHECK(table.rfind("ID", 0) == 0);
  CHECK(table.find(a) != std::string::npos);
  CHECK(table.find("completed") != std::string::npos);
  CHECK(table.find(" 3m ") != std::string::npos);
  CHECK(table.find("hand written") != std::string::npos);
  CHECK(render_task_list({}) == "No tasks.\n");
}

TEST_CASE("taskdir: render_transcript rebuilds the conversation from the directory") {
  coco::test::TempDir tmp("coco-taskdir-test");
  fs::path dir = tmp.path / "20250301T100000Z-abc123";
  write_text(dir / "task.yaml", task_yaml("20250301T100000Z-abc123", "completed", 1) +
                                    "  - id: w1\n    kind: exec\n    status: completed\n");
  write_text(dir / "events.jsonl",
             R"({"seq":1,"ts":"2025-03-01T10:00:00.000Z","type":"task.created","id":"20250301T100000Z-abc123"}
{"seq":2,"ts":"2025-03-01T10:00:00.500Z","type":"upstream.started","pid":77}
{"seq":3,"ts":"2025-03-01T10:00:02.100Z","type":"gate.blocked","gateId":"g1","kind":"command","summary":"Run make test","options":["accept","decline"]}
{"seq":4,"ts":"2025-03-01T10:00:02.400Z","type":"gate.resolved","gateId":"g1","by":"editor","optionId":"accept","decision":{"decision":"accept"},"waitMs":300}
{"seq":5,"ts":"2025-03-01T10:00:05.600Z","type":"agent.spawned","agentId":"w1","prompt":"Write the docs"}
{"seq":6,"ts":"2025-03-01T10:00:05.700Z","type":"agent.completed","agentId":"w1","status":"completed","durationMs":2500}
{"seq":7,"ts":"2025-03-01T10:00:06.000Z","type":"upstream.exited","exitCode":1,"signal":null,"description":"exited with code 1","stderrTail":"panic: boom\nat main.rs:1\n","restarting":true}
{"seq":8,"ts":"2025-03-01T10:00:06.100Z","type":"upstream.restarted","pid":78,"restarts":1}
{"seq":9,"ts":"2025-03-01T10:00:06.200Z","type":"report.written","path":"/r.json","workers":1}
{"seq":10,"ts":"2025-03-01T10:02:05.000Z","type":"task.completed","status":"completed"}
)");
  write_text(
      dir / "agents" / "app-server" / "runtime" / "events.jsonl",
      R"({"seq":1,"ts":"2025-03-01T10:00:01.000Z","dir":"editor->codex","msg":{"jsonrpc":"2.0","id":3,"method":"turn/start","params":{"threadId":"th","input":[{"type":"text","text":"Make the tests pass"}]}}}
{"seq":2,"ts":"2025-03-01T10:00:01.100Z","dir":"codex->editor","msg":{"method":"turn/started","params":{"threadId":"th","turn":{"id":"tu1","items":[],"status":"inProgress"}}}}
{"seq":3,"ts":"2025-03-01T10:00:02.000Z","dir":"codex->editor","msg":{"id":0,"method":"item/commandExecution/requestApproval","params":{"threadId":"th","turnId":"tu1","itemId":"c1","startedAtMs":1,"command":"make test","reason":"run the tests"}}}
{"seq":4,"ts":"2025-03-01T10:00:02.500Z","dir":"editor->codex","msg":{"jsonrpc":"2.0","id":0,"result":{"decision":"accept"}}}
{"seq":5,"ts":"2025-03-01T10:00:03.000Z","dir":"codex->editor","msg":{"method":"item/completed","params":{"threadId":"th","turnId":"tu1","completedAtMs":1,"item":{"type":"commandExecution","id":"c1","command":"make test","commandActions":[],"cwd":"/p","status":"completed","exitCode":2,"durationMs":1200,"aggregatedOutput":"l1\nl2\nl3\nl4\nl5\nl6\nl7\n"}}}}
{"seq":6,"ts":"2025-03-01T10:00:04.000Z","dir":"codex->editor","msg":{"method":"item/completed","params":{"threadId":"th","turnId":"tu1","completedAtMs":1,"item":{"type":"fileChange","id":"f1","status":"completed","changes":[{"path":"src/a.cpp","kind":{"type":"update","move_path":null},"diff":"@@"},{"path":"new.txt","kind":{"type":"add"},"diff":"+x"}]}}}}
{"seq":7,"ts":"2025-03-01T10:00:05.000Z","dir":"codex->editor","msg":{"method":"item/completed","params":{"threadId":"th","turnId":"tu1","completedAtMs":1,"item":{"type":"agentMessage","id":"m1","text":"Fixed the off-by-one.\nAll green."}}}}
{"seq":8,"ts":"2025-03-01T10:00:05.400Z","dir":"codex->editor","msg":{"method":"turn/completed","params":{"threadId":"th","turn":{"id":"tu1","items":[],"status":"completed"}}}}
{"seq":9,"ts":"2025-03-01T10:00:07.000Z","dir":"editor->codex","msg":{"jsonrpc":"2.0","id":4,"method":"thread/list","params":{}}}
{"seq":10,"ts":"2025-03-01T10:00:07.100Z","dir":"bridge->editor","msg":{"jsonrpc":"2.0","id":4,"error":{"code":-32001,"message":"codex restarting"}}}
{"seq":11,"ts":"2025-03-01T10:00:08.000Z","dir":"codex->editor","msg":{"method":"error","params":{"threadId":"th","turnId":"tu2","willRetry":true,"error":{"message":"stream disconnected"}}}}
{"seq":12,"ts":"2025-03-01T10:00:09.000Z","dir":"codex->editor","error":"invalid JSON","raw":"{nope"}
)");
  // What `codex exec --output-last-message` leaves: the final text (JSON only with an output schema).
  write_text(dir / "agents" / "w1" / "artifacts" / "final.json", "Worker says done.\n");

  std::string t = render_transcript(dir);
  INFO(t);
  CHECK(t.find("Task 20250301T100000Z-abc123") != std::string::npos);
  CHECK(t.find("Title:    hand written") != std::string::npos);
  CHECK(t.find("Status:   completed") != std::string::npos);
  CHECK(t.find("Cwd:      /home/me/proj") != std::string::npos);
  CHECK(t.find("Duration: 2m05s") != std::string::npos);
  CHECK(t.find("[10:00:01] You:\n    Make the tests pass\n") != std::string::npos);
  CHECK(t.find("-- turn started") != std::string::npos);
  CHECK(t.find("? approval requested: $ make test") != std::string::npos);
  CHECK(t.find("-> accept") != std::string::npos);
  CHECK(t.find("$ make test   (exit 2, 1.2s)") != std::string::npos);
  CHECK(t.find("    l5\n") != std::string::npos);
  CHECK(t.find("l6") == std::string::npos);  // output is cut to a few lines
  CHECK(t.find("(2 more lines)") != std::string::npos);
  CHECK(t.find("update src/a.cpp") != std::string::npos);
  CHECK(t.find("add new.txt") != std::string::npos);
  CHECK(t.find("Codex:\n    Fixed the off-by-one.\n    All green.\n") != std::string::npos);
  CHECK(t.find("-- turn completed (4.3s)") != std::string::npos);  // from turn/started..turn/completed
  CHECK(t.find("! codex exited: exited with code 1 (restarting)\n    panic: boom\n    at main.rs:1\n") !=
        std::string::npos);
  CHECK(t.find("-- codex restarted (pid 78)") != std::string::npos);
  CHECK(t.find("? gate g1: Run make test [\"accept\",\"decline\"]") != std::string::npos);
  CHECK(t.find("-> gate g1: accept by editor, after 0.3s") != std::string::npos);
  CHECK(t.find("-- worker w1 spawned: Write the docs") != std::string::npos);
  CHECK(t.find("-- worker w1 completed (2.5s)") != std::string::npos);
  CHECK(t.find("-- report.written path=/r.json workers=1") != std::string::npos);
  CHECK(t.find("! error from thread/list: codex restarting (-32001)") != std::string::npos);
  CHECK(t.find("! error: stream disconnected (will retry)") != std::string::npos);
  CHECK(t.find("! invalid message (codex->editor): invalid JSON") != std::string::npos);
  CHECK(t.find("w1 (completed):\n    Worker says done.") != std::string::npos);
  // In time order: the prompt, then the command, then codex's answer, then codex exiting.
  CHECK(t.find("You:") < t.find("$ make test   (exit"));
  CHECK(t.find("$ make test   (exit") < t.find("Codex:\n"));
  CHECK(t.find("Codex:\n") < t.find("! codex exited"));
}

TEST_CASE("taskdir: a failing disk is counted and reported, never fatal") {
  if (!fs::exists("/dev/full")) return;  // every write there fails with ENOSPC
  coco::test::TempDir tmp("coco-taskdir-test");
  int events_fd =
      ::open((tmp.path / "events.jsonl").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int full_fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  REQUIRE(events_fd >= 0);
  REQUIRE(full_fd >= 0);
  auto queue = std::make_shared<DiskQueue>(tmp.path, events_fd, std::size_t{1} << 20);
  auto full = queue->adopt_fd(full_fd, "/dev/full", true);
  queue->start();
  std::uint64_t seq = 0;
  for (int i = 0; i < 3; ++i) queue->push_record(full, &seq, "\"ts\":\"x\",\"msg\":{}}\n");
  queue->finish();  // returns: a full disk never blocks
  CHECK(queue->stats().write_errors >= 1);
  auto events = read_jsonl(tmp.path / "events.jsonl");
  REQUIRE(events.size() >= 1);
  CHECK(events.back()["type"] == "recording.write_failed");
  CHECK(events.back()["errno"] == ENOSPC);
  CHECK(events.back()["lines"] == 3);
}
