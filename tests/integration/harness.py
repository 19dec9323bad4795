"""Shared helpers for the integration tests: they drive the real `coco` binary and the real pinned
codex against `coco mock-model`. Everything waits on events with deadlines; nothing sleeps.

Environment (set by ctest): COCO_BIN (the coco executable), COCO_SOURCE_DIR (the checkout).
"""
import functools
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("COCO_SOURCE_DIR", Path(__file__).resolve().parents[2]))
COCO_BIN = os.environ.get("COCO_BIN", str(SOURCE_DIR / "build" / "cli" / "coco"))
SCRIPTS = SOURCE_DIR / "mockmodel" / "scripts"
CODEX_NATIVE = SOURCE_DIR / ".tools/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
DEFAULT_TIMEOUT = 60.0
# Scratch space for tests. Not under /tmp: codex refuses to create its sandbox helper aliases when
# CODEX_HOME is inside the system temp dir, and then every sandboxed command fails.
TEST_TMP = Path(os.environ.get("COCO_TEST_TMPDIR", Path.home() / ".cache" / "coco-tests"))


@functools.lru_cache(maxsize=None)
def coco_schema():
    """`coco schema`, the contract of every coco/* message (validated below, so it cannot drift)."""
    return json.loads(subprocess.run([COCO_BIN, "schema"], check=True, capture_output=True).stdout)


class SchemaChecker:
    """Validates every coco/* message the bridge sends against `coco schema`: requests, notifications,
    the results of coco/* requests the test made, and the coco part of initialize's result.
    Needs Debian's python3-jsonschema (./dev installs it): a missing module fails the tests."""

    def __init__(self):
        import jsonschema  # noqa: deliberately not optional
        self.doc = coco_schema()
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.validator_class = jsonschema.Draft202012Validator
        self.errors = []
        self.checked = 0

    def check(self, schema, value, what):
        self.checked += 1
        v = self.validator_class(schema, resolver=self.resolver)
        for e in v.iter_errors(value):
            self.errors.append(f"{what}: {e.message} at {list(e.absolute_path)}")

    def incoming(self, msg, sent_methods):
        method = msg.get("method")
        if isinstance(method, str) and method.startswith("coco/"):
            if "id" in msg:
                spec = self.doc["methods"].get(method)
                if spec is None or spec["direction"] != "bridge->editor":
                    self.errors.append(f"request {method} is not in the schema as bridge->editor")
                else:
                    self.check(spec["params"], msg.get("params"), f"params of {method}")
            else:
                spec = self.doc["notifications"].get(method)
                if spec is None:
                    self.errors.append(f"notification {method} is not in the schema")
                else:
                    self.check(spec["params"], msg.get("params"), f"params of {method}")
        elif method is None and "result" in msg:
            asked = sent_methods.get(json.dumps(msg.get("id")))
            if asked == "initialize":
                self.check(self.doc["initialize"]["result"], msg["result"], "the result of initialize")
            elif asked and asked.startswith("coco/"):
                spec = self.doc["methods"].get(asked)
                if spec is None:
                    self.errors.append(f"method {asked} answered but not in the schema")
                else:
                    self.check(spec["result"], msg["result"], f"the result of {asked}")
# What AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer and ThreadSanitizer print. In a
# sanitized build (./dev test runs one) a report in any child's stderr fails the test, even when the
# child went on or exited 0.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer", "WARNING: ThreadSanitizer")


def sanitizer_report(text):
    """The first sanitizer report in `text` (with some context), or None."""
    for marker in SANITIZER_MARKERS:
        at = text.find(marker)
        if at >= 0:
            return text[max(0, at - 200):at + 3000]
    return None


def scratch_dir(prefix):
    TEST_TMP.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=TEST_TMP))


def codex_path():
    if os.environ.get("COCO_CODEX"):
        return os.environ["COCO_CODEX"]
    return str(CODEX_NATIVE)


class MockModel:
    """`coco mock-model` on a free loopback port, from a script file or YAML text."""

    def __init__(self, script=None, text=None, workdir=None):
        self.dir = Path(workdir or scratch_dir("coco-mm-"))
        if text is not None:
            script = self.dir / "script.yaml"
            script.write_text(text)
        self.log = open(self.dir / "mock-model.log", "wb")
        self.proc = subprocess.Popen([COCO_BIN, "mock-model", "--script", str(script)],
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"mock-model did not print a port: {line!r}; log: {self.dir}/mock-model.log")
        self.port = int(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.proc.stdout.close()


def write_codex_home(home, port, model="mock-model", approval_policy="on-request", sandbox="read-only"):
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'''model = "{model}"
model_provider = "mock"
approval_policy = "{approval_policy}"
sandbox_mode = "{sandbox}"
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


class Bridge:
    """A `coco bridge` child spoken to as an editor would, in either framing."""

    def __init__(self, workdir, codex_home, framing="lines", extra_args=(), env=None):
        self.workdir = Path(workdir)
        self.framing = framing
        self.task_root = self.workdir / "tasks"
        self.cwd = self.workdir / "project"
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self.workdir / "bridge.stderr"
        full_env = dict(os.environ)
        full_env["CODEX_HOME"] = str(codex_home)
        full_env["COCO_HOME"] = str(self.workdir / "coco-home")  # workers' CODEX_HOMEs go there
        full_env.update(env or {})
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [COCO_BIN, "bridge", "--codex", codex_path(), "--task-root", str(self.task_root),
             "--cwd", str(self.cwd), "--log-level", "debug", *extra_args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=full_env)
        self.inbox = queue.Queue()
        self.seen = []  # every message received, in order
        self.schema = SchemaChecker()
        self._sent_methods = {}  # json(id) -> method, for the requests this editor sent
        self.raw_frames = []
        self._next_id = 100
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- wire ---------------------------------------------------------------------------------
    def _read(self):
        out = self.proc.stdout
        while True:
            if self.framing == "lines":
                line = out.readline()
                if not line:
                    break
                body = line
            else:
                headers = {}
                while True:
                    h = out.readline()
                    if not h:
                        self.inbox.put(None)
                        return
                    h = h.decode().strip()
                    if not h:
                        break
                    k, _, v = h.partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers["content-length"])
                body = out.read(n)
            self.raw_frames.append(body)
            try:
                msg = json.loads(body)
            except ValueError:
                msg = {"__unparseable__": body.decode(errors="replace")}
            if isinstance(msg, dict):
                self.schema.incoming(msg, self._sent_methods)
            self.inbox.put(msg)
        self.inbox.put(None)

    def send_raw(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, msg, pretty=False):
        body = json.dumps(msg, indent=2 if pretty else None).encode()
        if self.framing == "lines":
            self.send_raw(body + b"\n")
        else:
            self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method, params=None, id=None):
        if id is None:
            id = self._next_id
            self._next_id += 1
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self._sent_methods[json.dumps(id)] = method
        self.send(msg)
        return id

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def respond(self, id, result):
        self.send({"jsonrpc": "2.0", "id": id, "result": result})

    # -- waiting --------------------------------------------------------------------------------
    def wait_for(self, predicate, timeout=DEFAULT_TIMEOUT, what="a message"):
        """Returns the first message (already seen or new) for which predicate is true."""
        for m in self.seen:
            if predicate(m):
                return m
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; last messages: {self.seen[-5:]}\n"
                                     f"bridge stderr tail: {self.stderr_tail()}")
            try:
                m = self.inbox.get(timeout=left)
            except queue.Empty:
                continue
            if m is None:
                raise AssertionError(f"the bridge closed its output while waiting for {what}; "
                                     f"stderr tail: {self.stderr_tail()}")
            self.seen.append(m)
            if predicate(m):
                return m

    def response(self, id, timeout=DEFAULT_TIMEOUT):
        return self.wait_for(lambda m: "method" not in m and m.get("id") == id and ("result" in m or "error" in m),
                             timeout, f"the response to id {id!r}")

    def call(self, method, params=None, id=None, timeout=DEFAULT_TIMEOUT):
        rid = self.request(method, params, id)
        return self.response(rid, timeout)

    def notification(self, method, timeout=DEFAULT_TIMEOUT, where=lambda p: True):
        return self.wait_for(lambda m: m.get("method") == method and "id" not in m and where(m.get("params", {})),
                             timeout, f"notification {method}")

    def stderr_tail(self, n=3000):
        try:
            return self.stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    # -- session helpers -----------------------------------------------------------------------
    def initialize(self, id=0, capabilities=None):
        params = {"clientInfo": {"name": "coco_tests", "title": "Coco tests", "version": "0"}}
        if capabilities is not None:
            params["capabilities"] = capabilities
        r = self.call("initialize", params, id=id)
        assert "result" in r, r
        self.notify("initialized")
        return r["result"]

    def start_thread(self, **params):
        params.setdefault("cwd", str(self.cwd))
        r = self.call("thread/start", params)
        assert "result" in r, r
        return r["result"]["thread"]["id"]

    def run_turn(self, thread_id, text, timeout=DEFAULT_TIMEOUT, on_request=None):
        """Starts a turn and waits for turn/completed, answering server requests with on_request."""
        tid = self.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]})
        start = len(self.seen)
        r = self.response(tid)
        assert "result" in r, r
        turn_id = r["result"]["turn"]["id"]
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.seen):
                m = self.seen[i]
                i += 1
                if "id" in m and "method" in m and on_request is not None:
                    on_request(self, m)
                if m.get("method") == "turn/completed" and m["params"]["turn"]["id"] == turn_id:
                    return m["params"]["turn"]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"turn {turn_id} did not complete; last: {self.seen[-5:]}")
            m = self.inbox.get(timeout=left)
            if m is None:
                raise AssertionError("bridge closed while waiting for turn/completed")
            self.seen.append(m)

    def close(self, timeout=30):
        """Closes stdin (the editor goes away) and returns the bridge's exit code."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def task_dir(self):
        dirs = [d for d in self.task_root.iterdir() if d.is_dir() and not d.name.startswith(".")]
        assert len(dirs) == 1, dirs
        return dirs[0]


def wait_until(condition, timeout=DEFAULT_TIMEOUT, what="a condition", poll=0.02):
    """Polls a condition on disk (files have no events to wait on) until it holds or the deadline."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        tick.wait(poll)


def read_jsonl(path):
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


class CodexTestCase(unittest.TestCase):
    """Gives each test a scratch dir, a mock model and a private CODEX_HOME; cleans up after."""

    script = None       # a file name under mockmodel/scripts
    script_text = None  # or YAML text
    model = "mock-model"

    def setUp(self):
        self.work = scratch_dir("coco-it-")
        self.mock = MockModel(script=(SCRIPTS / self.script) if self.script else None, text=self.script_text,
                              workdir=self.work)
        self.codex_home = write_codex_home(self.work / "codex-home", self.mock.port, model=self.model)
        self.coco_home = self.work / "coco-home"  # for the coco processes a test starts itself
        self.bridges = []

    def tearDown(self):
        schema_errors = []
        for b in self.bridges:
            if b.proc.poll() is None:
                b.proc.kill()
                b.proc.wait()
            b._reader.join(timeout=10)  # every message the bridge wrote has been checked
            schema_errors += b.schema.errors
            for f in (b.proc.stdin, b.proc.stdout, b._stderr):
                try:
                    f.close()
                except (OSError, ValueError):
                    pass
        self.mock.close()
        reports = []
        for path in [b.stderr_path for b in self.bridges] + [self.mock.dir / "mock-model.log"]:
            try:
                report = sanitizer_report(Path(path).read_text(errors="replace"))
            except OSError:
                report = None
            if report:
                reports.append(f"{path}:\n{report}")
        if os.environ.get("COCO_KEEP_TEST_DIRS") or reports:
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        self.assertEqual(schema_errors, [], "coco/* messages that do not match `coco schema`")
        if reports:
            self.fail("sanitizer report in a child's stderr:\n" + "\n".join(reports))

    def bridge(self, framing="lines", extra_args=(), env=None):
        b = Bridge(self.work / f"b{len(self.bridges)}", self.codex_home, framing, extra_args, env)
        self.bridges.append(b)
        return b
