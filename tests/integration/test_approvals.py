"""Gates against the real codex: every client mode, policies, timeouts, the directory hand-off,
a vanishing client, `coco run` on a terminal, and file-change approvals with diffs."""
import json
import os
import pty
import select
import subprocess
import time
import unittest

from harness import COCO_BIN, CodexTestCase, DEFAULT_TIMEOUT, codex_path, read_jsonl, wait_until

ESCALATED = """
steps:
  - exec: "echo escalated > escalated.txt"
    escalated: true
    justification: "Write escalated.txt in the project?"
  - message: "Done."
"""

PROMPT_CAPS = {"coco": {"approvals": "prompt"}}


def approvals_seen(b, method):
    return [m for m in b.seen if m.get("method") == method and "id" in m]


class ApprovalModesTest(CodexTestCase):
    script_text = ESCALATED

    def events(self, b):
        return read_jsonl(b.task_dir() / "events.jsonl")

    def test_prompt_mode_allow_runs_the_command(self):
        b = self.bridge()
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()

        def answer(bridge, req):
            self.assertEqual(req["method"], "coco/approval/request")
            p = req["params"]
            self.assertEqual(p["kind"], "command")
            self.assertIn("echo escalated > escalated.txt", p["command"])
            self.assertEqual(p["cwd"], str(b.cwd))
            self.assertIn("Write escalated.txt", p["reason"])
            ids = [o["id"] for o in p["options"]]
            self.assertIn("accept", ids)
            self.assertIn("decline", ids)
            self.assertIn("cancel", ids)
            self.assertTrue(p["options"][ids.index("accept")].get("isDefault"))
            self.assertTrue(p["title"].startswith("Run `"))
            self.assertTrue(os.path.isfile(b.task_dir() / "gates" / (p["gateId"] + ".json")))
            bridge.respond(req["id"], {"optionId": "accept"})

        turn = b.run_turn(thread, "write the file", on_request=answer)
        self.assertEqual(turn["status"], "completed")
        self.assertEqual((b.cwd / "escalated.txt").read_text().strip(), "escalated")
        self.assertEqual(len(approvals_seen(b, "coco/approval/request")), 1)
        self.assertEqual(approvals_seen(b, "item/commandExecution/requestApproval"), [])  # the raw one is not sent
        self.assertEqual(b.close(), 0)

        ev = self.events(b)
        blocked = [e for e in ev if e["type"] == "gate.blocked"]
        resolved = [e for e in ev if e["type"] == "gate.resolved"]
        self.assertEqual(len(blocked), 1)
        self.assertEqual(blocked[0]["kind"], "command")
        self.assertEqual(resolved[0]["by"], "editor")
        self.assertEqual(resolved[0]["optionId"], "accept")
        self.assertEqual(resolved[0]["decision"], {"decision": "accept"})
        self.assertGreaterEqual(resolved[0]["waitMs"], 0)
        gate = json.loads((b.task_dir() / "gates" / "g1.json").read_text())
        self.assertEqual(gate["status"], "resolved")
        self.assertEqual(gate["outcome"]["by"], "editor")

    def test_lsp_mode_deny_skips_the_command_and_the_turn_goes_on(self):
        b = self.bridge("content-length")
        b.initialize(id="init", capabilities={"coco": {"approvals": "lsp"}})
        thread = b.start_thread()

        def answer(bridge, req):
            self.assertEqual(req["method"], "window/showMessageRequest")
            titles = [a["title"] for a in req["params"]["actions"]]
            self.assertIn("Allow once", titles)
            self.assertIn("Deny", titles)
            self.assertIn("echo escalated", req["params"]["message"])
            bridge.respond(req["id"], {"title": "Deny"})

        turn = b.run_turn(thread, "write the file", on_request=answer)
        self.assertEqual(turn["status"], "completed")
        self.assertFalse((b.cwd / "escalated.txt").exists())
        items = [m["params"]["item"] for m in b.seen if m.get("method") == "item/completed"
                 and m["params"]["item"]["type"] == "commandExecution"]
        self.assertEqual(items[0]["status"], "declined")
        self.assertEqual(b.close(), 0)
        resolved = [e for e in self.events(b) if e["type"] == "gate.resolved"]
        self.assertEqual(resolved[0]["optionId"], "decline")

    def test_transparent_mode_forwards_the_raw_request(self):
        b = self.bridge()
        b.initialize()
        thread = b.start_thread()

        def answer(bridge, req):
            self.assertEqual(req["method"], "item/commandExecution/requestApproval")
            self.assertIn("echo escalated", req["params"]["command"])
            bridge.respond(req["id"], {"decision": "accept"})

        turn = b.run_turn(thread, "write the file", on_request=answer)
        self.assertEqual(turn["status"], "completed")
        self.assertTrue((b.cwd / "escalated.txt").exists())
        # codex's serverRequest/resolved names the id the editor saw.
        req_id = approvals_seen(b, "item/commandExecution/requestApproval")[0]["id"]
        resolved = [m for m in b.seen if m.get("method") == "serverRequest/resolved"]
        self.assertEqual(resolved[0]["params"]["requestId"], req_id)
        self.assertEqual(b.close(), 0)
        gate_resolved = [e for e in self.events(b) if e["type"] == "gate.resolved"]
        self.assertEqual(gate_resolved[0]["by"], "editor")
        self.assertEqual(gate_resolved[0]["optionId"], "accept")


class SessionAllowTest(CodexTestCase):
    script_text = """
steps:
  - exec: "touch first.txt"
    escalated: true
  - exec: "touch first.txt"
    escalated: true
  - message: "Both done."
"""

    def test_allow_for_session_is_not_asked_again(self):
        b = self.bridge()
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        turn = b.run_turn(thread, "touch twice",
                          on_request=lambda br, req: br.respond(req["id"], {"optionId": "acceptForSession"}))
        self.assertEqual(turn["status"], "completed")
        self.assertEqual(len(approvals_seen(b, "coco/approval/request")), 1)
        runs = [m["params"]["item"] for m in b.seen if m.get("method") == "item/completed"
                and m["params"]["item"]["type"] == "commandExecution"]
        self.assertEqual([r["status"] for r in runs], ["completed", "completed"])
        self.assertEqual(b.close(), 0)


class FeedbackTest(CodexTestCase):
    script_text = """
steps:
  - exec: "echo escalated > escalated.txt"
    escalated: true
  - when: "write into the docs folder instead"
    message: "Understood: I will use the docs folder."
  - delay_ms: 300
    exec: "echo waiting for feedback"
"""

    def test_deny_with_feedback_reaches_the_turn(self):
        b = self.bridge()
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        turn = b.run_turn(thread, "write the file", on_request=lambda br, req: br.respond(
            req["id"], {"optionId": "decline", "feedback": "write into the docs folder instead"}))
        self.assertEqual(turn["status"], "completed")
        self.assertFalse((b.cwd / "escalated.txt").exists())
        texts = [m["params"]["item"].get("text") for m in b.seen if m.get("method") == "item/completed"
                 and m["params"]["item"]["type"] == "agentMessage"]
        self.assertIn("Understood: I will use the docs folder.", texts)
        self.assertEqual(b.close(), 0)
        log = read_jsonl(b.task_dir() / "agents/app-server/runtime/events.jsonl")
        steers = [e["msg"] for e in log if e["dir"] == "bridge->codex" and e["msg"].get("method") == "turn/steer"]
        self.assertEqual(steers[0]["params"]["input"][0]["text"], "write into the docs folder instead")


class PolicyTest(CodexTestCase):
    script_text = """
steps:
  - exec: "touch allowed.txt"
    escalated: true
  - exec: "rm -f allowed.txt"
    escalated: true
  - message: "Policy decided."
"""

    def test_rules_allow_and_deny_without_asking(self):
        config = self.work / "config.yaml"
        config.write_text("""
approvals:
  rules:
    - name: touching is fine
      kind: command
      command: touch
      action: allow
    - name: never delete
      command: [rm]
      action: deny
""")
        b = self.bridge(extra_args=["--config", str(config)])
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        turn = b.run_turn(thread, "touch then remove", on_request=lambda br, req: self.fail(f"asked: {req}"))
        self.assertEqual(turn["status"], "completed")
        self.assertTrue((b.cwd / "allowed.txt").exists())  # allowed, and the rm was denied
        self.assertEqual(b.close(), 0)
        resolved = [e for e in read_jsonl(b.task_dir() / "events.jsonl") if e["type"] == "gate.resolved"]
        self.assertEqual([(e["by"], e["optionId"], e["rule"]) for e in resolved],
                         [("policy", "accept", "touching is fine"), ("policy", "decline", "never delete")])

    def test_bad_config_is_a_startup_error_naming_the_line(self):
        config = self.work / "bad.yaml"
        config.write_text("approvals:\n  rules:\n    - command: git\n      action: perhaps\n")
        r = subprocess.run([COCO_BIN, "bridge", "--codex", codex_path(), "--config", str(config),
                            "--task-root", str(self.work / "tasks")], input=b"", capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{config}:4: action must be allow, deny or ask", r.stderr.decode())


class TimeoutAndHandOffTest(CodexTestCase):
    script_text = ESCALATED

    def test_timeout_denies(self):
        config = self.work / "config.yaml"
        config.write_text("approvals:\n  timeout_s: 0.5\n  on_timeout: deny\n")
        b = self.bridge(extra_args=["--config", str(config)])
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        turn = b.run_turn(thread, "write the file", on_request=lambda br, req: None)  # nobody answers
        self.assertEqual(turn["status"], "completed")
        self.assertFalse((b.cwd / "escalated.txt").exists())
        closed = b.notification("coco/approval/resolved")
        self.assertEqual(closed["params"]["by"], "timeout")
        self.assertEqual(closed["params"]["optionId"], "decline")
        self.assertEqual(b.close(), 0)

    def test_decision_file_resolves_a_gate(self):
        b = self.bridge(extra_args=["--approvals", "dir"])
        b.initialize()
        thread = b.start_thread()
        tid = b.request("turn/start", {"threadId": thread, "input": [{"type": "text", "text": "write it"}]})
        b.response(tid)
        gates = b.task_dir() / "gates"
        wait_until(lambda: (gates / "g1.json").exists(), what="gates/g1.json")
        gate = json.loads((gates / "g1.json").read_text())
        self.assertEqual(gate["status"], "open")
        self.assertIn("accept", [o["id"] for o in gate["options"]])

        # A decision naming no real option is rejected with a recorded reason, and the gate stays open.
        (gates / "g1.decision.json").write_text('{"optionId": "yes-please"}')
        wait_until(lambda: (gates / "g1.decision.json.rejected").exists(), what="the rejection")
        # The event is written by the recorder's thread, a moment after the file was renamed.
        def rejected():
            return [e for e in read_jsonl(b.task_dir() / "events.jsonl") if e["type"] == "gate.decisionRejected"]
        wait_until(rejected, what="gate.decisionRejected in events.jsonl")
        self.assertIn("yes-please", rejected()[0]["reason"])

        r = subprocess.run([COCO_BIN, "gate", "ls", "--task-root", str(b.task_root)], capture_output=True, text=True, timeout=30)
        self.assertIn("g1", r.stdout)
        r = subprocess.run([COCO_BIN, "gate", "answer", b.task_dir().name, "g1", "accept", "--task-root", str(b.task_root)],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("resolved by directory", r.stdout)
        turn = b.wait_for(lambda m: m.get("method") == "turn/completed")
        self.assertEqual(turn["params"]["turn"]["status"], "completed")
        self.assertTrue((b.cwd / "escalated.txt").exists())
        self.assertEqual(b.close(), 0)

    def test_client_vanishing_mid_gate_cancels_it(self):
        b = self.bridge()
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        b.request("turn/start", {"threadId": thread, "input": [{"type": "text", "text": "write it"}]})
        b.wait_for(lambda m: m.get("method") == "coco/approval/request", what="the approval prompt")
        self.assertEqual(b.close(), 0)  # the editor goes away with the gate open; the bridge still exits cleanly
        ev = read_jsonl(b.task_dir() / "events.jsonl")
        resolved = [e for e in ev if e["type"] == "gate.resolved"]
        self.assertEqual(resolved[0]["by"], "disconnect")
        self.assertEqual(resolved[0]["optionId"], "cancel")
        self.assertFalse((b.cwd / "escalated.txt").exists())
        self.assertEqual(ev[-1]["type"], "task.completed")


class CocoRunTest(CodexTestCase):
    script_text = ESCALATED

    def test_coco_run_asks_on_a_terminal(self):
        project = self.work / "project"
        project.mkdir()
        env = dict(os.environ, CODEX_HOME=str(self.codex_home), COCO_CODEX=codex_path())
        pid, fd = pty.fork()
        if pid == 0:  # the child: coco run with the pty as its terminal
            os.chdir(project)
            os.execve(COCO_BIN, [COCO_BIN, "run", "--task-root", str(self.work / "tasks"), "write the file"], env)
        self.addCleanup(os.close, fd)
        output = b""
        answered = False
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Choose 1-" in output:
                os.write(fd, b"\n")  # Enter: the default, "Allow once"
                answered = True
        if not answered:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        text = output.decode(errors="replace")
        self.assertTrue(answered, text)
        self.assertIn("echo escalated > escalated.txt", text)
        self.assertIn("Allow once", text)
        self.assertIn("Done.", text)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, text)
        self.assertTrue((project / "escalated.txt").exists(), text)

    def test_coco_run_without_a_terminal_hands_off_to_the_directory(self):
        project = self.work / "project2"
        project.mkdir()
        env = dict(os.environ, CODEX_HOME=str(self.codex_home), COCO_CODEX=codex_path())
        p = subprocess.Popen([COCO_BIN, "run", "--task-root", str(self.work / "tasks"), "--cwd", str(project), "write it"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))  # it waits on the gate forever otherwise
        tasks = self.work / "tasks"
        wait_until(lambda: tasks.exists() and any((d / "gates" / "g1.json").exists() for d in tasks.iterdir()),
                   what="the gate file")
        task = next(d for d in tasks.iterdir() if (d / "gates" / "g1.json").exists())
        r = subprocess.run([COCO_BIN, "gate", "answer", task.name, "g1", "decline", "--task-root", str(tasks)],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        out, err = p.communicate(timeout=DEFAULT_TIMEOUT)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn(b"coco gate answer", err)  # it told the user how to answer
        self.assertIn(b"Done.", out)
        self.assertFalse((project / "escalated.txt").exists())


class FileChangeTest(CodexTestCase):
    script = "patch.yaml"
    model = "gpt-5.5"  # in codex's catalog, so codex offers apply_patch to the scripted model

    def test_file_change_prompt_carries_the_diff(self):
        b = self.bridge()
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        prompts = []

        def answer(bridge, req):
            prompts.append(req["params"])
            bridge.respond(req["id"], {"optionId": "accept"})

        turn = b.run_turn(thread, "create hello.txt", on_request=answer)
        self.assertEqual(turn["status"], "completed")
        self.assertEqual(len(prompts), 1)
        p = prompts[0]
        self.assertEqual(p["kind"], "fileChange")
        self.assertTrue(p["changes"][0]["path"].endswith("hello.txt"))
        self.assertEqual(p["changes"][0]["kind"], "add")
        self.assertIn("hi there", p["changes"][0]["diff"])
        self.assertIn("hi there", p["detail"])
        self.assertEqual((b.cwd / "hello.txt").read_text().strip(), "hi there")
        self.assertEqual(b.close(), 0)


if __name__ == "__main__":
    unittest.main()
