"""The core bridge against the real codex: both framings, ids, streaming, recording."""
import json
import os
import stat
import unittest

from harness import CodexTestCase, read_jsonl

PROMPT = "Say something streamed, please."


class ProxyTest(CodexTestCase):
    script = "streamed.yaml"

    def run_session(self, framing, init_id, thread_req_id, extra_args=()):
        b = self.bridge(framing, extra_args=extra_args)
        result = b.initialize(id=init_id)
        # initialize's result is codex's, plus the bridge's own description.
        self.assertIn("userAgent", result)
        coco = result["coco"]
        self.assertTrue(os.path.isdir(coco["taskDir"]))
        self.assertEqual(coco["pinnedCodexVersion"], "0.169.0")
        self.assertEqual(coco["codexVersion"], "0.169.0")
        self.assertIn("coco/status", coco["capabilities"]["methods"])

        r = b.call("thread/start", {"cwd": str(b.cwd)}, id=thread_req_id)
        self.assertEqual(r["id"], thread_req_id)  # the same JSON value, type included
        thread_id = r["result"]["thread"]["id"]
        b.notification("thread/started")

        turn = b.run_turn(thread_id, PROMPT)
        self.assertEqual(turn["status"], "completed")
        deltas = [m["params"]["delta"] for m in b.seen if m.get("method") == "item/agentMessage/delta"]
        self.assertGreater(len(deltas), 1, "the scripted message is streamed as several deltas")
        self.assertEqual("".join(deltas), "Streaming works: these words arrive as separate deltas.")
        # Every message toward the editor is JSON-RPC 2.0.
        self.assertTrue(all(m.get("jsonrpc") == "2.0" for m in b.seen), [m for m in b.seen if m.get("jsonrpc") != "2.0"][:3])

        self.assertEqual(b.close(), 0)
        return b, coco["taskDir"], thread_id

    def check_task_dir(self, task_dir, thread_id):
        st = os.stat(task_dir)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        for name in ("task.yaml", "events.jsonl", "agents/app-server/runtime/events.jsonl",
                     "agents/app-server/runtime/stderr.log"):
            path = os.path.join(task_dir, name)
            self.assertTrue(os.path.isfile(path), name)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, name)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(task_dir, "agents")).st_mode), 0o700)

        events = read_jsonl(os.path.join(task_dir, "events.jsonl"))
        types = [e["type"] for e in events]
        for t in ("task.created", "client.connected", "upstream.started", "thread.started", "turn.started",
                  "turn.completed", "client.disconnected", "upstream.exited", "task.completed"):
            self.assertIn(t, types)
        self.assertEqual([e["seq"] for e in events], sorted(e["seq"] for e in events))
        self.assertEqual(types[0], "task.created")
        self.assertEqual(types[-1], "task.completed")
        turn_done = [e for e in events if e["type"] == "turn.completed"][0]
        self.assertEqual(turn_done["status"], "completed")
        self.assertEqual(turn_done["threadId"], thread_id)

        task_yaml = open(os.path.join(task_dir, "task.yaml")).read()
        self.assertIn("status: completed", task_yaml)
        self.assertIn(PROMPT, task_yaml)  # the title is the first prompt

        log = read_jsonl(os.path.join(task_dir, "agents/app-server/runtime/events.jsonl"))
        dirs = {e["dir"] for e in log}
        self.assertTrue({"editor->codex", "codex->editor"} <= dirs, dirs)
        sent = [e["msg"] for e in log if e["dir"] == "editor->codex"]
        self.assertIn("turn/start", [m.get("method") for m in sent])
        turn_start = [m for m in sent if m.get("method") == "turn/start"][0]
        self.assertEqual(turn_start["params"]["input"][0]["text"], PROMPT)  # verbatim
        received = [e["msg"] for e in log if e["dir"] == "codex->editor"]
        self.assertIn("item/agentMessage/delta", [m.get("method") for m in received])
        self.assertIn("turn/completed", [m.get("method") for m in received])

    def test_lines_framing(self):
        b, task_dir, thread_id = self.run_session("lines", init_id=0, thread_req_id=5)
        self.check_task_dir(task_dir, thread_id)
        # Line framing answers in lines: every frame is one line of JSON.
        self.assertTrue(all(f.endswith(b"\n") and f.count(b"\n") == 1 for f in b.raw_frames))

    def test_content_length_framing_with_string_ids(self):
        b, task_dir, thread_id = self.run_session("content-length", init_id="init-1", thread_req_id="t-0")
        self.check_task_dir(task_dir, thread_id)

    def test_event_loop_without_spinning(self):
        # --spin-us 0 runs the plain io.run() loop (as on a single CPU): the same session works.
        b, task_dir, thread_id = self.run_session("lines", init_id=1, thread_req_id=2, extra_args=["--spin-us", "0"])
        self.check_task_dir(task_dir, thread_id)

    def test_pretty_printed_bodies_are_compacted_for_codex(self):
        b = self.bridge("content-length")
        b.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"clientInfo": {"name": "pretty", "version": "1"}}}, pretty=True)
        r = b.response(1)
        self.assertIn("result", r)
        b.notify("initialized")
        b.send({"jsonrpc": "2.0", "id": 2, "method": "thread/start", "params": {"cwd": str(b.cwd)}}, pretty=True)
        self.assertIn("result", b.response(2))
        self.assertEqual(b.close(), 0)


if __name__ == "__main__":
    unittest.main()
