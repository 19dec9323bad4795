"""Clients for the "real turn" scenario: codex app-server's JSONL protocol (directly or through coco
bridge) and the Agent Client Protocol (codex-acp), driven the same way and timed the same way.

Every message is stamped with time.monotonic() by the reader thread the moment its line is read, so a
turn's time does not include this driver's own queueing.
"""
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

from . import system


class MockModel:
    """`coco mock-model` on a free loopback port."""

    def __init__(self, coco, script, workdir):
        self.log = open(Path(workdir) / "mock-model.log", "wb")
        self.proc = subprocess.Popen([str(coco), "mock-model", "--script", str(script)],
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"mock-model did not print a port ({line!r}); see {workdir}/mock-model.log")
        self.port = int(line)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


def write_codex_home(home, port):
    """A private CODEX_HOME whose config.toml points codex at the mock model (see codex-notes.md)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'''model = "mock-model"
model_provider = "mock"
approval_policy = "on-request"
sandbox_mode = "read-only"
[analytics]
enabled = false
[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:{port}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
''')
    return home


class Peer:
    """A child process spoken to with one JSON message per line; samples its process tree's memory."""

    def __init__(self, argv, env, cwd, stderr_path, jsonrpc, sample_ms=20):
        self.t_spawn = time.monotonic()
        self._stderr = open(stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env=env, cwd=cwd)
        self.jsonrpc = jsonrpc
        self.inbox = queue.Queue()
        self.on_request = None  # (peer, message) -> result, for requests the peer sends us
        self._next_id = 1
        self.sampler = system.TreeSampler(self.proc.pid)
        self._sampling = True
        self._threads = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=self._sample, args=(sample_ms / 1000,), daemon=True)]
        for t in self._threads:
            t.start()

    def _read(self):
        for line in self.proc.stdout:
            now = time.monotonic()
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "method" in msg and "id" in msg and self.on_request is not None:
                self.send({"id": msg["id"], "result": self.on_request(self, msg)})
                continue
            self.inbox.put((now, msg))
        self.inbox.put((time.monotonic(), None))

    def _sample(self, period):
        while self._sampling and self.proc.poll() is None:
            self.sampler.sample()
            time.sleep(period)

    def send(self, msg):
        if self.jsonrpc:
            msg = {"jsonrpc": "2.0", **msg}
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method, params):
        rid = self._next_id
        self._next_id += 1
        self.send({"id": rid, "method": method, "params": params})
        return rid

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"timed out waiting for {what}")
            try:
                at, msg = self.inbox.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                raise RuntimeError(f"the process closed its output while waiting for {what}")
            if predicate(msg):
                return at, msg

    def call(self, method, params, timeout=60):
        rid = self.request(method, params)
        at, msg = self.wait_for(lambda m: m.get("id") == rid and "method" not in m, timeout, f"the answer to {method}")
        if "error" in msg:
            raise RuntimeError(f"{method} failed: {msg['error']}")
        return at, msg["result"]

    def close(self, timeout=20):
        self._sampling = False
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()


def _approve_app_server(peer, msg):
    # The scripted turn asks for nothing; answer anything codex asks all the same, never hang.
    return {"decision": "accept"}


def run_app_server_turns(argv, env, cwd, stderr_path, prompt, turns, timeout=120):
    """codex app-server's protocol: initialize, thread/start, then `turns` turns. Used for codex directly
    and for coco bridge (which speaks the same protocol, plus "jsonrpc")."""
    peer = Peer(argv, env, cwd, stderr_path, jsonrpc=True)
    peer.on_request = _approve_app_server
    try:
        at_init, _ = peer.call("initialize", {"clientInfo": {"name": "coco_bench", "title": "Coco bench", "version": "0"}}, timeout)
        peer.send({"method": "initialized"})
        at_ready, result = peer.call("thread/start", {"cwd": str(cwd)}, timeout)
        thread_id = result["thread"]["id"]
        times = []
        for _ in range(turns):
            t0 = time.monotonic()
            rid = peer.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": prompt}]})
            _, r = peer.wait_for(lambda m: m.get("id") == rid and "method" not in m, timeout, "the turn/start answer")
            if "error" in r:
                raise RuntimeError(f"turn/start failed: {r['error']}")
            at, done = peer.wait_for(lambda m: m.get("method") == "turn/completed", timeout, "turn/completed")
            status = done["params"]["turn"]["status"]
            if status != "completed":
                raise RuntimeError(f"the turn ended {status}: {done['params']['turn'].get('error')}")
            times.append(at - t0)
        peer.sampler.sample()
        return {"initialize_s": at_init - peer.t_spawn, "ready_s": at_ready - peer.t_spawn, "turn_s": times,
                **peer.sampler.result()}
    finally:
        peer.close()


def _approve_acp(peer, msg):
    if msg["method"] == "session/request_permission":
        options = msg["params"].get("options", [])
        allow = next((o for o in options if o.get("kind", "").startswith("allow")), options[0] if options else None)
        return {"outcome": {"outcome": "selected", "optionId": allow["optionId"]}} if allow else {"outcome": {"outcome": "cancelled"}}
    return None


def run_acp_turns(argv, env, cwd, stderr_path, prompt, turns, timeout=120):
    """The Agent Client Protocol (codex-acp): initialize, session/new, then `turns` session/prompt calls.
    A prompt's answer ({stopReason}) comes when the turn is over, like turn/completed."""
    peer = Peer(argv, env, cwd, stderr_path, jsonrpc=True)
    peer.on_request = _approve_acp
    try:
        at_init, init = peer.call("initialize", {
            "protocolVersion": 1,
            "clientCapabilities": {"fs": {"readTextFile": False, "writeTextFile": False}, "terminal": False},
            "clientInfo": {"name": "coco_bench", "title": "Coco bench", "version": "0"}}, timeout)
        at_ready, session = peer.call("session/new", {"cwd": str(cwd), "mcpServers": []}, timeout)
        sid = session["sessionId"]
        times = []
        for _ in range(turns):
            t0 = time.monotonic()
            at, result = peer.call("session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": prompt}]}, timeout)
            if result.get("stopReason") != "end_turn":
                raise RuntimeError(f"the prompt ended with {result}")
            times.append(at - t0)
        peer.sampler.sample()
        return {"initialize_s": at_init - peer.t_spawn, "ready_s": at_ready - peer.t_spawn, "turn_s": times,
                "agent": init.get("agentInfo"), **peer.sampler.result()}
    finally:
        peer.close()


def _allow_once(peer, msg):
    """An ACP client that approves everything once (and counts what it was asked)."""
    peer.permission_requests = getattr(peer, "permission_requests", 0) + 1
    return _approve_acp(peer, msg)


def run_acp_session(argv, env, cwd, stderr_path, prompts, timeout=120):
    """One scripted ACP session, measured the same way for every agent: spawn -> initialize answer ->
    session/new answer, then each prompt (session/prompt to its answer; permission requests approved at
    once), then the client closes stdin and waits for the agent to exit and for every process of its tree
    to be gone. Memory and CPU are sampled over the whole tree every 20 ms, until the last process is gone."""
    peer = Peer(argv, env, cwd, stderr_path, jsonrpc=True)
    peer.on_request = _allow_once
    try:
        at_init, init = peer.call("initialize", {
            "protocolVersion": 1,
            "clientCapabilities": {"fs": {"readTextFile": False, "writeTextFile": False}, "terminal": False},
            "clientInfo": {"name": "coco_bench", "title": "Coco bench", "version": "0"}}, timeout)
        at_ready, session = peer.call("session/new", {"cwd": str(cwd), "mcpServers": []}, timeout)
        sid = session["sessionId"]
        prompt_s = []
        for text in prompts:
            t0 = time.monotonic()
            at, result = peer.call("session/prompt", {"sessionId": sid, "prompt": [{"type": "text", "text": text}]}, timeout)
            if result.get("stopReason") != "end_turn":
                raise RuntimeError(f"the prompt {text!r} ended with {result}")
            prompt_s.append(at - t0)
        peer.sampler.sample()
        # The client leaves: stdin closes. How long until the agent exits, and until its whole tree is gone?
        peer._sampling = False
        for t in peer._threads[1:]:
            t.join()
        t_eof = time.monotonic()
        peer.proc.stdin.close()
        while peer.proc.poll() is None:
            peer.sampler.sample()
            if time.monotonic() - t_eof > timeout:
                raise RuntimeError("the agent did not exit after its stdin closed")
            time.sleep(0.005)
        exit_s = time.monotonic() - t_eof
        names = {pid: name for pid, (name, _) in peer.sampler.cpu.items()}
        left = [p for p in names if p != peer.proc.pid]
        while left and time.monotonic() - t_eof < 10:
            for p in list(left):
                used = system.cpu_s(p)
                if used is None or system.comm(p) != names[p]:
                    left.remove(p)
                else:
                    peer.sampler.cpu[p] = (names[p], max(used, peer.sampler.cpu[p][1]))
            time.sleep(0.005)
        tree_gone_s = time.monotonic() - t_eof
        return {"initialize_s": at_init - peer.t_spawn, "ready_s": at_ready - peer.t_spawn, "prompt_s": prompt_s,
                "permission_requests": getattr(peer, "permission_requests", 0), "exit_after_eof_s": exit_s,
                "tree_gone_after_eof_s": tree_gone_s, "left_after_10s": [names[p] for p in left],
                "agent": init.get("agentInfo"), "exit_code": peer.proc.returncode, **peer.sampler.result()}
    finally:
        peer.close()
