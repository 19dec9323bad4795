"""Exec workers (`codex exec --json`) from the editor (coco/exec/* on `coco bridge`) and from a shell
(`coco exec`), against the real pinned codex and `coco mock-model`. Waits on notifications and
files with deadlines; no sleeps, no timing asserts (orderings come from recorded timestamps).

Each worker costs ~0.5 s of CPU, so every test runs as few as it can.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import COCO_BIN, CodexTestCase, codex_path, read_jsonl, wait_until

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "n": {"type": "integer"}},
    "required": ["answer", "n"],
    "additionalProperties": False,
}

# One script for the whole file: steps are picked by a unique word in each prompt, so parallel workers
# never take each other's answers; follow-ups after a command are a repeating step.
SCRIPT = """
steps:
  - when: "alpha"
    message: '{"answer":"A","n":1}'
  - when: "bravo"
    message: '{"answer":"B","n":2}'
  - when: "charlie"
    message: '{"answer":"C","n":3}'
  - when: "delta"
    message: '{"answer":"D","n":4}'
  - when: "doomed"
    fail: "scripted failure"
  - when: "fine"
    message: "all fine here"
  - when: "lima"
    message: "second answer, after resuming"
  - when: "kilo"
    message: "first answer from kilo"
  - when: "slowpoke"
    message: "much too late"
    delay_ms: 30000
    repeat: true
  - when: "write echo"
    exec: "echo echo-was-here > echo.txt"
    call_id: call_echo
  - when: "write foxtrot"
    exec: "echo foxtrot-was-here > foxtrot.txt"
    call_id: call_foxtrot
  - when: "Process exited with code 0"
    message: "the file is written"
    repeat: true
  - when: "sandbox probe"
    exec: "echo sandboxed-ok"
    call_id: call_probe
  - when: "sandbox probe"
    message: "probe finished"
    repeat: true
  - when: "writer"
    message: "done writing"
    repeat: true
  - when: "reader"
    message: "done reading"
    repeat: true
"""


def events_of(task_dir, agent_id=None, prefix="agent."):
    out = []
    for e in read_jsonl(Path(task_dir) / "events.jsonl"):
        if e.get("type", "").startswith(prefix) and (agent_id is None or e.get("agentId") == agent_id):
            out.append(e)
    return out


class ExecWorkersTestCase(CodexTestCase):
    script_text = SCRIPT

    def env(self):
        env = dict(os.environ)
        env["CODEX_HOME"] = str(self.codex_home)
        env["COCO_HOME"] = str(self.coco_home)
        return env

    def coco_exec(self, *args, cwd=None, task_root=None):
        task_root = Path(task_root or self.work / "cli-tasks")
        project = Path(cwd or self.work / "cli-project")
        project.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([COCO_BIN, "exec", "--codex", codex_path(), "--task-root", str(task_root),
                            "--cwd", str(project), *args],
                           capture_output=True, text=True, timeout=120, env=self.env())
        tasks = [d for d in task_root.iterdir() if d.is_dir()] if task_root.exists() else []
        return r, (tasks[0] if len(tasks) == 1 else None)

    def completed(self, bridge, agent_id, timeout=60):
        return bridge.notification("coco/exec/completed", timeout=timeout,
                                   where=lambda p: p.get("agentId") == agent_id)["params"]

    def ok(self, response):
        self.assertIn("result", response, response)
        return response["result"]


class TmpTaskRootTest(ExecWorkersTestCase):
    """codex refuses to set up its sandbox helper when CODEX_HOME is under the system temp dir, and then
    every sandboxed command fails without running while the turn still "completes". Workers keep their
    CODEX_HOME under $COCO_HOME whatever the task root, and a worker whose sandbox could not start is
    reported failed, never ok."""

    def tmp_dir(self):
        d = Path(tempfile.mkdtemp(prefix="coco-tmp-root-", dir="/tmp"))
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def probe(self, report_path):
        report = json.loads(report_path.read_text())
        self.assertEqual(len(report["workers"]), 1)
        return report, report["workers"][0]

    def command_item(self, worker):
        items = [e["msg"]["item"] for e in read_jsonl(Path(worker["dir"]) / "runtime" / "events.jsonl")
                 if e.get("msg", {}).get("type") == "item.completed"
                 and e["msg"].get("item", {}).get("type") == "command_execution"]
        self.assertEqual(len(items), 1)
        return items[0]

    def test_a_worker_under_a_tmp_task_root_runs_its_sandboxed_command(self):
        r, task = self.coco_exec("a sandbox probe", task_root=self.tmp_dir())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        report, worker = self.probe(task / "shared" / "reports" / "report.json")
        self.assertEqual(worker["status"], "completed")
        self.assertTrue(report["ok"])
        item = self.command_item(worker)
        self.assertEqual(item["exit_code"], 0, item)
        self.assertIn("sandboxed-ok", item["aggregated_output"])
        self.assertFalse(worker["codexHome"].startswith("/tmp/"), worker["codexHome"])
        self.assertTrue((Path(worker["dir"]) / "codex-home" / "config.toml").exists())  # linked from the task

    def test_a_worker_whose_sandbox_cannot_start_is_reported_failed(self):
        self.coco_home = self.tmp_dir()  # now CODEX_HOME lands under /tmp too: codex cannot sandbox
        r, task = self.coco_exec("a sandbox probe", task_root=self.tmp_dir())
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        report, worker = self.probe(task / "shared" / "reports" / "report.json")
        self.assertFalse(report["ok"])
        self.assertEqual(worker["status"], "failed")
        self.assertIn("could not start its sandbox", worker["reason"])


class ExecCliTest(ExecWorkersTestCase):
    def test_four_workers_in_parallel_with_a_schema(self):
        schema = self.work / "schema.json"
        schema.write_text(json.dumps(SCHEMA))
        r, task = self.coco_exec("--parallel", "4", "--schema", str(schema),
                                 "task alpha", "task bravo", "task charlie", "task delta")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("report: ", r.stdout)

        report = json.loads((task / "shared" / "reports" / "report.json").read_text())
        self.assertTrue(report["ok"])
        self.assertTrue(report["complete"])
        finals = {w["prompt"]: w["final"] for w in report["workers"]}
        self.assertEqual(finals, {"task alpha": {"answer": "A", "n": 1}, "task bravo": {"answer": "B", "n": 2},
                                  "task charlie": {"answer": "C", "n": 3}, "task delta": {"answer": "D", "n": 4}})
        for w in report["workers"]:
            self.assertEqual(w["status"], "completed")
            self.assertTrue(w["threadId"])
            self.assertGreater(w["usage"]["input_tokens"], 0)
            agent = task / "agents" / w["agentId"]
            self.assertEqual(json.loads((agent / "artifacts" / "schema.json").read_text()), SCHEMA)
            self.assertEqual(oct((agent / "artifacts" / "final.json").stat().st_mode & 0o777), "0o600")
            self.assertTrue((agent / "codex-home" / "config.toml").exists())
            runtime = read_jsonl(agent / "runtime" / "events.jsonl")
            self.assertIn("turn.completed", [rec["msg"]["type"] for rec in runtime if "msg" in rec])
        summary = (task / "shared" / "reports" / "summary.md").read_text()
        self.assertIn("4 workers: 4 completed.", summary)
        self.assertIn("4 completed", r.stdout)

        # All four ran at once: every start was recorded before the first end.
        events = events_of(task)
        starts = [e["seq"] for e in events if e["type"] == "agent.started"]
        ends = [e["seq"] for e in events if e["type"] == "agent.completed"]
        self.assertEqual((len(starts), len(ends)), (4, 4))
        self.assertLess(max(starts), min(ends))
        # task.yaml lists every worker with its status.
        task_yaml = (task / "task.yaml").read_text()
        for w in report["workers"]:
            self.assertIn(w["agentId"], task_yaml)
        self.assertIn("status: completed", task_yaml)

    def test_exit_code_is_nonzero_when_one_worker_fails(self):
        r, task = self.coco_exec("--parallel", "2", "this is doomed", "this is fine")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        report = json.loads((task / "shared" / "reports" / "report.json").read_text())
        by_prompt = {w["prompt"]: w for w in report["workers"]}
        self.assertEqual(by_prompt["this is fine"]["status"], "completed")
        self.assertEqual(by_prompt["this is fine"]["final"], "all fine here")
        doomed = by_prompt["this is doomed"]
        self.assertEqual(doomed["status"], "failed")
        self.assertIn("scripted failure", doomed["reason"])
        self.assertFalse(report["ok"])
        self.assertIn("1 failed", r.stdout)
        self.assertIn("scripted failure", r.stdout)
        failed = events_of(task, doomed["agentId"], "agent.failed")
        self.assertEqual(len(failed), 1)
        self.assertEqual(failed[0]["exitCode"], 1)

    def test_usage_errors_exit_2_before_anything_runs(self):
        r, task = self.coco_exec()
        self.assertEqual(r.returncode, 2)
        self.assertIn("at least one prompt", r.stderr)
        self.assertIsNone(task)
        r, task = self.coco_exec("--isolation", "worktree", "x")  # the project is not a git repository
        self.assertEqual(r.returncode, 2)
        self.assertIn("git repository", r.stderr)
        self.assertIsNone(task)


class ExecBridgeTest(ExecWorkersTestCase):
    def test_spawn_streams_events_completes_joins_and_resumes(self):
        b = self.bridge()
        spawned = self.ok(b.call("coco/exec/spawn", {"prompt": "question kilo", "name": "k1"}))
        self.assertEqual(spawned["agentId"], "k1")
        self.assertTrue(Path(spawned["dir"]).is_dir())

        done = self.completed(b, "k1")
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["final"], "first answer from kilo")
        self.assertTrue(done["threadId"])
        self.assertGreater(done["usage"]["input_tokens"], 0)
        self.assertIsInstance(done["durationMs"], int)
        streamed = [m["params"]["event"]["type"] for m in b.seen
                    if m.get("method") == "coco/exec/event" and m["params"]["agentId"] == "k1"]
        self.assertEqual(streamed[0], "thread.started")
        self.assertIn("turn.completed", streamed)

        listed = self.ok(b.call("coco/exec/list"))["workers"]
        self.assertEqual([(w["agentId"], w["status"]) for w in listed], [("k1", "completed")])

        report = self.ok(b.call("coco/task/join", {"agentIds": ["k1"], "timeoutS": 30}))
        self.assertTrue(report["ok"])
        self.assertEqual(report["workers"][0]["final"], "first answer from kilo")
        self.assertTrue(Path(report["reportPath"]).exists())
        self.assertTrue(Path(report["summaryPath"]).exists())

        # Resume the finished worker's thread in its own CODEX_HOME.
        self.ok(b.call("coco/exec/resume", {"agentId": "k1", "prompt": "follow up lima"}))
        again = b.wait_for(lambda m: m.get("method") == "coco/exec/completed" and m["params"]["agentId"] == "k1"
                           and m["params"]["run"] == 2, what="the resumed run's end")["params"]
        self.assertEqual(again["status"], "completed", again)
        self.assertEqual(again["final"], "second answer, after resuming")
        self.assertEqual(again["threadId"], done["threadId"])

        # Bad input is an error answer, never a worker.
        for method, params in [("coco/exec/spawn", {"prompt": "x", "name": "../escape"}),
                               ("coco/exec/spawn", {"prompt": "x", "name": "k1"}),
                               ("coco/exec/spawn", {"prompt": "x", "config": {"bad key": 1}}),
                               ("coco/exec/spawn", {"prompt": "x", "isolation": "worktree"}),  # not a git repo
                               ("coco/exec/spawn", {"name": "noprompt"}),
                               ("coco/exec/resume", {"agentId": "nobody", "prompt": "x"}),
                               ("coco/exec/cancel", {}),
                               ("coco/task/join", {"agentIds": ["nobody"]})]:
            r = b.call(method, params)
            self.assertEqual(r.get("error", {}).get("code"), -32602, (method, params, r))

        self.assertEqual(b.close(), 0)
        task = b.task_dir()
        types = [e["type"] for e in events_of(task, "k1")]
        self.assertEqual(types, ["agent.spawned", "agent.started", "agent.completed",
                                 "agent.resumed", "agent.started", "agent.completed"])
        self.assertIn("k1", (task / "task.yaml").read_text())

    def test_cancel_timeout_and_shutdown(self):
        b = self.bridge()
        self.ok(b.call("coco/exec/spawn", {"prompt": "slowpoke one", "name": "c1"}))
        self.ok(b.call("coco/exec/spawn", {"prompt": "slowpoke two", "name": "t1", "timeoutS": 1}))
        # c1 is waiting on the model: cancel it there.
        b.notification("coco/exec/event", where=lambda p: p["agentId"] == "c1" and p["event"].get("type") == "turn.started")
        cancelled = self.ok(b.call("coco/exec/cancel", {"agentId": "c1"}))
        self.assertTrue(cancelled["cancelled"])
        c1 = self.completed(b, "c1")
        self.assertEqual(c1["status"], "cancelled")
        t1 = self.completed(b, "t1")
        self.assertEqual(t1["status"], "timedOut")
        self.assertIn("timeout", t1["reason"])

        # A worker still running when the editor leaves is recorded as cancelled, and its process is gone.
        self.ok(b.call("coco/exec/spawn", {"prompt": "slowpoke three", "name": "s1"}))
        b.notification("coco/exec/event", where=lambda p: p["agentId"] == "s1" and p["event"].get("type") == "turn.started")
        self.assertEqual(b.close(), 0)
        task = b.task_dir()
        s1 = events_of(task, "s1")
        self.assertEqual([e["type"] for e in s1], ["agent.spawned", "agent.started", "agent.cancelled"])
        self.assertIn("editor went away", s1[-1]["reason"])
        pid = s1[1]["pid"]
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2],
                   what=f"worker process {pid} to be gone")
        task_yaml = (task / "task.yaml").read_text()
        for agent, status in [("c1", "cancelled"), ("t1", "timedOut"), ("s1", "cancelled")]:
            self.assertRegex(task_yaml, rf"id: {agent}\s+kind: exec\s+status: {status}")
        self.assertEqual(events_of(task, "t1", "agent.timedOut")[0]["agentId"], "t1")

    def test_single_writer_rule_from_recorded_timestamps(self):
        config = self.work / "coco.yaml"
        config.write_text("workers:\n  max_parallel: 3\n")
        b = self.bridge(extra_args=["--config", str(config)])
        for name, prompt, sandbox in [("w1", "first writer", "workspace-write"),
                                      ("w2", "second writer", "workspace-write"),
                                      ("r1", "a reader", "read-only")]:
            self.ok(b.call("coco/exec/spawn", {"prompt": prompt, "name": name, "sandbox": sandbox}))
        report = self.ok(b.call("coco/task/join", {}))
        self.assertTrue(report["ok"], report)
        self.assertEqual(b.close(), 0)

        events = events_of(b.task_dir())
        span = {}
        for e in events:
            if e["type"] == "agent.started":
                span.setdefault(e["agentId"], [None, None])[0] = e["ts"]
            elif e["type"] == "agent.completed":
                span[e["agentId"]][1] = e["ts"]
        first, second = sorted([span["w1"], span["w2"]])
        self.assertLessEqual(first[1], second[0], f"writers overlapped: {span}")
        self.assertIsNotNone(span["r1"][1])  # the reader ran (that it runs alongside: tests/unit/test_workers.cpp)


class ExecWorktreeTest(ExecWorkersTestCase):
    def git(self, *args, cwd):
        return subprocess.run(["git", "-c", "user.name=coco", "-c", "user.email=coco@example.invalid", *args],
                              cwd=cwd, check=True, capture_output=True, text=True).stdout

    def test_each_worker_gets_its_own_worktree_and_branch(self):
        repo = self.work / "repo"
        repo.mkdir()
        self.git("init", "-q", "-b", "main", cwd=repo)
        (repo / "README").write_text("the main tree\n")
        self.git("add", "README", cwd=repo)
        self.git("commit", "-q", "-m", "init", cwd=repo)

        b = self.bridge()
        for name, word in [("we", "echo"), ("wf", "foxtrot")]:
            self.ok(b.call("coco/exec/spawn", {"prompt": f"please write {word} now", "name": name, "cwd": str(repo),
                                               "isolation": "worktree", "sandbox": "workspace-write"}))
        report = self.ok(b.call("coco/task/join", {"timeoutS": 90}))
        self.assertTrue(report["ok"], report)
        task_id = report["taskId"]

        branches = self.git("branch", "--list", "coco/*", "--format=%(refname:short)", cwd=repo).split()
        self.assertEqual(sorted(branches), [f"coco/{task_id}/we", f"coco/{task_id}/wf"])
        for w in report["workers"]:
            word = "echo" if w["agentId"] == "we" else "foxtrot"
            self.assertEqual(w["branch"], f"coco/{task_id}/{w['agentId']}")
            worktree = Path(w["worktree"])
            self.assertEqual((worktree / f"{word}.txt").read_text(), f"{word}-was-here\n")
            self.assertTrue((worktree / "README").exists())
            other = "foxtrot" if word == "echo" else "echo"
            self.assertFalse((worktree / f"{other}.txt").exists())
        # The main tree is untouched.
        self.assertEqual(self.git("status", "--porcelain", cwd=repo), "")
        self.assertEqual(sorted(p.name for p in repo.iterdir()), [".git", "README"])
        summary = Path(report["summaryPath"]).read_text()
        self.assertIn(f"coco/{task_id}/we", summary)
        self.assertEqual(b.close(), 0)


if __name__ == "__main__":
    unittest.main()
