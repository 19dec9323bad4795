"""A flood faster than the disk: the bridge pauses codex until the recorder catches up, so the
recording stays complete and memory bounded.

This is the one integration test without the real codex: codex cannot produce a flood. The stand-in
is bench/'s flood upstream (codex's wire format, hundreds of MB/s of agentMessage deltas), driven by
the bench client, which checks that every delta reaches the editor once and in order.
"""
import json
import os
import subprocess
import unittest
from pathlib import Path

from harness import COCO_BIN, read_jsonl, scratch_dir

BUILD_DIR = Path(COCO_BIN).resolve().parents[1]
FLOOD = os.environ.get("COCO_FLOOD", str(BUILD_DIR / "bench" / "coco_flood_upstream"))
CLIENT = os.environ.get("COCO_BENCH_CLIENT", str(BUILD_DIR / "bench" / "coco_bench_client"))


class RecordingBackpressureTest(unittest.TestCase):
    def setUp(self):
        # A missing stand-in would only show as "codex is not running" deep in the client's output.
        for program in (FLOOD, CLIENT):
            self.assertTrue(os.access(program, os.X_OK), f"{program} is not built (bench/ targets)")
        self.work = scratch_dir("coco-it-rec-")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.work, ignore_errors=True)

    def flood(self, framing, count, size):
        # A small recorder buffer: records are dropped past 8 x 64 KiB, which a 1 KiB flood at
        # hundreds of MB/s overruns within milliseconds unless the bridge stops reading codex.
        config = self.work / "config.yaml"
        config.write_text("recording:\n  buffer_kib: 64\n")
        tasks = self.work / "tasks"
        r = subprocess.run(
            [CLIENT, "throughput", "--framing", framing, "--count", str(count), "--size", str(size),
             "--timeout", "240", "--",
             COCO_BIN, "bridge", "--codex", FLOOD, "--config", str(config), "--task-root", str(tasks),
             "--cwd", str(self.work), "--log-level", "warn"],
            capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["messages"], count)  # all arrived, in order (checked by the client)
        [task] = [d for d in tasks.iterdir() if d.is_dir()]
        return task

    def assert_complete(self, task, count):
        events = read_jsonl(task / "events.jsonl")
        self.assertEqual([e for e in events if e["type"] == "recording.dropped"], [])
        self.assertEqual(events[-1]["type"], "task.completed")
        records = read_jsonl(task / "agents/app-server/runtime/events.jsonl")
        self.assertEqual([r["seq"] for r in records], list(range(1, len(records) + 1)))  # no gap
        deltas = [r for r in records if r.get("msg", {}).get("method") == "item/agentMessage/delta"]
        self.assertEqual(len(deltas), count)
        # The flood numbers its deltas from 0 at the start of the text.
        self.assertEqual([int(d["msg"]["params"]["delta"][:8]) for d in deltas[:3]], [0, 1, 2])
        self.assertEqual(int(deltas[-1]["msg"]["params"]["delta"][:8]), count - 1)

    def test_line_framing_flood_is_recorded_whole(self):
        task = self.flood("lines", 60000, 1024)
        self.assert_complete(task, 60000)

    def test_content_length_flood_of_big_messages_is_recorded_whole(self):
        # 256 KiB messages: each is four times the buffer, so every one lands in the queue past the
        # pause mark, and none may be dropped for that.
        task = self.flood("content-length", 200, 256 * 1024)
        self.assert_complete(task, 200)


if __name__ == "__main__":
    unittest.main()
