"""The protocol an editor builds on, against the real codex: every gate has exactly one outcome and the
editor always knows it (bad answers are reported and asked again, an LSP dismissal denies, a popup is
withdrawn when its gate is resolved elsewhere), file-change prompts carry the texts an editor's diff
view needs, `--task` continues a task across bridge runs, and bad capabilities are refused. Every
coco/* message seen here is also checked against `coco schema` (harness.SchemaChecker)."""
import json
import os
import subprocess
import unittest

from harness import COCO_BIN, CodexTestCase, codex_path, read_jsonl, wait_until

ESCALATED = """
steps:
  - exec: "echo escalated > escalated.txt"
    escalated: true
    justification: "Write escalated.txt in the project?"
  - message: "Done."
"""

PROMPT_CAPS = {"coco": {"approvals": "prompt"}}
LSP_CAPS = {"coco": {"approvals": "lsp"}}


def events(b):
    return read_jsonl(b.task_dir() / "events.jsonl")


def of_type(evs, t):
    return [e for e in evs if e.get("type") == t]


def command_items(b):
    return [m["params"]["item"] for m in b.seen if m.get("method") == "item/completed"
            and m["params"]["item"]["type"] == "commandExecution"]


class BadAnswersTest(CodexTestCase):
    script_text = ESCALATED

    def test_a_bad_answer_is_reported_and_the_same_gate_asked_again_then_a_good_one_runs_the_command(self):
        b = self.bridge()
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        asked = []

        def answer(bridge, req):
            self.assertEqual(req["method"], "coco/approval/request")
            asked.append(req["params"]["gateId"])
            if len(asked) == 1:
                bridge.respond(req["id"], {"optionId": "yes-please"})  # not an option
            elif len(asked) == 2:
                bridge.respond(req["id"], {"optionId": 5})  # the wrong type
            else:
                bridge.respond(req["id"], {"optionId": "accept"})

        turn = b.run_turn(thread, "write the file", on_request=answer)
        self.assertEqual(turn["status"], "completed")
        self.assertEqual(asked, ["g1", "g1", "g1"])  # the same gate, asked again each time
        rejected = [m["params"] for m in b.seen if m.get("method") == "coco/approval/answerRejected"]
        self.assertEqual(len(rejected), 2)
        self.assertIn("unknown optionId 'yes-please'", rejected[0]["reason"])
        self.assertIn("accept", rejected[0]["reason"])  # the valid options are named
        self.assertIn("must be a string", rejected[1]["reason"])
        self.assertTrue(all(r["gateId"] == "g1" and r["willAskAgain"] for r in rejected))
        self.assertEqual((b.cwd / "escalated.txt").read_text().strip(), "escalated")
        resolved = [m["params"] for m in b.seen if m.get("method") == "coco/approval/resolved"]
        self.assertEqual([(r["gateId"], r["by"], r.get("optionId")) for r in resolved], [("g1", "editor", "accept")])
        self.assertEqual(b.close(), 0)
        evs = events(b)
        self.assertEqual([e["attempt"] for e in of_type(evs, "gate.answerRejected")], [1, 2])
        self.assertEqual(of_type(evs, "gate.resolved")[0]["optionId"], "accept")

    def test_three_unusable_answers_deny_the_gate_and_the_turn_goes_on(self):
        b = self.bridge()
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        asks = []

        def answer(bridge, req):
            asks.append(req["id"])
            bridge.send({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32603, "message": "cannot show it"}})

        turn = b.run_turn(thread, "write the file", on_request=answer)
        self.assertEqual(turn["status"], "completed")
        self.assertEqual(len(asks), 3)
        self.assertFalse((b.cwd / "escalated.txt").exists())
        self.assertEqual(command_items(b)[0]["status"], "declined")
        rejected = [m["params"] for m in b.seen if m.get("method") == "coco/approval/answerRejected"]
        self.assertEqual([r["willAskAgain"] for r in rejected], [True, True, False])
        self.assertEqual(b.close(), 0)
        resolved = of_type(events(b), "gate.resolved")[0]
        self.assertEqual((resolved["by"], resolved["optionId"]), ("editor", "decline"))
        self.assertIn("rejected 3 times", resolved["note"])


class LspModeTest(CodexTestCase):
    script_text = ESCALATED

    def test_an_lsp_dismissal_denies_and_the_turn_completes(self):
        b = self.bridge("content-length")
        b.initialize(capabilities=LSP_CAPS)
        thread = b.start_thread()

        def dismiss(bridge, req):
            self.assertEqual(req["method"], "window/showMessageRequest")
            titles = [a["title"] for a in req["params"]["actions"]]
            self.assertTrue(all(len(t) <= 32 for t in titles), titles)  # buttons stay short
            self.assertIn("echo escalated", req["params"]["message"])  # the long text is in the message
            bridge.respond(req["id"], None)  # Esc

        turn = b.run_turn(thread, "write the file", on_request=dismiss)
        self.assertEqual(turn["status"], "completed")
        self.assertFalse((b.cwd / "escalated.txt").exists())
        self.assertEqual(command_items(b)[0]["status"], "declined")
        self.assertEqual(b.close(), 0)
        evs = events(b)
        self.assertEqual(len(of_type(evs, "gate.dismissed")), 1)
        resolved = of_type(evs, "gate.resolved")[0]
        self.assertEqual((resolved["by"], resolved["optionId"]), ("editor", "decline"))

    def test_an_lsp_popup_is_cancelled_when_the_directory_resolves_its_gate(self):
        b = self.bridge("content-length")
        b.initialize(capabilities=LSP_CAPS)
        thread = b.start_thread()
        popups = []

        def hand_off(bridge, req):
            # The person answers in another tool: a decision file in the task directory.
            popups.append(req["id"])
            gates = bridge.task_dir() / "gates"
            tmp = gates / ".g1.decision.json.tmp"
            tmp.write_text(json.dumps({"optionId": "accept"}))
            os.rename(tmp, gates / "g1.decision.json")

        turn = b.run_turn(thread, "write the file", on_request=hand_off)
        self.assertEqual(turn["status"], "completed")
        self.assertTrue((b.cwd / "escalated.txt").exists())
        cancel = b.notification("$/cancelRequest")
        self.assertEqual(cancel["params"]["id"], popups[0])
        # What an LSP client answers for a cancelled request is the expected acknowledgement.
        b.send({"jsonrpc": "2.0", "id": popups[0], "error": {"code": -32800, "message": "Request cancelled"}})
        status = b.call("coco/status")
        self.assertEqual(status["result"]["pending"]["gates"], 0)
        self.assertEqual(b.close(), 0)
        evs = events(b)
        self.assertEqual(of_type(evs, "gate.resolved")[0]["by"], "directory")
        self.assertEqual(of_type(evs, "gate.lateAnswer"), [])


UPDATE_PATCH = """
steps:
  - patch: |
      *** Begin Patch
      *** Update File: a.txt
      @@
       two
      -three
      +THREE
       four
      *** End Patch
    call_id: call_update
  - message: "Updated a.txt."
"""


class FileChangeTextsTest(CodexTestCase):
    script_text = UPDATE_PATCH
    model = "gpt-5.5"  # in codex's catalog, so codex offers apply_patch to the scripted model

    BEFORE = "one\ntwo\nthree\nfour\nfive\n"

    def run_update(self, option):
        b = self.bridge()
        (b.cwd / "a.txt").write_text(self.BEFORE)
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        prompts = []

        def answer(bridge, req):
            prompts.append(req["params"])
            bridge.respond(req["id"], {"optionId": option})

        turn = b.run_turn(thread, "update a.txt", on_request=answer)
        self.assertEqual(turn["status"], "completed")
        self.assertEqual(len(prompts), 1)
        self.assertEqual(b.close(), 0)
        return b, prompts[0]["changes"]

    def test_an_update_prompt_carries_the_file_before_and_after_and_a_unified_diff(self):
        b, changes = self.run_update("accept")
        self.assertEqual(len(changes), 1)
        c = changes[0]
        self.assertEqual(c["kind"], "update")
        self.assertEqual(c["oldText"], self.BEFORE)
        self.assertTrue(c["diff"].startswith("--- a/a.txt\n+++ b/a.txt\n@@ "), c["diff"])
        # What the editor was shown as "after" is exactly what codex then wrote.
        self.assertEqual((b.cwd / "a.txt").read_text(), c["newText"])
        self.assertEqual(c["newText"], "one\ntwo\nTHREE\nfour\nfive\n")

    def test_a_denied_update_leaves_the_file_as_it_was(self):
        b, changes = self.run_update("decline")
        self.assertEqual(changes[0]["oldText"], self.BEFORE)
        self.assertEqual((b.cwd / "a.txt").read_text(), self.BEFORE)


TWO_TURNS = """
steps:
  - message: "First answer."
  - message: "Second answer."
"""


class ContinueTaskTest(CodexTestCase):
    script_text = TWO_TURNS

    def test_task_continues_a_task_directory_across_two_bridge_runs(self):
        first = self.bridge()
        info = first.initialize()
        task_dir = info["coco"]["taskDir"]
        thread = first.start_thread()
        self.assertEqual(first.run_turn(thread, "first question")["status"], "completed")
        self.assertEqual(first.close(), 0)
        seq_before = [e["seq"] for e in read_jsonl(os.path.join(task_dir, "events.jsonl"))]

        # The editor restarts: the same task, the same thread.
        second = self.bridge(extra_args=["--task", task_dir])
        second.task_root = first.task_root
        info2 = second.initialize()
        self.assertEqual(info2["coco"]["taskDir"], task_dir)
        resumed = second.call("thread/resume", {"threadId": thread})
        self.assertIn("result", resumed, resumed)
        self.assertEqual(second.run_turn(thread, "second question")["status"], "completed")
        self.assertEqual(second.close(), 0)

        evs = read_jsonl(os.path.join(task_dir, "events.jsonl"))
        seqs = [e["seq"] for e in evs]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))  # one file, seq never restarts
        self.assertGreater(len(seqs), len(seq_before))
        self.assertEqual(len(of_type(evs, "client.connected")), 2)
        self.assertEqual(len(of_type(evs, "task.resumed")), 1)
        self.assertEqual(len(of_type(evs, "turn.completed")), 2)
        messages = read_jsonl(os.path.join(task_dir, "agents", "app-server", "runtime", "events.jsonl"))
        mseqs = [m["seq"] for m in messages]
        self.assertEqual(mseqs, list(range(1, len(mseqs) + 1)))
        texts = [m["msg"]["params"]["item"]["text"] for m in messages if m.get("msg", {}).get("method") == "item/completed"
                 and m["msg"]["params"]["item"]["type"] == "agentMessage"]
        self.assertEqual(texts, ["First answer.", "Second answer."])
        listed = json.loads(subprocess.run([COCO_BIN, "task", "ls", "--json", "--task-root", str(first.task_root)],
                                           check=True, capture_output=True).stdout)
        self.assertEqual(len(listed), 1)  # not a second task
        self.assertEqual(listed[0]["status"], "completed")
        self.assertEqual(listed[0]["title"], "first question")

    def test_task_refuses_a_task_another_bridge_is_writing(self):
        first = self.bridge()
        task_dir = first.initialize()["coco"]["taskDir"]
        env = dict(os.environ, CODEX_HOME=str(self.codex_home))
        r = subprocess.run([COCO_BIN, "bridge", "--codex", codex_path(), "--task", task_dir], stdin=subprocess.DEVNULL,
                           capture_output=True, env=env, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"still being written", r.stderr)
        self.assertEqual(r.stdout, b"")  # stdout carries the protocol only
        self.assertEqual(first.close(), 0)


class HandshakeTest(CodexTestCase):
    script_text = TWO_TURNS

    def test_an_unknown_approvals_mode_is_refused_with_the_valid_ones_and_the_bridge_keeps_serving(self):
        b = self.bridge()
        r = b.call("initialize", {"clientInfo": {"name": "t", "version": "0"},
                                  "capabilities": {"coco": {"approvals": "popup"}}})
        self.assertEqual(r["error"]["code"], -32602)
        self.assertIn('"prompt"', r["error"]["message"])
        self.assertIn('"lsp"', r["error"]["message"])
        self.assertIn("popup", r["error"]["message"])
        info = b.initialize(capabilities=PROMPT_CAPS)  # a valid one still works
        self.assertIn("coco", info)
        self.assertEqual(b.close(), 0)

    def test_an_unknown_option_is_refused_not_ignored(self):
        r = subprocess.run([COCO_BIN, "bridge", "--bogus", "1"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unknown option --bogus", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_coco_bridge_help_is_its_own(self):
        out = subprocess.run([COCO_BIN, "bridge", "--help"], check=True, capture_output=True, text=True).stdout
        self.assertTrue(out.startswith("usage: coco bridge"), out[:200])
        self.assertIn("--codex-arg", out)
        self.assertIn("--task ID|PATH", out)
        for cmd in ("run", "exec", "gate", "task", "schema", "demo"):
            out = subprocess.run([COCO_BIN, cmd, "--help"], check=True, capture_output=True, text=True).stdout
            self.assertTrue(out.startswith(f"usage: coco {cmd}"), out[:200])

    def test_every_method_the_bridge_offers_is_in_the_schema(self):
        b = self.bridge()
        info = b.initialize()
        schema = json.loads(subprocess.run([COCO_BIN, "schema"], check=True, capture_output=True).stdout)
        offered = set(info["coco"]["capabilities"]["methods"])
        editor_methods = {m for m, spec in schema["methods"].items() if spec["direction"] == "editor->bridge"}
        self.assertEqual(offered, editor_methods)
        self.assertEqual(b.close(), 0)


if __name__ == "__main__":
    unittest.main()
