"""Supervision: codex killed mid-turn -> errors for pending requests, a restart, a working thread."""
import os
import signal
import unittest

from harness import CodexTestCase, read_jsonl

SCRIPT = """
steps:
  - when: "first prompt"
    message: "This answer never arrives: codex is killed first."
    delay_ms: 60000
  - when: "second prompt"
    message: "Back in business."
"""


class RestartTest(CodexTestCase):
    script_text = SCRIPT

    def test_kill_codex_mid_turn(self):
        b = self.bridge("lines")
        b.initialize(id=1)
        thread_id = b.start_thread()
        status = b.call("coco/status")["result"]
        codex_pid = status["upstream"]["pid"]
        self.assertIsInstance(codex_pid, int)

        tid = b.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "first prompt"}]})
        self.assertIn("result", b.response(tid))
        b.notification("turn/started")
        # Freeze codex so that the next request is certainly still pending when it dies.
        os.kill(codex_pid, signal.SIGSTOP)
        pending = b.request("thread/list", {})
        os.kill(codex_pid, signal.SIGKILL)

        err = b.response(pending)
        self.assertEqual(err["error"]["code"], -32050)
        exited = b.notification("coco/upstream/exited")
        self.assertEqual(exited["params"]["signal"], 9)
        self.assertTrue(exited["params"]["restarting"])
        restarted = b.notification("coco/upstream/restarted")
        self.assertNotEqual(restarted["params"]["pid"], codex_pid)

        # The restarted codex got the editor's handshake replayed: a new thread just works.
        new_thread = b.start_thread()
        turn = b.run_turn(new_thread, "second prompt")
        self.assertEqual(turn["status"], "completed")
        texts = [m["params"]["item"].get("text") for m in b.seen
                 if m.get("method") == "item/completed" and m["params"]["item"]["type"] == "agentMessage"]
        self.assertIn("Back in business.", texts)
        self.assertEqual(b.close(), 0)

        task = b.task_dir()
        events = read_jsonl(task / "events.jsonl")
        types = [e["type"] for e in events]
        self.assertIn("upstream.exited", types)
        self.assertIn("upstream.restarted", types)
        self.assertEqual(types.count("upstream.started"), 2)
        ex = [e for e in events if e["type"] == "upstream.exited"][0]
        self.assertEqual(ex["signal"], 9)
        self.assertEqual(ex["failedRequests"], 1)
        log = read_jsonl(task / "agents/app-server/runtime/events.jsonl")
        replayed = [e for e in log if e["dir"] == "bridge->codex" and e["msg"].get("method") == "initialize"]
        self.assertEqual(len(replayed), 1)
        errors = [e for e in log if e["dir"] == "bridge->editor" and e["msg"].get("id") == pending]
        self.assertEqual(errors[0]["msg"]["error"]["code"], -32050)

    def test_gives_up_after_the_restart_budget(self):
        b = self.bridge("lines", extra_args=["--max-restarts", "1"])
        b.initialize()
        for attempt in range(2):
            pid = b.call("coco/status")["result"]["upstream"]["pid"]
            os.kill(pid, signal.SIGKILL)
            ex = b.wait_for(lambda m: m.get("method") == "coco/upstream/exited" and
                            len([x for x in b.seen if x.get("method") == "coco/upstream/exited"]) == attempt + 1,
                            what=f"exit #{attempt + 1}")
            if attempt == 0:
                b.notification("coco/upstream/restarted")
        self.assertFalse(ex["params"]["restarting"])
        r = b.call("thread/start", {"cwd": str(b.cwd)})
        self.assertEqual(r["error"]["code"], -32051)
        # A manual restart brings it back.
        self.assertTrue(b.call("coco/upstream/restart")["result"]["restarting"])
        b.wait_for(lambda m: len([x for x in b.seen if x.get("method") == "coco/upstream/restarted"]) == 2,
                   what="the manual restart")
        self.assertIn("result", b.call("thread/start", {"cwd": str(b.cwd)}))
        self.assertEqual(b.close(), 0)


if __name__ == "__main__":
    unittest.main()
