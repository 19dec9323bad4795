"""What a peer cannot do to the bridge (issue 13): grow its memory by not reading, make an editor wait
forever by not answering, and end a task as `completed` when the bridge failed.

codex here is tests/integration/fake_codex.py, a scripted stand-in: the real codex cannot be told to
swallow a request. The figures (RSS) are measured by `bench/run --only bounds` (docs/reliability.md);
these tests assert behaviour, never timings or sizes.
"""
import json
import sys
import unittest
from pathlib import Path

from harness import COCO_BIN, SOURCE_DIR, CodexTestCase, read_jsonl, wait_until

sys.path.insert(0, str(SOURCE_DIR / "bench"))
from benchlib import bounds  # noqa: E402  the same measurement the benchmark makes

FAKE_CODEX = str(Path(__file__).resolve().parent / "fake_codex.py")


def task_yaml(task):
    """The top-level scalars of task.yaml (enough for status and reason)."""
    out = {}
    for line in (task / "task.yaml").read_text().splitlines():
        if line and not line[0].isspace() and ":" in line:
            k, _, v = line.partition(":")
            out[k.strip()] = v.strip().strip('"')
    return out


class UnreadAnswersTest(CodexTestCase):
    script = "hello.yaml"

    def test_an_editor_that_never_reads_is_no_longer_read(self):
        # 100,000 coco/status requests, none of the answers read: without the pause the bridge would
        # read them all and queue ~70 MB of answers. With it, it stops reading the editor once its
        # queue toward the editor passes the high-water mark, so the editor's writes block; then,
        # once the editor reads, every request gets its answer.
        r = bounds.unread_requests(COCO_BIN, self.work / "unread", count=100_000)
        print(f"\nunread requests: {json.dumps(r)}")
        self.assertTrue(r["blocked"], r)
        self.assertLess(r["taken_before_blocking"], 50_000, r)
        self.assertTrue(r["all_answered"], r)
        self.assertEqual(r["exit_code"], 0, r)


class RequestTimeoutTest(CodexTestCase):
    script = "hello.yaml"

    def short_timeout_bridge(self):
        """A bridge whose requests to codex time out after 2 s. On a loaded machine the fake codex (a
        Python process) can take longer than that to start, so its `initialize` may itself get -32055:
        that is the documented answer, and the editor asks again (the fake codex answers each one)."""
        config = self.work / "config.yaml"
        config.write_text("codex:\n  request_timeout_s: 2\n")
        b = self.bridge(extra_args=["--config", str(config)], codex=FAKE_CODEX)
        params = {"clientInfo": {"name": "coco_tests", "title": "Coco tests", "version": "0"}}
        for attempt in range(20):
            r = b.call("initialize", params, id=f"init-{attempt}", timeout=60)
            if "result" in r:
                b.notify("initialized")
                return b
            self.assertEqual(r["error"]["code"], -32055, r)
        self.fail("codex never answered initialize within the timeout")

    def test_a_request_codex_never_answers_gets_32055(self):
        b = self.short_timeout_bridge()
        swallowed = b.request("fake/swallow", {"x": 1})
        answered = b.call("fake/echo", {"y": 2})  # codex still answers what it does answer
        self.assertEqual(answered["result"]["params"], {"y": 2})
        err = b.response(swallowed, timeout=30)
        self.assertEqual(err["error"]["code"], -32055, err)
        self.assertEqual(err["error"]["data"]["method"], "fake/swallow")
        self.assertEqual(b.call("fake/echo", {"z": 3})["result"]["params"], {"z": 3})
        self.assertEqual(b.call("coco/status")["result"]["pending"]["toCodex"], 0)
        self.assertEqual(b.close(), 0)
        events = read_jsonl(b.task_dir() / "events.jsonl")
        timed_out = [e for e in events if e["type"] == "upstream.requestTimedOut"]
        self.assertEqual([e["method"] for e in timed_out if e["method"] != "initialize"], ["fake/swallow"])

    def test_a_late_answer_after_the_timeout_is_dropped(self):
        b = self.short_timeout_bridge()
        swallowed = b.request("fake/swallow")
        self.assertEqual(b.response(swallowed, timeout=30)["error"]["code"], -32055)
        # codex answers it now, after the bridge gave up: that answer matches no pending request.
        self.assertEqual(b.call("fake/release")["result"]["released"], 1)
        self.assertEqual(b.call("coco/status")["result"]["upstream"]["state"], "ready")
        answers = [m for m in b.seen if m.get("id") == swallowed and "method" not in m]
        self.assertEqual(len(answers), 1, answers)
        self.assertEqual(b.close(), 0)


class FatalExitTest(CodexTestCase):
    """An error that escapes the event loop (COCO_TEST_FAULT injects one, docs/reliability.md) ends the
    task `failed` with the reason, stops codex, and the exit status says so."""
    script = "hello.yaml"

    def check_failed(self, fault):
        b = self.bridge(codex=FAKE_CODEX, env={"COCO_TEST_FAULT": fault})
        code = b.proc.wait(timeout=60)
        self.assertEqual(code, 1, b.stderr_tail())
        task = b.task_dir()
        meta = task_yaml(task)
        self.assertEqual(meta["status"], "failed", meta)
        self.assertIn("injected fault", meta["reason"])
        events = read_jsonl(task / "events.jsonl")
        self.assertEqual(events[-1]["type"], "task.completed")
        self.assertEqual(events[-1]["status"], "failed")
        self.assertIn("injected fault", events[-1]["reason"])
        # codex was stopped with the bridge.
        pid = next(e["pid"] for e in events if e["type"] == "upstream.started")
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(),
                   timeout=30, what="codex gone")
        for line in (task / "events.jsonl").read_text().splitlines():
            json.loads(line)
        return events

    def test_an_error_escaping_the_loop_fails_the_task(self):
        events = self.check_failed("throw-in-loop")
        self.assertTrue(any(e["type"] == "bridge.failed" for e in events))

    def test_errors_that_keep_escaping_still_fail_the_task(self):
        # Three in a row: the bridge gives up running the loop and finishes the task itself.
        self.check_failed("throw-in-loop:3")

    def test_without_the_fault_the_task_completes(self):
        b = self.bridge(codex=FAKE_CODEX)
        b.initialize()
        self.assertEqual(b.close(), 0)
        self.assertEqual(task_yaml(b.task_dir())["status"], "completed")


if __name__ == "__main__":
    unittest.main()
