"""Memory a peer can grow (issue 13): what the bridge's RSS does when the editor never reads, and what
one very large frame costs. The bridge runs in front of tests/integration/fake_codex.py (a scripted
stand-in for codex), so the figures are the bridge's own, not codex's.

Used by `bench/run --only bounds`; docs/reliability.md quotes the results.
"""
import json
import os
import select
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE_CODEX = ROOT / "tests" / "integration" / "fake_codex.py"


def proc_status_kb(pid, field):
    """VmRSS / VmHWM (peak RSS) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class RawBridge:
    """`coco bridge` in front of the fake codex, spoken to with raw bytes (lines framing unless
    `content_length`), answers read only when asked."""

    def __init__(self, coco, workdir, extra_args=(), content_length=False):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.content_length = content_length
        self.stderr = open(self.workdir / "bridge.stderr", "wb")
        env = dict(os.environ, COCO_HOME=str(self.workdir / "coco-home"))
        self.proc = subprocess.Popen(
            [str(coco), "bridge", "--codex", str(FAKE_CODEX), "--task-root", str(self.workdir / "tasks"),
             "--cwd", str(self.workdir), "--log-level", "warn", *extra_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        self.out = self.proc.stdout

    def frame(self, body: bytes) -> bytes:
        if self.content_length:
            return b"Content-Length: %d\r\n\r\n" % len(body) + body
        return body + b"\n"

    def send(self, body: bytes):
        self.proc.stdin.write(self.frame(body))
        self.proc.stdin.flush()

    def read_message(self):
        if self.content_length:
            length = None
            while True:
                h = self.out.readline()
                if not h:
                    raise EOFError("the bridge closed its output")
                h = h.strip()
                if not h:
                    break
                k, _, v = h.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            return json.loads(self.out.read(length))
        line = self.out.readline()
        if not line:
            raise EOFError("the bridge closed its output")
        return json.loads(line)

    def call(self, id_, method, params=None):
        msg = {"jsonrpc": "2.0", "id": id_, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(json.dumps(msg).encode())
        while True:
            m = self.read_message()
            if m.get("id") == id_ and "method" not in m:
                return m

    def rss_kb(self):
        return proc_status_kb(self.proc.pid, "VmRSS")

    def peak_rss_kb(self):
        return proc_status_kb(self.proc.pid, "VmHWM")

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.out.close()
        self.stderr.close()
        return code


def unread_requests(coco, workdir, count=100_000, blocked_after_s=5.0):
    """An editor that sends `count` coco/status requests and reads none of the answers. Returns how many
    the bridge took before it stopped reading (the editor's writes then block), its RSS at that point,
    and, once everything is read, whether every request got its answer."""
    b = RawBridge(coco, workdir)
    b.call("init", "initialize", {"clientInfo": {"name": "bounds", "version": "0"}})
    idle_kb = b.rss_kb()
    fd = b.proc.stdin.fileno()
    os.set_blocking(fd, False)
    pending = b""
    sent = 0
    blocked = False
    while sent < count or pending:
        if not pending:
            pending = b.frame(json.dumps({"jsonrpc": "2.0", "id": sent, "method": "coco/status"}).encode())
            sent += 1
        try:
            n = os.write(fd, pending)
            pending = pending[n:]
        except BlockingIOError:
            # The pipe is full: wait for the bridge to read more, or conclude that it stopped reading.
            _, writable, _ = select.select([], [fd], [], blocked_after_s)
            if not writable:
                blocked = True
                break
    taken = sent - (1 if pending else 0)
    rss_kb, peak_kb = b.rss_kb(), b.peak_rss_kb()
    # Now read: every request the bridge took gets its answer, then it reads the rest.
    os.set_blocking(fd, True)
    answered = 0

    def writer():
        nonlocal pending, sent
        b.proc.stdin.write(pending)
        for i in range(sent, count):
            b.proc.stdin.write(b.frame(json.dumps({"jsonrpc": "2.0", "id": i, "method": "coco/status"}).encode()))
        b.proc.stdin.flush()
    import threading
    t = threading.Thread(target=writer)
    t.start()
    ids = set()
    while answered < count:
        m = b.read_message()
        if "result" in m and isinstance(m.get("id"), int):
            ids.add(m["id"])
            answered += 1
    t.join()
    code = b.close()
    return {"requests": count, "blocked": blocked, "taken_before_blocking": taken,
            "idle_rss_kb": idle_kb, "rss_kb_when_blocked": rss_kb, "peak_rss_kb": peak_kb,
            "all_answered": ids == set(range(count)), "exit_code": code}


def big_frame(coco, workdir, size, where, content_length=False):
    """Peak RSS of a bridge that handles one frame of `size` bytes: `where` is editor-valid (a
    notification forwarded to codex), editor-invalid (the same with a NUL: not JSON), editor-request (a
    coco/* request, parsed and answered by the bridge), or codex (a notification from codex passed
    through to the editor)."""
    b = RawBridge(coco, workdir, ["--max-frame-bytes", str(size + (1 << 20))], content_length=content_length)
    b.call("init", "initialize", {"clientInfo": {"name": "bounds", "version": "0"}})
    before_kb = b.peak_rss_kb()
    pad = b"x" * size
    if where == "editor-valid":
        b.send(b'{"jsonrpc":"2.0","method":"fake/note","params":{"pad":"' + pad + b'"}}')
    elif where == "editor-invalid":
        b.send(b'{"jsonrpc":"2.0","method":"fake/note","params":{"pad":"\x00' + pad + b'"}}')
    elif where == "editor-request":
        b.send(b'{"jsonrpc":"2.0","id":"big","method":"coco/status","params":{"pad":"' + pad + b'"}}')
    elif where == "codex":
        r = b.call("emit", "fake/emit", {"big": {"prefix": '{"method":"x/y","params":{"pad":"', "suffix": '"}}', "size": size}})
        assert "result" in r, r
    else:
        raise ValueError(where)
    r = b.call("after", "coco/status")  # handled after the big frame, and its recording queued
    assert "result" in r, r
    peak_kb = b.peak_rss_kb()
    b.close()
    return {"size": size, "where": where, "framing": "content-length" if content_length else "lines",
            "peak_rss_before_kb": before_kb, "peak_rss_kb": peak_kb, "added_mb": round((peak_kb - before_kb) / 1024, 1)}


def run_all(coco, workdir, quick=False):
    work = Path(tempfile.mkdtemp(prefix="bounds-", dir=workdir))
    out = {"unread_requests": unread_requests(coco, work / "unread", 20_000 if quick else 100_000)}
    size = 60 * 1000 * 1000
    for where in ("editor-valid", "editor-invalid", "editor-request", "codex"):
        out[f"frame {where}"] = big_frame(coco, work / where, size, where)
    out["frame editor-valid content-length"] = big_frame(coco, work / "cl", size, "editor-valid", content_length=True)
    return out


if __name__ == "__main__":
    import sys
    print(json.dumps(run_all(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else tempfile.gettempdir())), indent=2))
