"""A task directory anyone may have edited: `coco task show`, `coco task ls` and `coco gate ls` read what
they can and name what they cannot, whatever the files hold (deep nesting, broken lines, wrong types).
No codex needed: the directory is written by hand."""
import json
import shutil
import subprocess
import unittest

from harness import COCO_BIN, scratch_dir

TASK_ID = "20250301T100000Z-abcdef"
DEEP = "[" * 100000 + "]" * 100000


def coco(*args, task_root):
    return subprocess.run([COCO_BIN, *args, "--task-root", str(task_root)], capture_output=True, text=True,
                          timeout=60)


class HostileTaskDirTest(unittest.TestCase):
    def setUp(self):
        self.root = scratch_dir("coco-hostile-") / "tasks"
        self.task = self.root / TASK_ID
        (self.task / "agents/app-server/runtime").mkdir(parents=True)
        (self.task / "gates").mkdir()
        (self.task / "task.yaml").write_text(
            f'id: {TASK_ID}\ntitle: "hostile"\nstatus: completed\ncreated: 2025-03-01T10:00:00Z\n'
            'updated: [not, a, time]\ncwd: {a: 1}\nbridge_pid: not-a-number\nbridge_start_ticks: -5\n'
            'agents:\n  - id: app-server\n    kind: [x]\n    status: completed\n  - 5\n'
            '  - id: ../../etc\n    kind: exec\n    status: completed\n')

    def tearDown(self):
        shutil.rmtree(self.root.parent, ignore_errors=True)

    def test_task_show_survives_deep_nesting_broken_lines_and_wrong_types(self):
        (self.task / "events.jsonl").write_text("\n".join([
            '{"seq":1,"ts":"2025-03-01T10:00:00.000Z","type":"task.created"}',
            DEEP,
            '{"seq":3,"ts":"2025-03-01T10:00:01.000Z","type":"gate.resolved","gateId":5,"waitMs":1e308,"by":[]}',
            '{"seq":4,"ts":"2025-03-01T10:00:02.000Z","type":"upstream.exited","restarting":"yes","stderrTail":7}',
            '{"seq":5, torn',
            '7',
            '{"seq":6,"ts":"2025-03-01T10:00:03.000Z","type":"agent.completed","durationMs":"long","agentId":{}}',
        ]) + "\n")
        (self.task / "agents/app-server/runtime/events.jsonl").write_text("\n".join([
            '{"seq":1,"ts":"2025-03-01T10:00:00.100Z","dir":"editor->codex","msg":{"id":1,"method":"turn/start",'
            '"params":{"input":[{"type":"text","text":"hello there"},{"type":5},"x"]}}}',
            '{"seq":2,"ts":"2025-03-01T10:00:00.200Z","dir":"codex->editor","msg":{"method":"item/completed",'
            '"params":{"item":{"type":"commandExecution","command":["ls"],"exitCode":1e300,"durationMs":-1e300,'
            '"aggregatedOutput":5}}}}',
            '{"seq":3,"ts":"2025-03-01T10:00:00.300Z","dir":"codex->editor","msg":{"method":"turn/completed",'
            '"params":{"turn":{"id":[],"status":5,"durationMs":"x","error":"not an object"}}}}',
            '{"seq":4,"dir":"codex->editor","msg":' + DEEP + '}',
            '{"seq":5,"ts":5,"dir":7,"msg":"a string"}',
            '\x00\x01 garbage',
        ]) + "\n")
        r = coco("task", "show", TASK_ID, task_root=self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("hello there", r.stdout)
        self.assertIn("unreadable lines skipped", r.stdout)
        r = coco("task", "ls", task_root=self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(TASK_ID, r.stdout)

    def test_gate_ls_lists_what_it_can_and_names_the_broken_files(self):
        gates = self.task / "gates"
        good = {"gateId": "g1", "kind": "command", "title": "Run `ls`", "status": "open",
                "options": [{"id": "accept", "isDefault": True}, {"id": "decline"}]}
        (gates / "g1.json").write_text(json.dumps(good))
        (gates / "g2.json").write_text('{"gateId": "g2", "status": "op')  # torn
        (gates / "g3.json").write_text(json.dumps({"gateId": 5, "kind": [], "title": None, "status": "open",
                                                   "options": "accept"}))  # wrong types
        (gates / "g4.json").write_text('{"a":' + DEEP + '}')
        (gates / "g5.json").write_text('[1, 2]')
        (gates / "g6.json").write_text(json.dumps({"gateId": "g6", "status": "open", "options": [5, {"id": 7},
                                                   {"id": "ok", "isDefault": "yes"}]}))
        r = coco("gate", "ls", TASK_ID, task_root=self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("g1  [command]  Run `ls`", r.stdout)
        self.assertIn("accept*", r.stdout)
        self.assertIn(" ok", r.stdout)
        for broken in ("g2.json", "g4.json", "g5.json"):
            self.assertIn(broken, r.stderr)
        self.assertNotIn("g1.json", r.stderr)
        # Answering a broken gate is refused with its name, not a crash.
        r = coco("gate", "answer", TASK_ID, "g2", "accept", task_root=self.root)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("g2.json", r.stderr)
        r = coco("gate", "answer", TASK_ID, "g3", "accept", task_root=self.root)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no option", r.stderr)


if __name__ == "__main__":
    unittest.main()
