"""The hostile-input table (issue 13): hundreds of bad messages from both sides through the real bridge.

From the editor: broken JSON, NUL and invalid UTF-8, deep nesting, scalars and batches, ids, methods
and params of every wrong type, wrong types for every field of every coco/* method, of `initialize`,
of the answers to coco/approval/request and window/showMessageRequest, of codex's raw requests passed
through, and decision files in the task directory. From codex (tests/integration/fake_codex.py, a
scripted stand-in that sends what it is told): the same byte-level junk, responses with bad ids, and
wrong types for every field the bridge reads in codex's notifications, requests and answers (gates/
prompt.cpp, gate_keeper.cpp, session.cpp, codex_face.cpp).

Every case checks three things:
- the documented error or recovery (docs/protocol.md "Recovery from bad frames" and "Error codes",
  docs/approvals.md, docs/reliability.md);
- the bridge keeps serving: after each case a coco/* request (answered by the bridge) and a request
  that goes through codex and back are answered;
- the recording: at the end every line of every file of the task directory parses with a strict JSON
  reader, the message log holds each case's marker (what arrived is recorded, escaped when it is not
  JSON), and no handler raised (no `bridge.error` event: every field is read with a type check).

One bridge serves many cases, so the whole table runs in seconds.
"""
import base64
import json
import os
import unittest
from pathlib import Path

from harness import CodexTestCase, wait_until

FAKE_CODEX = str(Path(__file__).resolve().parent / "fake_codex.py")
VERBOSE = bool(os.environ.get("COCO_TABLE_VERBOSE"))  # print what came back for each case
CAP = 4 << 20  # --max-frame-bytes for the editor-side tables: the 100,000-level and 1 MiB cases fit
BIG = 1200 * 1000  # over 1 MiB: codex-bound messages this large are forwarded without a JSON tree
DEEP = 600  # beyond the 512-level cap (protocol::kMaxJsonDepth)
VERY_DEEP = 100_000

# Wrong values for a field, by the type it should have.
NOT_STRING = [5, -1.5, None, True, [], ["a"], {}, {"a": "b"}]
NOT_OBJECT = [5, "x", None, False, [], [1, 2]]
NOT_ARRAY = [5, "x", None, True, {}, {"0": "a"}]
NOT_NUMBER = ["5", None, True, [], {}]
ANY_WRONG = [5, "x", None, True, [], {}, -1e300]


def strict_loads(text):
    """json.loads that also refuses NaN and Infinity (not JSON, though Python accepts them)."""
    def bad_constant(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=bad_constant)


def deep(levels, open_="[", close="]", inner="0"):
    return open_ * levels + inner + close * levels


def b64(data: bytes):
    return base64.b64encode(data).decode()


def enc(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def error_code(m):
    e = m.get("error")
    return e.get("code") if isinstance(e, dict) else None


class Table:
    """Runs cases against one bridge; collects failures instead of stopping at the first."""

    def __init__(self, test, bridge, name):
        self.test = test
        self.b = bridge
        self.name = name
        self.n = 0
        self.failures = []
        self.markers = []  # (marker, case name): must appear in the message log
        self.ran = 0
        self.dead = False

    def marker(self):
        self.n += 1
        return f"{self.name}-m{self.n}"

    def window_since(self, start):
        return self.b.seen[start:]

    def probe(self, tag):
        """The bridge still serves: a coco/* request, and a request through codex and back."""
        r = self.b.call("coco/status", id=f"status-{tag}", timeout=20)
        if r.get("result", {}).get("upstream", {}).get("state") != "ready":
            raise AssertionError(f"coco/status after the case: {r}")
        r = self.b.call("fake/echo", {"tag": tag}, id=f"echo-{tag}", timeout=20)
        if r.get("result", {}).get("params", {}).get("tag") != tag:
            raise AssertionError(f"fake/echo after the case: {r}")

    def run(self, case_name, action, check=None, recorded=True):
        """action(marker) sends the hostile input; check(window, marker) asserts on what came back
        (every message received up to the probes' answers)."""
        if self.dead:
            return
        mark = self.marker()
        self.ran += 1
        start = len(self.b.seen)
        try:
            if action(mark) is False:
                recorded = False
            self.probe(mark)
            window = self.window_since(start)
            if VERBOSE:
                print(f"\n{mark} {case_name}:", [str(m)[:300] for m in window
                                                  if not str(m.get("id", "")).startswith(("status-", "echo-"))])
            if check:
                check(window, mark)
            if recorded:
                self.markers.append((mark, case_name))
        except AssertionError as e:
            self.failures.append(f"[{self.name}] {case_name} ({mark}): {e}")
        except OSError as e:  # BrokenPipeError: the bridge is gone, and the rest of the table with it
            self.failures.append(f"[{self.name}] {case_name} ({mark}): the bridge died: {e}; stderr: {self.b.stderr_tail(500)}")
            self.dead = True

    def finish(self):
        """Closes the bridge and checks the recording; returns the number of cases run."""
        b = self.b
        try:
            code = b.close()
        except OSError:
            code = b.proc.wait(timeout=30)
        if code != 0:
            self.failures.append(f"[{self.name}] the bridge exited {code}; stderr: {b.stderr_tail()}")
        task = b.task_dir()
        log_text = ""
        for path in sorted(task.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.suffix == ".jsonl":
                for i, line in enumerate(path.read_bytes().split(b"\n")):
                    if not line:
                        continue
                    try:
                        strict_loads(line.decode("utf-8"))
                    except (ValueError, UnicodeDecodeError) as e:
                        self.failures.append(f"[{self.name}] {path.relative_to(task)} line {i + 1} is not JSON: {e}: {line[:200]!r}")
                if path.name == "events.jsonl" and path.parent.name == "runtime":
                    log_text += path.read_text(errors="replace")
            elif path.suffix == ".json" and path.parent.name == "gates":
                try:
                    strict_loads(path.read_text())
                except ValueError as e:
                    self.failures.append(f"[{self.name}] {path.relative_to(task)} is not JSON: {e}")
        for mark, case_name in self.markers:
            if mark not in log_text:
                self.failures.append(f"[{self.name}] {case_name} ({mark}): not in the message log")
        events = [strict_loads(line) for line in (task / "events.jsonl").read_text().splitlines()]
        for e in events:
            if e.get("type") in ("bridge.error", "bridge.failed"):
                self.failures.append(f"[{self.name}] a handler raised: {e}")
        if events[-1].get("type") != "task.completed":
            self.failures.append(f"[{self.name}] the task did not complete: {events[-1]}")
        return self.ran


# ------------------------------------------------------------------------------------------------
# Checks


MARK = object()  # stands for the case's marker, which the case uses as its id


def answered(id_, code=None, message_has=None):
    """The case's request got an answer with `id_` (MARK: the marker; a function: of the marker): an
    error `code`, or a result when code is None."""
    def check(window, mark):
        want = mark if id_ is MARK else id_(mark) if callable(id_) else id_
        got = [m for m in window if "method" not in m and m.get("id") == want and ("result" in m or "error" in m)]
        if not got:
            raise AssertionError(f"no answer with id {str(want)[:60]!r}: {str(window[-4:])[:1000]}")
        m = got[0]
        if code is None:
            if "result" not in m:
                raise AssertionError(f"expected a result, got {m}")
        else:
            if error_code(m) != code:
                raise AssertionError(f"expected error {code}, got {m}")
            if message_has and message_has not in m["error"].get("message", ""):
                raise AssertionError(f"expected {message_has!r} in the message: {m}")
    return check


def null_id_error(code):
    def check(window, mark):
        if not any(error_code(m) == code and m.get("id") is None for m in window):
            raise AssertionError(f"no error {code} with id null: {window[-4:]}")
    return check


def no_answer(bridge=None):
    """Nothing but the probes' answers (and those to the test's own requests through `bridge`): a bad
    response or notification is dropped (and recorded)."""
    def check(window, mark):
        extra = [m for m in window if "method" not in m and not str(m.get("id", "")).startswith(("status-", "echo-"))
                 and not (bridge and json.dumps(m.get("id")) in bridge._sent_methods)]
        if extra:
            raise AssertionError(f"unexpected answers: {extra}")
    return check


def forwarded(pred_desc, pred):
    def check(window, mark):
        if not any(pred(m) for m in window):
            raise AssertionError(f"expected {pred_desc}: {window[-4:]}")
    return check


def all_of(*checks):
    def check(window, mark):
        for c in checks:
            c(window, mark)
    return check


# ------------------------------------------------------------------------------------------------


class HostileTableTest(CodexTestCase):
    script = "hello.yaml"  # the mock model is not used: codex is the fake here

    def setUp(self):
        super().setUp()
        self.total = 0
        self.failures = []

    def fake_bridge(self, framing="lines", extra_args=(), env=None):
        return self.bridge(framing, extra_args=extra_args, env=env, codex=FAKE_CODEX)

    def finish(self, table):
        self.total += table.finish()
        self.failures += table.failures

    def tearDown(self):
        super().tearDown()

    def report(self, minimum):
        print(f"\n{self.id()}: {self.total} hostile cases")
        self.assertEqual(self.failures, [], f"{len(self.failures)} of {self.total} cases failed:\n" + "\n".join(self.failures))
        self.assertGreaterEqual(self.total, minimum)

    # --------------------------------------------------------------------------------------------
    def editor_envelope_cases(self, t, send):
        """Bytes and envelopes from the editor. `send(bytes)` frames one body."""
        b = t.b
        cases = [
            # (name, body from the marker, check)
            ("broken JSON", lambda m: b'{"id":"' + m.encode() + b'","method":', null_id_error(-32700)),
            ("NUL in the body", lambda m: b'{"id":"' + m.encode() + b'",\x00"method":"coco/status"}', null_id_error(-32700)),
            ("NUL inside a string", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/st\x00atus"}', null_id_error(-32700)),
            ("raw control bytes", lambda m: b'{"id":"' + m.encode() + b'","method":"a\x01\x1f"}', null_id_error(-32700)),
            ("invalid UTF-8", lambda m: b'{"id":"' + m.encode() + b'","method":"\xff\xfe\xc3"}', null_id_error(-32700)),
            ("overlong UTF-8", lambda m: b'{"id":"' + m.encode() + b'","method":"\xc0\xaf"}', null_id_error(-32700)),
            ("lone surrogate escape", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/status","params":{"s":"\\ud800"}}', null_id_error(-32700)),
            ("trailing junk", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/status"} junk', null_id_error(-32700)),
            ("two objects in one frame", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/status"}{"id":2}', null_id_error(-32700)),
            ("NaN", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/status","params":{"x":NaN}}', null_id_error(-32700)),
            ("number overflowing a double", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/status","params":{"x":1e999}}', null_id_error(-32700)),
            ("huge integer", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/status","params":{"x":' + b"9" * 5000 + b'}}', null_id_error(-32700)),
            ("a scalar", lambda m: b'"' + m.encode() + b'"', null_id_error(-32600)),
            ("a number", lambda m: b'42', null_id_error(-32600)),
            ("null", lambda m: b'null', null_id_error(-32600)),
            ("an empty object", lambda m: b'{}', null_id_error(-32600)),
            ("a batch", lambda m: b'[{"id":"' + m.encode() + b'","method":"coco/status"}]', null_id_error(-32600)),
            ("an empty batch", lambda m: b'[]', null_id_error(-32600)),
            ("id and nothing else", lambda m: enc({"id": m}), answered(MARK, -32600)),
            ("method is a number", lambda m: enc({"id": m, "method": 5}), answered(MARK, -32600)),
            ("method is null", lambda m: enc({"id": m, "method": None}), answered(MARK, -32600)),
            ("method is an object", lambda m: enc({"id": m, "method": {"a": 1}}), answered(MARK, -32600)),
            ("method is an array", lambda m: enc({"id": m, "method": ["coco/status"]}), answered(MARK, -32600)),
            ("params is a string", lambda m: enc({"id": m, "method": "coco/status", "params": "x"}), answered(MARK, -32600)),
            ("params is a number", lambda m: enc({"id": m, "method": "coco/status", "params": 5}), answered(MARK, -32600)),
            ("params is true", lambda m: enc({"id": m, "method": "thread/list", "params": True}), answered(MARK, -32600)),
            ("params is an array (coco/*)", lambda m: enc({"id": m, "method": "coco/approval/answer", "params": [1]}), answered(MARK, -32602)),
            ("jsonrpc is a number", lambda m: enc({"jsonrpc": 2, "id": m, "method": "coco/status"}), answered(MARK)),
            ("jsonrpc is an object", lambda m: enc({"jsonrpc": {}, "id": m, "method": "coco/status"}), answered(MARK)),
            ("id is an object", lambda m: enc({"id": {"m": m}, "method": "coco/status"}), null_id_error(-32600)),
            ("id is an array", lambda m: enc({"id": [m], "method": "coco/status"}), null_id_error(-32600)),
            ("id is true", lambda m: enc({"id": True, "method": "coco/status", "params": {"m": m}}), null_id_error(-32600)),
            ("id is a float", lambda m: enc({"id": 1.5, "method": "coco/status", "params": {"m": m}}), null_id_error(-32600)),
            ("id is null", lambda m: enc({"id": None, "method": "coco/status", "params": {"m": m}}), null_id_error(-32600)),
            ("id is a huge integer", lambda m: b'{"id":' + b"9" * 40 + b',"method":"coco/status","params":{"m":"' + m.encode() + b'"}}', null_id_error(-32600)),
            ("id is negative", lambda m: enc({"id": -(2 ** 63), "method": "coco/status", "params": {"m": m}}), answered(-(2 ** 63))),
            ("id is an empty string", lambda m: enc({"id": "", "method": "coco/status", "params": {"m": m}}), answered("")),
            ("id is a long string", lambda m: enc({"id": m + "x" * 10000, "method": "coco/status"}), answered(lambda m: m + "x" * 10000)),
            ("unknown coco method", lambda m: enc({"id": m, "method": "coco/nope"}), answered(MARK, -32601)),
            ("empty method", lambda m: enc({"id": m, "method": ""}), answered(MARK, -32600)),
            ("method with NUL escape", lambda m: enc({"id": m, "method": "coco/status\u0000"}), answered(MARK, -32601)),
            ("unknown method through codex", lambda m: enc({"id": m, "method": "no/such"}), answered(MARK, -32600)),
            (f"{DEEP}-deep array in params", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/status","params":{"x":' + deep(DEEP).encode() + b'}}', answered(MARK, -32600)),
            (f"{VERY_DEEP}-deep array", lambda m: deep(VERY_DEEP).encode(), null_id_error(-32600)),
            (f"{VERY_DEEP}-deep object", lambda m: deep(VERY_DEEP, '{"a":', "}", "1").encode(), null_id_error(-32600)),
            (f"{VERY_DEEP}-deep in coco params", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/approval/answer","params":' + deep(VERY_DEEP, '{"a":', "}", "1").encode() + b'}', answered(MARK, -32600)),
            (f"{VERY_DEEP}-deep toward codex", lambda m: b'{"id":"' + m.encode() + b'","method":"thread/start","params":{"x":' + deep(VERY_DEEP).encode() + b'}}', answered(MARK, -32600)),
            ("deep but allowed (500) toward codex", lambda m: b'{"id":"' + m.encode() + b'","method":"fake/echo","params":{"x":' + deep(500).encode() + b'}}', answered(MARK)),
            ("unbalanced nesting", lambda m: b'{"id":"' + m.encode() + b'","method":"coco/status","params":' + b"[" * 1000 + b'}', null_id_error(-32600)),
            # Large messages: those codex gets unchanged skip the JSON tree (Session::forward_large_unparsed);
            # anything wrong with them takes the ordinary path and its error.
            ("large request to codex", lambda m: enc({"jsonrpc": "2.0", "id": m, "method": "fake/echo", "params": {"pad": "p" * BIG}}),
             all_of(answered(MARK), forwarded("the echo", lambda x: len(x.get("result", {}).get("params", {}).get("pad", "")) == BIG))),
            ("large request with an integer id", lambda m: b'{"id":7777,"method":"fake/echo","params":{"m":"' + m.encode() + b'","pad":"' + b"p" * BIG + b'"}}',
             answered(7777)),
            ("large notification to codex", lambda m: enc({"method": "fake/note", "params": {"m": m, "pad": "p" * BIG}}), no_answer()),
            ("large with a NUL", lambda m: b'{"id":"' + m.encode() + b'","method":"fake/echo","params":{"pad":"\x00' + b"p" * BIG + b'"}}', null_id_error(-32700)),
            ("large with invalid UTF-8", lambda m: b'{"id":"' + m.encode() + b'","method":"fake/echo","params":{"pad":"\xff' + b"p" * BIG + b'"}}', null_id_error(-32700)),
            ("large and too deep", lambda m: b'{"id":"' + m.encode() + b'","method":"fake/echo","params":' + deep(BIG // 2).encode() + b'}', answered(MARK, -32600)),
            ("large with a params string", lambda m: enc({"id": m, "method": "fake/echo", "params": "p" * BIG}), answered(MARK, -32600)),
            ("large with an object id", lambda m: enc({"id": {"m": m}, "method": "fake/echo", "params": {"pad": "p" * BIG}}), null_id_error(-32600)),
            ("large coco request", lambda m: enc({"id": m, "method": "coco/status", "params": {"pad": "p" * BIG}}), answered(MARK)),
            ("large turn/start (read for the title)", lambda m: enc({"id": m, "method": "turn/start", "params": {"input": [{"type": "text", "text": "p" * BIG}]}}),
             answered(MARK, -32600)),
            # A method written with an escape is not scanned (envelope): the full parse reads it as fake/echo.
            ("large method with an escape", lambda m: enc({"id": m, "method": "fake/echo", "params": {"pad": "p" * BIG}}).replace(b'"fake/echo"', b'"fake/ech\\u006f"'),
             answered(MARK)),
            ("a response with an unknown id", lambda m: enc({"id": 999999, "result": {"m": m}}), no_answer()),
            ("a response with a string id", lambda m: enc({"id": m, "result": None}), no_answer()),
            ("a response with result and error", lambda m: enc({"id": 999998, "result": 1, "error": {"m": m}}), no_answer()),
            ("a response with a null id", lambda m: enc({"id": None, "error": {"code": 1, "message": m}}), no_answer()),
            ("a response whose error is a string", lambda m: enc({"id": 999997, "error": m}), no_answer()),
            ("a notification with a wrong params type", lambda m: enc({"method": "thread/x", "params": m}), null_id_error(-32600)),
            ("a coco notification", lambda m: enc({"method": "coco/status", "params": {"m": m}}), no_answer()),
            ("$/cancelRequest with a string", lambda m: enc({"method": "$/cancelRequest", "params": {"id": m}}), no_answer()),
            ("$/cancelRequest with an object", lambda m: enc({"method": "$/cancelRequest", "params": {"id": {"m": m}}}), no_answer()),
            ("initialized with odd params", lambda m: enc({"method": "initialized", "params": [m]}), no_answer()),
        ]
        for name, body, check in cases:
            def action(m, body=body):
                data = body(m)
                send(data)
                return m.encode() in data  # recorded: the marker must be in the message log
            t.run(name, action, check)

    def coco_method_cases(self, t):
        """Wrong types for every field of every coco/* method: -32602 (or a result when the field
        is optional and its absence is fine), never a raise."""
        fields = {
            "coco/approval/answer": {"gateId": NOT_STRING + [""], "optionId": NOT_STRING, "feedback": NOT_STRING[:-2],
                                     "answers": NOT_OBJECT},
            "coco/exec/spawn": {"prompt": NOT_STRING + [""], "name": NOT_STRING + ["../x", "a/b", ".", "x" * 300],
                                "cwd": NOT_STRING + ["/nonexistent/dir"], "outputSchema": [5, "x", True, []],
                                "sandbox": NOT_STRING + ["root"], "model": NOT_STRING, "config": [5, "x", True, [1]],
                                "isolation": NOT_STRING + ["chroot"], "timeoutS": NOT_NUMBER + [-1, 1e300, float("1e20")]},
            "coco/exec/cancel": {"agentId": NOT_STRING + ["", "../../etc"]},
            "coco/exec/resume": {"agentId": NOT_STRING + ["nope"], "prompt": NOT_STRING},
            # (agentIds null means every worker: a join that may wait, so not here)
            "coco/task/join": {"agentIds": [5, "x", True, {}, [5], [None], [[]], ["nope"]], "timeoutS": NOT_NUMBER + [-5]},
        }
        base = {
            "coco/approval/answer": {"gateId": "g999", "optionId": "accept"},
            "coco/exec/spawn": {"prompt": "x", "name": "w"},
            "coco/exec/cancel": {"agentId": "nope"},
            "coco/exec/resume": {"agentId": "nope", "prompt": "x"},
            "coco/task/join": {"agentIds": ["nope"], "timeoutS": 1},
        }
        for method, by_field in fields.items():
            for field, values in by_field.items():
                for v in values:
                    def action(m, method=method, field=field, v=v):
                        params = dict(base[method], **{field: v})
                        params["_case"] = m
                        t.b.request(method, params, id=m)
                    # null reads as absent (a result, or -32602 for a required field); anything else
                    # of the wrong type is -32602.
                    t.run(f"{method} {field}={json.dumps(v)[:40]}", action,
                          forwarded("-32602" if v is not None else "an answer",
                                    lambda x, v=v: "method" not in x and str(x.get("id")).startswith(t.name + "-m")
                                    and (error_code(x) == -32602 or (v is None and "result" in x))))
        # The params of methods that take none.
        for method in ("coco/status", "coco/approval/list", "coco/exec/list"):
            for v in (5, "x", True):
                t.run(f"{method} params={v!r}", lambda m, method=method, v=v: t.b.send({"id": m, "method": method, "params": v}),
                      forwarded("-32600", lambda x: error_code(x) == -32600))
            t.run(f"{method} params=[]", lambda m, method=method: t.b.send({"id": m, "method": method, "params": []}),
                  forwarded("-32602", lambda x: error_code(x) == -32602))

    # --------------------------------------------------------------------------------------------
    def test_editor_side_lines(self):
        b = self.fake_bridge("lines", extra_args=["--max-frame-bytes", str(CAP)])
        b.initialize(capabilities={"coco": {"approvals": "prompt"}})
        t = Table(self, b, "lines")
        self.editor_envelope_cases(t, lambda body: b.send_raw(body + b"\n"))
        # Line-only cases: blank lines, CRLF, a line with only spaces.
        t.run("blank lines", lambda m: b.send_raw(b"\n\r\n   \n"), None, recorded=False)
        t.run("CRLF line", lambda m: b.send_raw(enc({"id": m, "method": "coco/status"}) + b"\r\n"), answered(MARK))
        t.run("a line over the cap", lambda m: b.send_raw(b'{"id":"' + m.encode() + b'","x":"' + b"y" * (4600 << 10) + b'"}\n'),
              null_id_error(-32052), recorded=False)
        self.coco_method_cases(t)
        self.finish(t)
        self.report(150)

    def test_editor_side_content_length(self):
        b = self.fake_bridge("content-length", extra_args=["--max-frame-bytes", str(CAP)])
        b.initialize(capabilities={"coco": {"approvals": "prompt"}})
        t = Table(self, b, "cl")

        def frame(body):
            b.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.editor_envelope_cases(t, frame)
        framing_cases = [
            ("pretty-printed body", lambda m: frame(json.dumps({"id": m, "method": "coco/status"}, indent=2).encode()), None, True),
            ("Content-Type before the length", lambda m: b.send_raw(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n" + b"Content-Length: %d\r\n\r\n" % len(enc({"id": m, "method": "coco/status"})) + enc({"id": m, "method": "coco/status"})), answered(MARK), True),
            ("lowercase header", lambda m: b.send_raw(b"content-length: %d\r\n\r\n" % len(enc({"id": m, "method": "coco/status"})) + enc({"id": m, "method": "coco/status"})), None, True),
            ("length 0", lambda m: b.send_raw(b"Content-Length: 0\r\n\r\n"), None, False),
            ("negative length", lambda m: b.send_raw(b"Content-Length: -5\r\n\r\n"), null_id_error(-32052), False),
            ("length not a number", lambda m: b.send_raw(b"Content-Length: abc\r\n\r\n"), null_id_error(-32052), False),
            ("length with junk", lambda m: b.send_raw(b"Content-Length: 12abc\r\n\r\n"), null_id_error(-32052), False),
            ("INT64_MAX length", lambda m: b.send_raw(b"Content-Length: 9223372036854775807\r\n\r\n{}"), null_id_error(-32052), False),
            ("overflowing length", lambda m: b.send_raw(b"Content-Length: 99999999999999999999999\r\n\r\n{}"), null_id_error(-32052), False),
            ("over the cap, skippable", lambda m: frame(b'{"id":"' + m.encode() + b'","x":"' + b"y" * (4600 << 10) + b'"}'), null_id_error(-32052), False),
            ("no length header", lambda m: b.send_raw(b"X-Junk: 1\r\n\r\n" + enc({"id": m})), null_id_error(-32052), False),
            ("header block over 8 KiB", lambda m: b.send_raw(b"X-Junk: " + b"a" * 9000 + b"\r\n\r\n"), null_id_error(-32052), False),
            ("NUL in a header", lambda m: b.send_raw(b"Content-\x00Length: 5\r\n\r\n{oops"), null_id_error(-32052), False),
            ("duplicate lengths", lambda m: b.send_raw(b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), None, False),
            ("body shorter than announced, then a frame", lambda m: b.send_raw(b"Content-Length: 3\r\n\r\n{}" + b"Content-Length: 2\r\n\r\n{}"), None, False),
        ]
        for name, action, check, recorded in framing_cases:
            t.run(name, action, check, recorded=recorded)
        self.finish(t)
        self.report(70)

    # --------------------------------------------------------------------------------------------
    def test_initialize_with_wrong_types(self):
        """initialize: params, capabilities and capabilities.coco of every wrong type. A bad coco
        capability is -32602; everything else reaches codex (the fake answers) or is -32600."""
        b = self.fake_bridge("lines")
        t = Table(self, b, "init")
        cases = []
        for v in [5, "x", False, None]:
            cases.append((f"params={v!r}", {"params": v}, -32600))
        for v in [[], [1, 2]]:
            cases.append((f"params={v!r}", {"params": v}, None))
        for v in NOT_OBJECT:
            cases.append((f"capabilities={v!r}", {"params": {"capabilities": v}}, None))
        for v in [5, "x", True, [], ["prompt"]]:
            cases.append((f"capabilities.coco={v!r}", {"params": {"capabilities": {"coco": v}}}, -32602))
        for v in [5, "x", True, [], {}, "PROMPT", "prompt "]:
            cases.append((f"capabilities.coco.approvals={v!r}", {"params": {"capabilities": {"coco": {"approvals": v}}}}, -32602))
        cases.append(("capabilities.coco=null", {"params": {"capabilities": {"coco": None}}}, None))
        cases.append(("clientInfo wrong", {"params": {"clientInfo": 5}}, None))
        for name, extra, code in cases:
            def action(m, extra=extra):
                t.b.send(dict({"id": m, "method": "initialize"}, **extra))
            t.run(name, action, forwarded(f"an answer {code}", lambda x, code=code: "method" not in x and str(x.get("id", "")).startswith("init-m") and (error_code(x) == code if code else "result" in x)))
        self.finish(t)
        self.report(20)

    # --------------------------------------------------------------------------------------------
    def codex_side_cases(self, t):
        b = t.b

        def emit(*lines, big=None):
            params = {"lines": [b64(x if isinstance(x, bytes) else enc(x)) for x in lines]}
            if big:
                params["big"] = big
            r = b.call("fake/emit", params, timeout=30)
            if "result" not in r:
                raise AssertionError(f"fake/emit: {r}")

        def note(m):
            return {"method": "codex/note", "params": {"m": m}}

        # Bytes and envelopes.
        raw_cases = [
            ("not JSON", lambda m: b"{" + m.encode()),
            ("NUL", lambda m: b'{"method":"x/y","params":{"m":"' + m.encode() + b'\x00"}}'),
            ("NUL outside strings", lambda m: b'{"method":"x/y",\x00"params":{"m":"' + m.encode() + b'"}}'),
            ("invalid UTF-8", lambda m: b'{"method":"x/y","params":{"m":"' + m.encode() + b'\xff\xfe"}}'),
            ("invalid UTF-8 in an observed notification", lambda m: b'{"method":"turn/started","params":{"m":"' + m.encode() + b'\xc3("}}'),
            ("a scalar", lambda m: b'"' + m.encode() + b'"'),
            ("an array", lambda m: b'["' + m.encode() + b'"]'),
            ("an empty object", lambda m: b'{"m":"' + m.encode() + b'"}'),
            ("a BOM mid-stream", lambda m: b'\xef\xbb\xbf{"method":"x/y","params":{"m":"' + m.encode() + b'"}}'),
            ("jsonrpc field", lambda m: b'{"jsonrpc":"2.0","method":"x/y","params":{"m":"' + m.encode() + b'"}}'),
            ("jsonrpc is a number", lambda m: b'{"jsonrpc":5,"method":"x/y","params":{"m":"' + m.encode() + b'"}}'),
            ("method is a number", lambda m: enc({"method": 5, "params": {"m": m}})),
            ("method is null", lambda m: enc({"method": None, "params": {"m": m}})),
            ("params is a string", lambda m: enc({"method": "x/y", "params": m})),
            ("params is a string (observed)", lambda m: enc({"method": "turn/completed", "params": m})),
            ("params is an array (observed)", lambda m: enc({"method": "turn/completed", "params": [m]})),
            ("no params (observed)", lambda m: enc({"method": "thread/started", "m": m})),
            ("NaN", lambda m: b'{"method":"x/y","params":{"m":"' + m.encode() + b'","x":NaN}}'),
            ("1e999", lambda m: b'{"method":"turn/started","params":{"m":"' + m.encode() + b'","x":1e999}}'),
            (f"{VERY_DEEP}-deep notification (passed through)", lambda m: b'{"method":"x/y","params":{"m":"' + m.encode() + b'","x":' + deep(VERY_DEEP).encode() + b'}}'),
            (f"{VERY_DEEP}-deep observed notification", lambda m: b'{"method":"turn/completed","params":{"m":"' + m.encode() + b'","x":' + deep(VERY_DEEP).encode() + b'}}'),
            (f"{VERY_DEEP}-deep request", lambda m: b'{"id":77,"method":"item/tool/call","params":{"m":"' + m.encode() + b'","x":' + deep(VERY_DEEP).encode() + b'}}'),
            (f"{VERY_DEEP}-deep gate request", lambda m: b'{"id":78,"method":"item/commandExecution/requestApproval","params":{"m":"' + m.encode() + b'","x":' + deep(VERY_DEEP).encode() + b'}}'),
            (f"{VERY_DEEP}-deep response", lambda m: b'{"id":123456,"result":{"m":"' + m.encode() + b'","x":' + deep(VERY_DEEP).encode() + b'}}'),
            (f"{DEEP}-deep with jsonrpc", lambda m: b'{"jsonrpc":"2.0","method":"x/y","params":{"m":"' + m.encode() + b'","x":' + deep(DEEP).encode() + b'}}'),
            ("unbalanced", lambda m: b'{"method":"x/y","params":{"m":"' + m.encode() + b'"' + b"[" * 3000),
            ("a response with an unknown id", lambda m: enc({"id": 987654, "result": {"m": m}})),
            ("a response with a string id", lambda m: enc({"id": m, "result": {}})),
            ("a response with a float id", lambda m: enc({"id": 1.5, "result": {"m": m}})),
            ("a response with a null id", lambda m: enc({"id": None, "error": {"code": 1, "message": m}})),
            ("a response with an object id", lambda m: enc({"id": {"m": m}, "result": {}})),
            ("a response with a huge id", lambda m: b'{"id":' + b"9" * 30 + b',"result":{"m":"' + m.encode() + b'"}}'),
            ("a response with a negative id", lambda m: enc({"id": -1, "result": {"m": m}})),
            ("a response with result and error", lambda m: enc({"id": 55555, "result": {}, "error": {"m": m}})),
            ("a response whose error is a string", lambda m: enc({"id": 55556, "error": m})),
            ("a request with an object id", lambda m: enc({"id": {"m": m}, "method": "item/tool/call", "params": {}})),
            ("a request with a float id", lambda m: enc({"id": 2.5, "method": "item/tool/call", "params": {"m": m}})),
            ("a gate request with a null id", lambda m: enc({"id": None, "method": "item/commandExecution/requestApproval", "params": {"m": m}})),
            ("a very long line (8 MB)", None),
        ]
        raw_checks = {
            f"{VERY_DEEP}-deep gate request": self.codex_got_answer(b, lambda m: 78, -32600),
            f"{VERY_DEEP}-deep request": self.codex_got_answer(b, lambda m: 77, -32600),
            "method is a number": no_answer(b),
            "a response with an unknown id": no_answer(b),
            "jsonrpc field": forwarded("the notification passed on", lambda x: x.get("method") == "x/y"),
            "NUL": forwarded("the line passed on as it came", lambda x: "__unparseable__" in x),
        }
        for name, line in raw_cases:
            if line is None:
                t.run(name, lambda m: emit(big={"prefix": '{"method":"x/y","params":{"m":"' + m + '","x":"', "suffix": '"}}', "size": 8 << 20}),
                      forwarded("the line passed on", lambda x: x.get("method") == "x/y"))
            else:
                t.run(name, lambda m, line=line: emit(line(m)), raw_checks.get(name))

        # Wrong types for every field the bridge reads in codex's notifications.
        observed = {
            "thread/started": {"thread": NOT_OBJECT, "thread.id": NOT_STRING},
            "turn/started": {"threadId": NOT_STRING, "turn": NOT_OBJECT, "turn.id": NOT_STRING},
            "turn/completed": {"threadId": NOT_STRING, "turn": NOT_OBJECT, "turn.id": NOT_STRING, "turn.status": NOT_STRING,
                               "turn.error": ANY_WRONG},
            "serverRequest/resolved": {"requestId": ANY_WRONG + [1.5, 2 ** 70]},
            "item/started": {"item": NOT_OBJECT, "item.type": NOT_STRING, "item.id": NOT_STRING, "item.changes": ANY_WRONG},
            "item/fileChange/patchUpdated": {"itemId": NOT_STRING, "changes": ANY_WRONG},
        }
        valid = {
            "thread/started": {"thread": {"id": "t1"}},
            "turn/started": {"threadId": "t1", "turn": {"id": "u1", "status": "inProgress"}},
            "turn/completed": {"threadId": "t1", "turn": {"id": "u1", "status": "completed", "error": None}},
            "serverRequest/resolved": {"threadId": "t1", "requestId": 1},
            "item/started": {"threadId": "t1", "turnId": "u1", "item": {"type": "fileChange", "id": "i1", "changes": []}},
            "item/fileChange/patchUpdated": {"threadId": "t1", "turnId": "u1", "itemId": "i1", "changes": []},
        }
        for method, fields in observed.items():
            for field, values in fields.items():
                for v in values:
                    def action(m, method=method, field=field, v=v):
                        params = json.loads(json.dumps(valid[method]))
                        params["m"] = m
                        if "." in field:
                            outer, inner = field.split(".")
                            params[outer][inner] = v
                        else:
                            params[field] = v
                        emit({"method": method, "params": params})
                    t.run(f"{method} {field}={json.dumps(v)[:30]}", action,
                          forwarded("the notification passed on", lambda x, method=method: x.get("method") == method))

        # fileChange changes of odd shapes, then a file-change gate that uses them.
        for v in [5, "x", [5], [{"path": 5}], [{"path": "a", "kind": 5}], [{"path": "a", "kind": {"type": 5}, "diff": 5}],
                  [{"path": "a", "kind": {"type": "update", "move_path": 5}, "diff": []}], {"a": {"type": "add", "content": 5}},
                  [{"path": "../../etc/passwd", "kind": {"type": "update"}, "diff": "@@ -1 +1 @@\n-a\n+b\n"}]]:
            def action(m, v=v):
                emit({"method": "item/started", "params": {"threadId": "t1", "turnId": "u1",
                                                           "item": {"type": "fileChange", "id": "fc-" + m, "changes": v}}},
                     {"id": "fc-" + m, "method": "item/fileChange/requestApproval",
                      "params": {"threadId": "t1", "turnId": "u1", "itemId": "fc-" + m, "m": m}})
            t.run(f"fileChange changes={json.dumps(v)[:40]} then its gate", action, self.codex_got_answer(b, lambda m: "fc-" + m))

        # Gate requests (--approvals deny answers every one by policy): wrong types for every field
        # make_prompt reads. codex must get its answer whatever the shape.
        gates = {
            "item/commandExecution/requestApproval": {
                "threadId": NOT_STRING, "turnId": NOT_STRING, "itemId": NOT_STRING, "command": NOT_STRING, "cwd": NOT_STRING,
                "reason": NOT_STRING, "networkApprovalContext": [5, "x", [], {"a": [1]}],
                "availableDecisions": NOT_ARRAY + [[5], [None], [[]], [{}], [{"acceptWithExecpolicyAmendment": 5}],
                                                   [{"acceptWithExecpolicyAmendment": {"execpolicy_amendment": 5}}],
                                                   [{"acceptWithExecpolicyAmendment": {"execpolicy_amendment": [5, None]}}],
                                                   [{"applyNetworkPolicyAmendment": 5}],
                                                   [{"applyNetworkPolicyAmendment": {"network_policy_amendment": 5}}],
                                                   [{"applyNetworkPolicyAmendment": {"network_policy_amendment": {"host": 5, "action": []}}}],
                                                   ["accept", "accept"], [""], ["x" * 5000]],
                "proposedExecpolicyAmendment": ANY_WRONG + [[5]],
                "proposedNetworkPolicyAmendments": ANY_WRONG + [[5], [{"host": 5}]],
            },
            "execCommandApproval": {"command": NOT_ARRAY + [[5, None, {}], "rm -rf /"], "cwd": NOT_STRING, "reason": NOT_STRING,
                                    "callId": NOT_STRING, "conversationId": NOT_STRING},
            "item/fileChange/requestApproval": {"reason": NOT_STRING, "grantRoot": NOT_STRING, "itemId": NOT_STRING},
            "applyPatchApproval": {"fileChanges": ANY_WRONG + [{"a": 5}, {"a": {"type": 5}}, {"a": {"add": {"content": 5}}},
                                                              {"a": {"update": {"unified_diff": 5, "move_path": 5}}}, {"": {"delete": {}}}],
                                   "reason": NOT_STRING, "grantRoot": NOT_STRING, "callId": NOT_STRING, "conversationId": NOT_STRING},
            "item/permissions/requestApproval": {"permissions": ANY_WRONG + [{"network": 5}, {"network": {"enabled": "yes"}},
                                                                             {"fileSystem": 5}],
                                                 "reason": NOT_STRING, "cwd": NOT_STRING},
            "mcpServer/elicitation/request": {"serverName": NOT_STRING, "message": NOT_STRING, "mode": NOT_STRING + ["url"],
                                              "url": NOT_STRING, "requestedSchema": ANY_WRONG},
            "item/tool/requestUserInput": {"questions": ANY_WRONG + [[5], [None], [{"question": 5, "header": [], "options": 5}],
                                                                      [{"question": "q", "options": [5, {"label": 5, "description": {}}]}]]},
        }
        n = 0
        for method, fields in gates.items():
            for field, values in fields.items():
                for v in values:
                    n += 1
                    gid = 70000 + n

                    def action(m, method=method, field=field, v=v, gid=gid):
                        emit({"id": gid, "method": method, "params": {"threadId": "t1", "turnId": "u1", "itemId": "i1", "m": m, field: v}})
                    t.run(f"{method} {field}={json.dumps(v)[:30]}", action, self.codex_got_answer(b, lambda m, gid=gid: gid))
        # params of the wrong type for every gate method.
        for method in gates:
            for v in ["x", 5, [1], None]:
                n += 1
                gid = 70000 + n

                def action(m, method=method, v=v, gid=gid):
                    msg = {"id": gid, "method": method, "params": v, "m": m}
                    emit(msg)
                # A params that is neither an object nor an array makes the request invalid: codex gets
                # -32600 (upstream.badMessage is recorded); the others become gates.
                want = -32600 if v in ("x", 5, None) else None
                t.run(f"{method} params={json.dumps(v)}", action, self.codex_got_answer(b, lambda m, gid=gid: gid, want))

        # codex's other requests reach the editor under a bridge id; odd ids and shapes.
        for codex_id in [0, -5, "s", "", 2 ** 62]:
            def action(m, codex_id=codex_id):
                emit({"id": codex_id, "method": "item/tool/call", "params": {"m": m}})
                req = b.wait_for(lambda x: x.get("method") == "item/tool/call" and x.get("params", {}).get("m") == m, timeout=20)
                b.respond(req["id"], {"m": m})
            t.run(f"item/tool/call with id {codex_id!r}, answered", action, self.codex_got_answer(b, lambda m, codex_id=codex_id: codex_id))

    def codex_got_answer(self, b, expected_id, code=None):
        """The fake codex received an answer to its request `expected_id(mark)`: the error `code`, or
        any answer when code is None."""
        def check(window, mark):
            want = expected_id(mark)
            r = b.call("fake/received", id=f"recv-{mark}", timeout=20)
            got = [x for x in r["result"]["messages"] if isinstance(x, dict) and x.get("id") == want and "method" not in x]
            if not got:
                raise AssertionError(f"codex got no answer to its request {want!r}: {r['result']['messages'][-3:]}")
            if code is not None and error_code(got[0]) != code:
                raise AssertionError(f"codex got {got[0]}, not error {code}")
        return check

    def test_codex_side(self):
        b = self.fake_bridge("lines", extra_args=["--approvals", "deny"])
        b.initialize(capabilities={"coco": {"approvals": "prompt"}})
        t = Table(self, b, "codex")
        self.codex_side_cases(t)
        self.finish(t)
        self.report(250)

    # --------------------------------------------------------------------------------------------
    def test_answers_to_prompts(self):
        """The editor's answers to coco/approval/request, window/showMessageRequest and codex's raw
        requests, of every wrong type: coco/approval/answerRejected (willAskAgain) and the same gate
        asked again; a good answer then reaches codex."""
        self.gate_answer_table("prompt", "coco/approval/request", [
            ("result is a number", {"result": 5}), ("result is a string", {"result": "accept"}),
            ("result is null", {"result": None}), ("result is an array", {"result": ["accept"]}),
            ("result is empty", {"result": {}}), ("no result or error", {"x": 1}),
        ] + [(f"optionId={json.dumps(v)}", {"result": {"optionId": v}}) for v in NOT_STRING + ["nope", "", "ACCEPT"]]
          + [(f"feedback={json.dumps(v)}", {"result": {"optionId": "decline", "feedback": v}}) for v in [5, True, [], {}, ["x"]]]
          + [(f"answers={json.dumps(v)}", {"result": {"optionId": "accept", "answers": v}}) for v in [5, "x", True, [1]]]
          + [(f"error={json.dumps(v)}", {"error": v}) for v in [5, "x", None, {"code": "x"}, {"code": -32800.5}, {"code": None}, {}]])

        self.late_answer_table()

        self.gate_answer_table("lsp", "window/showMessageRequest", [
            (f"result={json.dumps(v)}", {"result": v}) for v in [5, "x", True, [], {}, {"title": None}, {"title": 5},
                                                               {"title": []}, {"title": {}}, {"title": "No such button"}]
        ] + [(f"error={json.dumps(v)}", {"error": v}) for v in [5, "x", {"code": "x"}, {"code": None}]])

    def late_answer_table(self):
        """Answers to a prompt that was withdrawn ($/cancelRequest, after coco/approval/answer resolved
        the gate): recorded as late (gate.lateAnswer) whatever their shape, never a raise."""
        b = self.fake_bridge("lines")
        b.initialize(capabilities={"coco": {"approvals": "prompt"}})
        t = Table(self, b, "late")
        answers = [{"error": {"code": "x"}}, {"error": {"code": None}}, {"error": 5}, {"error": {"code": -32800}},
                   {"error": {"code": -32800.0}}, {"result": 5}, {"result": {"optionId": 5}}, {"result": None}]
        for n, answer in enumerate(answers):
            gid = 85000 + n

            def action(m, answer=answer, gid=gid):
                b.call("fake/emit", {"lines": [b64(enc({"id": gid, "method": "item/commandExecution/requestApproval",
                                                         "params": {"threadId": "t1", "turnId": "u1", "itemId": "i1", "command": m}}))]})
                ask = b.wait_for(lambda x: x.get("method") == "coco/approval/request" and x["params"].get("command") == m, timeout=20)
                r = b.call("coco/approval/answer", {"gateId": ask["params"]["gateId"], "optionId": "decline"}, timeout=20)
                assert "result" in r, r
                b.wait_for(lambda x: x.get("method") == "$/cancelRequest" and x["params"]["id"] == ask["id"], timeout=20)
                b.send(dict({"id": ask["id"]}, **answer))
            t.run(f"late answer {json.dumps(answer)}", action, self.codex_got_answer(b, lambda m, gid=gid: gid))
        self.finish(t)

    def gate_answer_table(self, mode, ask_method, answers):
        b = self.fake_bridge("lines")
        b.initialize(capabilities={"coco": {"approvals": mode}})
        t = Table(self, b, f"ans-{mode}")
        n = 0
        for name, answer in answers:
            n += 1
            gid = 80000 + n

            def action(m, answer=answer, gid=gid):
                r = b.call("fake/emit", {"lines": [b64(enc({"id": gid, "method": "item/commandExecution/requestApproval",
                                                             "params": {"threadId": "t1", "turnId": "u1", "itemId": "i1", "command": m}}))]})
                assert "result" in r, r
                ask = b.wait_for(lambda x: x.get("method") == ask_method and m in json.dumps(x.get("params")), timeout=20,
                                 what=f"{ask_method} for {m}")
                start = len(b.seen)
                b.send(dict({"id": ask["id"]}, **answer))
                if "result" not in answer and "error" not in answer:
                    # Not a response at all: -32600, and the prompt is still open.
                    b.wait_for(lambda x: error_code(x) == -32600 and x.get("id") == ask["id"], timeout=20, what="-32600")
                    b.respond(ask["id"], {"optionId": "decline"} if mode == "prompt" else {"title": "Deny"})
                    return
                if mode == "prompt":
                    gate_id = ask["params"]["gateId"]
                    rej = b.wait_for(lambda x: x.get("method") == "coco/approval/answerRejected" and x["params"]["gateId"] == gate_id,
                                     timeout=20, what="answerRejected")
                    assert rej["params"]["willAskAgain"] is True, rej
                    again = b.wait_for(lambda x: x.get("method") == ask_method and x.get("id") != ask["id"]
                                       and x["params"].get("gateId") == gate_id, timeout=20, what="the gate asked again")
                    b.respond(again["id"], {"optionId": "decline"})
                    b.wait_for(lambda x: x.get("method") == "coco/approval/resolved" and x["params"]["gateId"] == gate_id, timeout=20)
                else:
                    if answer.get("result") is None and "result" in answer:
                        return  # Esc: approvals.on_dismiss decides (deny)
                    b.wait_for(lambda x: x.get("method") == "window/showMessage" and any(x is y for y in b.seen[start:]), timeout=20,
                               what="window/showMessage")
                    again = b.wait_for(lambda x: x.get("method") == ask_method and x.get("id") != ask["id"]
                                       and m in x["params"]["message"], timeout=20, what="the gate asked again")
                    title = next(a["title"] for a in again["params"]["actions"] if a["title"] == "Deny")
                    b.respond(again["id"], {"title": title})
            t.run(name, action, self.codex_got_answer(b, lambda m, gid=gid: gid))
        self.finish(t)
        self.report(len(answers))

    def test_raw_mode_answers_and_codex_requests(self):
        """Without capabilities.coco the editor answers codex's raw requests: whatever it answers
        goes back to codex (codex judges it), and bad ids are dropped."""
        b = self.fake_bridge("lines")
        b.initialize()
        t = Table(self, b, "raw")
        n = 0
        for answer in [{"result": 5}, {"result": None}, {"result": {"decision": 5}}, {"error": "x"}, {"error": {"code": "x"}},
                       {"result": {"m": "x" * 100000}}]:
            n += 1
            gid = 90000 + n

            def action(m, answer=answer, gid=gid):
                b.call("fake/emit", {"lines": [b64(enc({"id": gid, "method": "item/commandExecution/requestApproval",
                                                         "params": {"threadId": "t1", "turnId": "u1", "itemId": "i1", "command": m}}))]})
                ask = b.wait_for(lambda x: x.get("method") == "item/commandExecution/requestApproval" and x["params"].get("command") == m,
                                 timeout=20)
                b.send(dict({"id": ask["id"]}, **answer))
            t.run(f"raw answer {json.dumps(answer)[:40]}", action, self.codex_got_answer(b, lambda m, gid=gid: gid))
        for bad_id in ["1", None, -1, 2 ** 63 - 1]:
            t.run(f"an answer with id {bad_id!r}", lambda m, bad_id=bad_id: b.send({"id": bad_id, "result": {"m": m}}), no_answer())
        for bad_id in [1.0, 10 ** 30, True, [1]]:  # not an id at all: the message is invalid
            t.run(f"an answer with id {bad_id!r}", lambda m, bad_id=bad_id: b.send({"id": bad_id, "result": {"m": m}}), null_id_error(-32600))
        self.finish(t)
        self.report(10)

    # --------------------------------------------------------------------------------------------
    def test_decision_files(self):
        """Anyone who can write the task directory can drop a decision file: a bad one is renamed
        `.rejected` with gate.decisionRejected, never fatal; the gate stays open and a good file then
        resolves it."""
        b = self.fake_bridge("lines", extra_args=["--approvals", "dir"])
        b.initialize(capabilities={"coco": {"approvals": "prompt"}})
        t = Table(self, b, "dir")
        gates_dir = None
        bad = [("not JSON", b"{oops"), ("empty", b""), ("NUL", b'{"optionId":"accept\x00"}'), ("invalid UTF-8", b'{"optionId":"\xff"}'),
               ("a scalar", b"5"), ("an array", b'["accept"]'), ("null", b"null"),
               (f"{VERY_DEEP}-deep", deep(VERY_DEEP).encode()), (f"{DEEP}-deep in answers", b'{"optionId":"accept","answers":' + deep(DEEP, '{"a":', "}", "1").encode() + b"}"),
               ("over 64 KiB", b'{"optionId":"accept","pad":"' + b"x" * 70000 + b'"}'), ("unknown option", b'{"optionId":"nope"}')]
        bad += [(f"optionId={json.dumps(v)}", enc({"optionId": v})) for v in NOT_STRING]
        bad += [(f"feedback={json.dumps(v)}", enc({"optionId": "decline", "feedback": v})) for v in [5, True, [], {}]]
        bad += [(f"answers={json.dumps(v)}", enc({"optionId": "accept", "answers": v})) for v in [5, "x", [1]]]
        n = 0
        for name, content in bad:
            n += 1
            gid = 95000 + n

            def action(m, content=content, gid=gid):
                nonlocal gates_dir
                b.call("fake/emit", {"lines": [b64(enc({"id": gid, "method": "item/commandExecution/requestApproval",
                                                         "params": {"threadId": "t1", "turnId": "u1", "itemId": "i1", "command": m}}))]})
                pending = b.wait_for(lambda x: x.get("method") == "coco/approval/pending" and x["params"]["command"] == m, timeout=20)
                gate_id = pending["params"]["gateId"]
                gates_dir = b.task_dir() / "gates"
                path = gates_dir / f"{gate_id}.decision.json"
                tmp = gates_dir / f".{gate_id}.tmp"
                tmp.write_bytes(content)
                os.rename(tmp, path)
                wait_until(lambda: Path(str(path) + ".rejected").exists(), timeout=20, what=f"{path.name} rejected")
                state = json.loads((gates_dir / f"{gate_id}.json").read_text())
                assert state["status"] == "open", state
                good = gates_dir / f".{gate_id}.good"
                good.write_text('{"optionId":"decline"}')
                os.rename(good, path)
                wait_until(lambda: Path(str(path) + ".applied").exists(), timeout=20, what=f"{path.name} applied")
            t.run(f"decision file: {name}", action, self.codex_got_answer(b, lambda m, gid=gid: gid))
        # Not a regular file, and names that are not open gates.
        def symlink(m):
            b.call("fake/emit", {"lines": [b64(enc({"id": 96001, "method": "item/commandExecution/requestApproval",
                                                     "params": {"threadId": "t1", "turnId": "u1", "itemId": "i1", "command": m}}))]})
            pending = b.wait_for(lambda x: x.get("method") == "coco/approval/pending" and x["params"]["command"] == m, timeout=20)
            gdir = b.task_dir() / "gates"
            path = gdir / f"{pending['params']['gateId']}.decision.json"
            os.symlink("/etc/passwd", path)
            wait_until(lambda: Path(str(path) + ".rejected").exists() or not os.path.lexists(path), timeout=20, what="symlink rejected")
            os.mkdir(path)
            wait_until(lambda: Path(str(path) + ".rejected").exists() and not os.path.lexists(path), timeout=20, what="directory rejected")
            (gdir / "g99999.decision.json").write_text('{"optionId":"accept"}')
            (gdir / "..decision.json").write_text('{"optionId":"accept"}')
            wait_until(lambda: (gdir / "g99999.decision.json.rejected").exists(), timeout=20, what="unknown gate rejected")
            good = gdir / ".good"
            good.write_text('{"optionId":"decline"}')
            os.rename(good, path)
            wait_until(lambda: Path(str(path) + ".applied").exists(), timeout=20, what="applied")
        t.run("decision file: a symlink, a directory, unknown gates", symlink, self.codex_got_answer(b, lambda m: 96001))
        self.finish(t)
        self.report(len(bad))


if __name__ == "__main__":
    unittest.main()
