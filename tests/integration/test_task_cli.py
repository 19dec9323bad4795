"""`coco task ls|show` rebuild a task from its directory alone, including after a SIGKILL."""
import os
import signal
import subprocess
import unittest

from harness import COCO_BIN, CodexTestCase, read_jsonl, scratch_dir, wait_until

PROMPT = "Run a command for me"


class TaskCliTest(CodexTestCase):
    script = "exec.yaml"

    def coco(self, *args, task_root):
        r = subprocess.run([COCO_BIN, *args, "--task-root", str(task_root)], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_show_after_a_clean_session(self):
        b = self.bridge()
        b.initialize()
        thread_id = b.start_thread()
        turn = b.run_turn(thread_id, PROMPT)
        self.assertEqual(turn["status"], "completed")
        self.assertEqual(b.close(), 0)
        task = b.task_dir()

        listing = self.coco("task", "ls", task_root=b.task_root)
        self.assertIn(task.name, listing)
        self.assertIn("completed", listing)
        self.assertIn(PROMPT, listing)

        shown = self.coco("task", "show", task.name, task_root=b.task_root)
        self.assertIn(PROMPT, shown)
        self.assertIn("echo hi from the sandbox", shown)   # the command
        self.assertIn("The command printed: hi from the sandbox", shown)  # the agent's answer
        self.assertIn("exit", shown.lower())
        # A path works as well as an id.
        self.assertEqual(self.coco("task", "show", str(task), task_root=b.task_root), shown)

    def test_sigkilled_bridge_shows_as_interrupted(self):
        b = self.bridge()
        b.initialize()
        thread_id = b.start_thread()
        b.run_turn(thread_id, PROMPT)
        task = b.task_dir()
        # Wait until the completed turn is on disk, then kill the bridge without warning.
        wait_until(lambda: any(e.get("type") == "turn.completed" for e in read_jsonl(task / "events.jsonl")),
                   what="turn.completed in events.jsonl")
        os.kill(b.proc.pid, signal.SIGKILL)
        b.proc.wait()

        listing = self.coco("task", "ls", task_root=b.task_root)
        self.assertIn("interrupted", listing)
        shown = self.coco("task", "show", task.name, task_root=b.task_root)
        self.assertIn("interrupted", shown)
        self.assertIn(PROMPT, shown)
        self.assertIn("The command printed: hi from the sandbox", shown)


class DemoTest(unittest.TestCase):
    def test_demo_runs_offline(self):
        home = str(scratch_dir("coco-demo-test-"))
        env = dict(os.environ, COCO_HOME=home)
        r = subprocess.run([COCO_BIN, "demo"], capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("$ /bin/bash -lc", r.stdout)  # the agent ran a command...
        self.assertIn("(exit code 0)", r.stdout)    # ...which succeeded in the sandbox
        self.assertIn("README.txt", r.stdout)       # ...and listed the demo workspace
        self.assertIn("[turn completed]", r.stdout)
        self.assertIn("rebuilt from the task directory", r.stdout)
        self.assertIn("Task directory: " + os.path.join(home, "tasks"), r.stdout)
        tasks = os.listdir(os.path.join(home, "tasks"))
        self.assertEqual(len(tasks), 1)


if __name__ == "__main__":
    unittest.main()
