"""Faults that hold today and must keep holding (issue 13), against the real codex: kill -9 of codex while
a gate is open, kill -9 of the bridge, SIGTERM/SIGINT/SIGHUP, stdin EOF with a gate open, a frozen codex,
and a full disk under the task root. (kill -9 mid-turn and the restart budget: test_bridge_restart.py.)
Every wait has a deadline; nothing sleeps for a fixed time."""
import json
import os
import signal
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import COCO_BIN, CodexTestCase, read_jsonl, wait_until

ESCALATED = """
steps:
  - exec: "echo escalated > escalated.txt"
    escalated: true
    justification: "Write escalated.txt in the project?"
  - message: "Done."
"""

SLOW = """
steps:
  - message: "You waited for this."
    delay_ms: 60000
"""

PROMPT_CAPS = {"coco": {"approvals": "prompt"}}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes (its parent, the bridge, may be dead too).
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def task_show(task_root, task_id):
    return subprocess.run([COCO_BIN, "task", "show", task_id, "--task-root", str(task_root)],
                          capture_output=True, text=True, timeout=60)


def task_yaml_field(task_dir, field):
    for line in (Path(task_dir) / "task.yaml").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


class GateFaultsTest(CodexTestCase):
    script_text = ESCALATED

    def open_gate(self, b):
        b.initialize(capabilities=PROMPT_CAPS)
        thread = b.start_thread()
        b.request("turn/start", {"threadId": thread, "input": [{"type": "text", "text": "write the file"}]})
        return b.wait_for(lambda m: m.get("method") == "coco/approval/request" and "id" in m, what="the gate")

    def test_kill_codex_mid_gate(self):
        b = self.bridge()
        gate = self.open_gate(b)
        codex_pid = b.call("coco/status")["result"]["upstream"]["pid"]
        os.kill(codex_pid, signal.SIGKILL)
        exited = b.notification("coco/upstream/exited")
        self.assertEqual(exited["params"]["signal"], 9)
        b.notification("coco/upstream/restarted")
        # The gate's codex is gone: the gate is closed on disk, and a late answer is dropped quietly.
        gate_file = b.task_dir() / "gates" / (gate["params"]["gateId"] + ".json")
        wait_until(lambda: json.loads(gate_file.read_text())["status"] != "open", what="the gate to close")
        b.respond(gate["id"], {"optionId": "accept"})
        self.assertEqual(b.call("coco/status")["result"]["upstream"]["state"], "ready")
        self.assertFalse((b.cwd / "escalated.txt").exists())
        self.assertEqual(b.close(), 0)
        self.assertEqual(task_yaml_field(b.task_dir(), "status"), "completed")

    def test_stdin_eof_with_a_gate_open(self):
        b = self.bridge()
        gate = self.open_gate(b)
        codex_pid = b.call("coco/status")["result"]["upstream"]["pid"]
        self.assertEqual(b.close(), 0)  # the editor goes away mid-question: a clean exit
        wait_until(lambda: not alive(codex_pid), what="codex to be stopped")
        task = b.task_dir()
        self.assertEqual(task_yaml_field(task, "status"), "completed")
        gate_file = task / "gates" / (gate["params"]["gateId"] + ".json")
        self.assertNotEqual(json.loads(gate_file.read_text())["status"], "open")
        self.assertFalse((b.cwd / "escalated.txt").exists())


class ProcessFaultsTest(CodexTestCase):
    script_text = SLOW

    def start(self, **kw):
        b = self.bridge(**kw)
        b.initialize()
        thread = b.start_thread()
        tid = b.request("turn/start", {"threadId": thread, "input": [{"type": "text", "text": "go"}]})
        self.assertIn("result", b.response(tid))
        b.notification("turn/started")
        return b, b.call("coco/status")["result"]["upstream"]["pid"]

    def test_kill_9_the_bridge_leaves_a_readable_interrupted_task_and_no_codex(self):
        b, codex_pid = self.start()
        b.proc.kill()
        b.proc.wait(timeout=30)
        # codex reads EOF on its stdin and goes too.
        wait_until(lambda: not alive(codex_pid), timeout=60, what="codex to exit after the bridge died")
        task = b.task_dir()
        r = task_show(b.task_root, task.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Status:   interrupted", r.stdout)
        self.assertIn("You:", r.stdout)
        ls = subprocess.run([COCO_BIN, "task", "ls", "--task-root", str(b.task_root)], capture_output=True, text=True,
                            timeout=60)
        self.assertIn("interrupted", ls.stdout)
        # Whatever reached the disk parses (a torn last line at most).
        lines = (task / "agents/app-server/runtime/events.jsonl").read_text().splitlines()
        bad = 0
        for line in lines:
            try:
                json.loads(line)
            except ValueError:
                bad += 1
        self.assertLessEqual(bad, 1)

    def check_signal(self, sig):
        b, codex_pid = self.start()
        b.proc.send_signal(sig)
        self.assertEqual(b.proc.wait(timeout=60), 0)
        wait_until(lambda: not alive(codex_pid), what="codex to be stopped")
        task = b.task_dir()
        self.assertEqual(task_yaml_field(task, "status"), "completed")
        types = [e["type"] for e in read_jsonl(task / "events.jsonl")]
        self.assertEqual(types[-1], "task.completed")

    def test_sigterm(self):
        self.check_signal(signal.SIGTERM)

    def test_sigint(self):
        self.check_signal(signal.SIGINT)

    def test_sighup(self):
        self.check_signal(signal.SIGHUP)

    def test_frozen_codex(self):
        b, codex_pid = self.start()
        os.kill(codex_pid, signal.SIGSTOP)
        try:
            # codex cannot answer, the bridge still does; a request to codex stays pending, not lost.
            pending = b.request("thread/list", {})
            status = b.call("coco/status")["result"]
            self.assertEqual(status["upstream"]["pid"], codex_pid)
            self.assertGreaterEqual(status["pending"]["toCodex"], 1)
        finally:
            os.kill(codex_pid, signal.SIGCONT)
        self.assertIn("result", b.response(pending))
        # Frozen again at shutdown: the staged stop (SIGTERM, then SIGKILL) still ends it.
        os.kill(codex_pid, signal.SIGSTOP)
        self.assertEqual(b.close(timeout=60), 0)
        wait_until(lambda: not alive(codex_pid), what="the frozen codex to be killed")


class FullDiskTest(CodexTestCase):
    script = "hello.yaml"

    def test_full_disk_under_the_task_root(self):
        mnt = Path(tempfile.mkdtemp(prefix="coco-full-", dir=self.work))
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k,mode=0700", "tmpfs", str(mnt)],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs (not root)")
        self.addCleanup(lambda: subprocess.run(["umount", "-l", str(mnt)], capture_output=True))
        b = self.bridge(extra_args=["--task-root", str(mnt / "tasks")])
        b.task_root = mnt / "tasks"
        b.initialize()
        thread = b.start_thread()
        # Fill the disk through the recorder: big requests codex rejects, each recorded both ways.
        for i in range(40):
            b.call("thread/list", {"pad": "x" * 8000, "i": i})
        self.assertEqual(b.run_turn(thread, "hello")["status"], "completed")  # still serving
        self.assertEqual(b.close(), 0)
        task = b.task_dir()
        yaml = (task / "task.yaml").read_text()
        self.assertIn("complete: false", yaml)
        self.assertEqual(task_yaml_field(task, "status"), "completed")
        r = task_show(b.task_root, task.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Recording: INCOMPLETE", r.stdout)


if __name__ == "__main__":
    unittest.main()
