"""docs/codex-protocol.md must stay true to the pinned codex.

setUpClass replays the page's flows through the real `coco bridge`, the real pinned codex and
`coco mock-model`, as a client without `capabilities.coco` (so codex's own approval requests reach it),
and records every message both ways. The tests then hold the page against that traffic and against the
schema the pinned codex generates:

- every example message on the page (a line starting with `→` or `←` in a code block) matches a message
  really sent or received: same direction, kind and method; every key shown exists, with the same JSON
  type, and enum-like keys (`type`, `status`, `code`, ...) have the same value;
- every codex method the page names exists in the generated schema, and each method and notification
  the page promises to cover has an example;
- the page's minimal client runs as printed;
- the version at the top of the page is the pin.

When the pin moves and this fails, regenerate the examples from real traffic:
COCO_CODEX_DOC_CAPTURE=FILE writes what the replay sent and received (JSONL, `{"dir": "->"|"<-",
"bridge": N, "msg": {...}}`), the raw material of the page's examples.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

from harness import (COCO_BIN, DEFAULT_TIMEOUT, SOURCE_DIR, Bridge, MockModel, codex_path, scratch_dir,
                     write_codex_home)

DOC = SOURCE_DIR / "docs" / "codex-protocol.md"
PINNED_VERSION = (SOURCE_DIR / "CODEX_VERSION").read_text().strip()

# One scripted model for every flow. Each thread's prompt carries a marker that only its steps name
# in `when`, and a thread's steps are listed in the order its requests arrive (the whole history is
# sent with every request, so the marker keeps matching that thread's later requests).
SCRIPT = """
steps:
  - when: "Say hello"
    items:
      - reasoning: "The user wants a greeting; answer briefly."
      - message: "Hello! I am a scripted model, streaming word by word."
        stream: true
  - when: "Say hello"                       # the same thread, resumed by a second bridge
    message: "Welcome back."

  - when: "Run the echo command"
    exec: "echo hi from the sandbox"
    call_id: call_echo
  - when: "Run the echo command"
    message: "The command printed: hi from the sandbox"

  - when: "Write escalated.txt"
    exec: "echo escalated > escalated.txt"
    call_id: call_escalated
    escalated: true
    justification: "Write escalated.txt in the project?"
  - when: "Write escalated.txt"
    message: "Done."
  - when: "Write escalated.txt"             # second turn: declined
    exec: "rm -rf build"
    call_id: call_declined
    escalated: true
    justification: "Remove the build folder?"
  - when: "Write escalated.txt"
    message: "I did not remove it."

  - when: "Create hello.txt"
    patch: |
      *** Begin Patch
      *** Add File: hello.txt
      +hello
      +world
      *** End Patch
    call_id: call_add
  - when: "Create hello.txt"
    message: "Created hello.txt."
  - when: "Create hello.txt"                # second turn: update and rename
    patch: |
      *** Begin Patch
      *** Update File: hello.txt
      *** Move to: greeting.txt
      @@
       hello
      -world
      +there
      *** End Patch
    call_id: call_update
  - when: "Create hello.txt"
    message: "Updated and renamed."

  - when: "Make a plan"
    item:
      type: function_call
      name: update_plan
      call_id: call_plan
      arguments: '{"explanation":"Two steps","plan":[{"step":"Read the code","status":"completed"},{"step":"Write the docs","status":"in_progress"}]}'
  - when: "Make a plan"
    message: "Plan updated."

  - when: "Make notes"
    exec: "touch notes.txt"
    call_id: call_touch
    escalated: true
  - when: "Make notes"                       # after the decline and the steer
    message: "Understood: I will use docs/."

  - when: "Take your time"
    message: "This answer never arrives: the turn is interrupted first."
    delay_ms: 60000

  - when: "Touch a.txt"
    exec: "touch a.txt"
    call_id: call_cancelled
    escalated: true
  - when: "Touch a.txt"                      # second turn: interrupted while the approval is open
    exec: "touch b.txt"
    call_id: call_pending
    escalated: true

  - when: "Fail please"
    fail: "scripted failure"
    repeat: true

  - when: "Ask me a question"
    item:
      type: function_call
      name: request_user_input
      call_id: call_ask
      arguments: '{"questions":[{"id":"color","header":"Color","question":"Which color?","options":[{"label":"Red","description":"warm"},{"label":"Blue","description":"cool"}]}]}'
  - when: "Ask me a question"
    message: "Blue it is."

  - when: "Greet the plugin author"
    message: "Hello, plugin author!"
    stream: true
"""

# Messages the pinned codex sends or not depending on timing, as the page says: a command that has
# printed everything and exited within codex's start-up wait for it (`source: "unifiedExecStartup"`,
# `durationMs` 0 on a fast machine) gets no outputDelta, only `aggregatedOutput` in item/completed.
SENT_ONLY_SOMETIMES = {("<-", "notification", "item/commandExecution/outputDelta")}

# What the page promises to show with an example (issue 9, point 5).
REQUIRED_EXAMPLES = [
    ("->", "request", "initialize"), ("->", "notification", "initialized"),
    ("->", "request", "thread/start"), ("->", "request", "thread/resume"), ("->", "request", "thread/list"),
    ("->", "request", "turn/start"), ("->", "request", "turn/interrupt"), ("->", "request", "turn/steer"),
    ("<-", "notification", "thread/started"), ("<-", "notification", "turn/started"),
    ("<-", "notification", "item/started"), ("<-", "notification", "item/completed"),
    ("<-", "notification", "item/agentMessage/delta"), ("<-", "notification", "item/commandExecution/outputDelta"),
    ("<-", "notification", "turn/diff/updated"), ("<-", "notification", "turn/plan/updated"),
    ("<-", "notification", "thread/status/changed"), ("<-", "notification", "thread/tokenUsage/updated"),
    ("<-", "notification", "turn/completed"), ("<-", "notification", "error"), ("<-", "notification", "warning"),
    ("<-", "notification", "serverRequest/resolved"),
    ("<-", "request", "item/commandExecution/requestApproval"), ("->", "response", "item/commandExecution/requestApproval"),
    ("<-", "request", "item/fileChange/requestApproval"), ("->", "response", "item/fileChange/requestApproval"),
]
REQUIRED_ITEM_TYPES = ["userMessage", "agentMessage", "reasoning", "commandExecution", "fileChange"]

# Keys whose string (or number) values an editor switches on: the page must show real values there.
ENUM_KEYS = {"type", "status", "code", "decision", "activeFlags", "willRetry", "itemsView"}


class Recorder:
    """Every message of every bridge, both ways, in the order the client saw them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records = []  # (bridge index, "->" or "<-", message)

    def add(self, bridge_no, direction, msg):
        with self.lock:
            self.records.append((bridge_no, direction, msg))


class RecordingBridge(Bridge):
    """A harness Bridge that also records what it sends and (as it arrives) what it receives."""

    def __init__(self, recorder, bridge_no, *args, **kwargs):
        self._recorder = recorder
        self._bridge_no = bridge_no
        super().__init__(*args, **kwargs)

    def __setattr__(self, name, value):
        if name == "inbox":  # wrap the queue the reader thread fills, before the thread starts
            recorder, no = self._recorder, self._bridge_no
            put = value.put

            def recording_put(msg, *a, **k):
                if msg is not None:
                    recorder.add(no, "<-", msg)
                put(msg, *a, **k)
            value.put = recording_put
        object.__setattr__(self, name, value)

    def send(self, msg, pretty=False):
        self._recorder.add(self._bridge_no, "->", msg)
        super().send(msg, pretty)

    def start_turn(self, thread_id, text, **params):
        rid = self.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}], **params})
        r = self.response(rid)
        assert "result" in r, r
        return r["result"]["turn"]["id"]

    def turn_completed(self, turn_id, timeout=DEFAULT_TIMEOUT):
        m = self.notification("turn/completed", timeout, where=lambda p: p["turn"]["id"] == turn_id)
        return m["params"]["turn"]

    def server_request(self, method, turn_id):
        return self.wait_for(lambda m: m.get("method") == method and "id" in m and m["params"].get("turnId") == turn_id,
                             what=f"{method} in turn {turn_id}")


def message_kind(msg):
    if "method" in msg:
        return "request" if "id" in msg else "notification"
    return "response"


def index_traffic(records):
    """{(direction, kind, method): [message, ...]}; a response is filed under its request's method."""
    index = {}
    pending = {}  # (bridge, direction of the request, id) -> method
    for bridge_no, direction, msg in records:
        kind = message_kind(msg)
        if kind == "request":
            pending[(bridge_no, direction, json.dumps(msg["id"]))] = msg["method"]
            method = msg["method"]
        elif kind == "response":
            asker = "<-" if direction == "->" else "->"
            method = pending.get((bridge_no, asker, json.dumps(msg.get("id"))))
            if method is None:
                continue  # e.g. the bridge's answer to an unparseable frame
        else:
            method = msg["method"]
        index.setdefault((direction, kind, method), []).append(msg)
    return index


# -- the page's examples ---------------------------------------------------------------------------------

def code_blocks(text):
    return re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)


def parse_example(body):
    """JSON with `...` standing for left-out members, elements or text."""
    body = re.sub(r",\s*\.\.\.(?=\s*[}\]])", "", body)   # {"a": 1, ...}  [x, ...]
    body = re.sub(r"([\[{])\s*\.\.\.\s*,?", r"\1", body)   # {...}  [..., x]
    return json.loads(body)


def doc_examples(text):
    """[(direction, kind, method, message, block number)] for every arrow line of the page."""
    examples = []
    for block_no, block in enumerate(code_blocks(text)):
        messages = []  # (direction, source text)
        for line in block.splitlines():
            if line.strip() == "...":
                continue  # messages left out between two shown ones
            if line.startswith(("→ ", "← ")):
                messages.append(["->" if line[0] == "→" else "<-", line[2:]])
            elif messages and line.strip():
                messages[-1][1] += "\n" + line
        asked = {}  # (direction of the request, id) -> method, within this block
        for direction, source in messages:
            try:
                msg = parse_example(source)
            except ValueError as e:
                raise AssertionError(f"example in code block {block_no} is not JSON (with ...): {e}\n{source}")
            kind = message_kind(msg)
            if kind == "response":
                asker = "<-" if direction == "->" else "->"
                method = asked.get((asker, json.dumps(msg.get("id"))))
                if method is None:
                    raise AssertionError(f"code block {block_no}: a response must follow its request in the same "
                                         f"block: {source}")
            else:
                method = msg["method"]
                if kind == "request":
                    asked[(direction, json.dumps(msg["id"]))] = method
            examples.append((direction, kind, method, msg, block_no))
    return examples


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(v)]


def mismatch(shown, real, path="", key=None):
    """None when `shown` (from the page) fits `real` (from the traffic), else where it does not."""
    if shown is None or real is None:
        return None  # optional values: null on one side is no contradiction
    if json_type(shown) != json_type(real):
        return f"{path or '.'}: the page shows a {json_type(shown)}, codex sent a {json_type(real)}"
    if isinstance(shown, dict):
        for k, v in shown.items():
            if k not in real:
                return f"{path}.{k}: not in the real message (keys: {sorted(real)})"
            why = mismatch(v, real[k], f"{path}.{k}", k)
            if why:
                return why
        return None
    if isinstance(shown, list):
        if shown and not real:
            return f"{path}: the page shows elements, codex sent an empty list"
        for i, element in enumerate(shown):
            if real and all(mismatch(element, r, f"{path}[{i}]", key) for r in real):
                return mismatch(element, real[0], f"{path}[{i}]", key)
        return None
    if key in ENUM_KEYS and shown != real:
        return f"{path}: the page shows {shown!r}, codex sent {real!r}"
    return None


def agreement(shown, real, key=None):
    """How much of `shown` fits `real`: to pick the real message an example was meant to show."""
    if isinstance(shown, dict) and isinstance(real, dict):
        return sum(1 + agreement(v, real[k], k) for k, v in shown.items() if k in real)
    if isinstance(shown, list) and isinstance(real, list):
        return sum(max((agreement(e, r, key) for r in real), default=0) for e in shown)
    return 10 if key in ENUM_KEYS and shown == real else 0


def schema_methods(schema_dir):
    methods = set()
    for name in ("ClientRequest", "ClientNotification", "ServerRequest", "ServerNotification"):
        for variant in json.loads((schema_dir / f"{name}.json").read_text())["oneOf"]:
            methods.update(variant["properties"]["method"]["enum"])
    return methods


def schema_item_types(schema_dir):
    item = json.loads((schema_dir / "v2" / "ItemStartedNotification.json").read_text())["definitions"]["ThreadItem"]
    return {t for variant in item["oneOf"] for t in variant["properties"]["type"].get("enum", [])}


class CodexProtocolDocTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = scratch_dir("coco-doc-")
        cls.mock = MockModel(text=SCRIPT, workdir=cls.work)
        cls.codex_home = write_codex_home(cls.work / "codex-home", cls.mock.port)
        config = (cls.codex_home / "config.toml").read_text()
        # One retry, so the page can show an `error` with willRetry true and then false; and the
        # update_plan tool, which codex 0.169 does not offer unless told to.
        config = config.replace("stream_max_retries = 0", "stream_max_retries = 1")
        (cls.codex_home / "config.toml").write_text(config + "[tools.update_plan]\nenabled = true\n")
        # A HOME of its own: commands run in `bash -lc`, and a developer's ~/.bashrc may print into them.
        cls.home = cls.work / "home"
        cls.home.mkdir()
        cls.recorder = Recorder()
        cls.bridges = []
        cls.facts = {}
        try:
            cls.replay()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.traffic = index_traffic(cls.recorder.records)
        capture = os.environ.get("COCO_CODEX_DOC_CAPTURE")
        if capture:
            with open(capture, "w") as f:
                for bridge_no, direction, msg in cls.recorder.records:
                    f.write(json.dumps({"dir": direction, "bridge": bridge_no, "msg": msg}) + "\n")

    @classmethod
    def tearDownClass(cls):
        for b in cls.bridges:
            if b.proc.poll() is None:
                b.proc.kill()
                b.proc.wait()
            for f in (b.proc.stdin, b.proc.stdout, b._stderr):
                try:
                    f.close()
                except (OSError, ValueError):
                    pass
        cls.mock.close()
        if os.environ.get("COCO_KEEP_TEST_DIRS"):
            print(f"kept {cls.work}")
        else:
            shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def bridge(cls):
        b = RecordingBridge(cls.recorder, len(cls.bridges), cls.work / f"b{len(cls.bridges)}", cls.codex_home,
                            env={"HOME": str(cls.home)})
        cls.bridges.append(b)
        return b

    @classmethod
    def replay(cls):
        facts = cls.facts
        b = cls.bridge()
        facts["before_initialize"] = b.call("thread/start", {"cwd": str(b.cwd)})
        facts["initialize"] = b.initialize(id=1)
        facts["unknown_method"] = b.call("thread/frobnicate", {})
        facts["bad_params"] = b.call("thread/start", {"sandbox": "none"})
        facts["unknown_thread"] = b.call("turn/start", {"threadId": "019a0000-0000-7000-8000-000000000000",
                                                        "input": [{"type": "text", "text": "hi"}]})

        # The main flow: a thread with the params that matter, a turn with reasoning and a streamed answer.
        started = b.call("thread/start", {"cwd": str(b.cwd), "model": "mock-model",
                                          "approvalPolicy": "on-request", "sandbox": "read-only"})
        hello = started["result"]["thread"]["id"]
        facts["hello_thread"] = hello
        facts["hello_turn"] = b.turn_completed(b.start_turn(hello, "Say hello"))
        facts["no_active_turn"] = b.call("turn/interrupt", {"threadId": hello, "turnId": "none"})

        # A command in the sandbox, with its output streamed.
        echo = b.start_thread()
        facts["echo_turn"] = b.turn_completed(b.start_turn(echo, "Run the echo command"))

        # Escalated commands: accepted, then declined.
        escalated = b.start_thread()
        turn = b.start_turn(escalated, "Write escalated.txt")
        b.respond(b.server_request("item/commandExecution/requestApproval", turn)["id"], {"decision": "accept"})
        facts["accepted_turn"] = b.turn_completed(turn)
        turn = b.start_turn(escalated, "Now remove the build folder")
        b.respond(b.server_request("item/commandExecution/requestApproval", turn)["id"], {"decision": "decline"})
        facts["declined_turn"] = b.turn_completed(turn)

        # apply_patch: an add, then an update with a move. Codex offers apply_patch to models it knows.
        patching = b.start_thread(model="gpt-5.5")
        for prompt in ("Create hello.txt", "Update it and rename it to greeting.txt"):
            turn = b.start_turn(patching, prompt)
            b.respond(b.server_request("item/fileChange/requestApproval", turn)["id"], {"decision": "accept"})
            facts.setdefault("patch_turns", []).append(b.turn_completed(turn))

        # update_plan -> turn/plan/updated.
        planning = b.start_thread(model="gpt-5.5")
        facts["plan_turn"] = b.turn_completed(b.start_turn(planning, "Make a plan"))

        # turn/steer while the turn waits on an approval (so it is certainly still running).
        steering = b.start_thread()
        turn = b.start_turn(steering, "Make notes")
        approval = b.server_request("item/commandExecution/requestApproval", turn)
        facts["steer"] = b.call("turn/steer", {"threadId": steering, "expectedTurnId": turn,
                                               "input": [{"type": "text", "text": "Please use docs/ instead"}]})
        facts["steer_wrong_turn"] = b.call("turn/steer", {"threadId": steering, "expectedTurnId": "not-the-turn",
                                                          "input": [{"type": "text", "text": "x"}]})
        b.respond(approval["id"], {"decision": "decline"})
        facts["steered_turn"] = b.turn_completed(turn)
        facts["steered_turn_id"] = turn

        # turn/interrupt while the model is still thinking.
        slow = b.start_thread()
        turn = b.start_turn(slow, "Take your time")
        b.notification("turn/started", where=lambda p: p["turn"]["id"] == turn)
        facts["interrupt"] = b.call("turn/interrupt", {"threadId": slow, "turnId": turn})
        facts["interrupted_turn"] = b.turn_completed(turn)

        # "cancel" ends the turn; an interrupt with an approval open resolves the request.
        cancelling = b.start_thread()
        turn = b.start_turn(cancelling, "Touch a.txt")
        b.respond(b.server_request("item/commandExecution/requestApproval", turn)["id"], {"decision": "cancel"})
        facts["cancelled_turn"] = b.turn_completed(turn)
        turn = b.start_turn(cancelling, "Touch b.txt")
        pending = b.server_request("item/commandExecution/requestApproval", turn)
        b.call("turn/interrupt", {"threadId": cancelling, "turnId": turn})
        facts["interrupted_pending_turn"] = b.turn_completed(turn)
        facts["pending_resolved"] = b.wait_for(
            lambda m: m.get("method") == "serverRequest/resolved" and m["params"]["requestId"] == pending["id"],
            what="serverRequest/resolved for the approval open at the interrupt")
        b.respond(pending["id"], {"decision": "accept"})  # too late: must not run (b.txt is checked at the end)

        # A model failure: one retry (willRetry true), then the turn fails.
        failing = b.start_thread()
        facts["failed_turn"] = b.turn_completed(b.start_turn(failing, "Fail please"))

        facts["thread_list"] = b.call("thread/list", {"limit": 20})
        facts["first_bridge_exit"] = b.close()

        # An editor that restarts: a new bridge, the thread list, the thread resumed and continued.
        b2 = cls.bridge()
        b2.initialize(id=1)
        facts["thread_list_after_restart"] = b2.call("thread/list", {"limit": 20})
        facts["resume"] = b2.call("thread/resume", {"threadId": hello})
        facts["resumed_turn"] = b2.turn_completed(b2.start_turn(hello, "Are you still there?"))
        facts["second_bridge_exit"] = b2.close()

        # item/tool/requestUserInput needs plan mode, an experimental API of codex 0.169.
        b3 = cls.bridge()
        b3.initialize(id=1, capabilities={"experimentalApi": True})
        asking = b3.start_thread()
        turn = b3.start_turn(asking, "Ask me a question", collaborationMode={
            "mode": "plan", "settings": {"model": "mock-model", "reasoning_effort": None, "developer_instructions": None}})
        question = b3.server_request("item/tool/requestUserInput", turn)
        b3.respond(question["id"], {"answers": {"color": {"answers": ["Blue"]}}})
        facts["user_input_turn"] = b3.turn_completed(turn)
        facts["third_bridge_exit"] = b3.close()

    # -- the replay did what the page says ------------------------------------------------------------------

    def test_the_flows_behave_as_the_page_describes(self):
        f = self.facts
        self.assertEqual(f["initialize"]["coco"]["codexVersion"], PINNED_VERSION)
        for name in ("before_initialize", "unknown_method", "bad_params", "unknown_thread", "no_active_turn",
                     "steer_wrong_turn"):
            self.assertEqual(f[name].get("error", {}).get("code"), -32600, f"{name}: {f[name]}")
        self.assertEqual(f["before_initialize"]["error"]["message"], "Not initialized")

        self.assertEqual(f["hello_turn"]["status"], "completed")
        self.assertEqual(f["echo_turn"]["status"], "completed")
        self.assertEqual(f["accepted_turn"]["status"], "completed")
        self.assertEqual((self.bridges[0].cwd / "escalated.txt").read_text(), "escalated\n")
        self.assertEqual(f["declined_turn"]["status"], "completed")
        self.assertEqual([t["status"] for t in f["patch_turns"]], ["completed", "completed"])
        self.assertFalse((self.bridges[0].cwd / "hello.txt").exists())
        self.assertEqual((self.bridges[0].cwd / "greeting.txt").read_text(), "hello\nthere\n")
        self.assertEqual(f["plan_turn"]["status"], "completed")
        self.assertEqual(f["steer"]["result"], {"turnId": f["steered_turn_id"]})
        self.assertEqual(f["steered_turn"]["status"], "completed")
        self.assertEqual(f["steered_turn"]["items"][-1]["text"], "Understood: I will use docs/.")
        self.assertEqual(f["interrupt"]["result"], {})
        self.assertEqual(f["interrupted_turn"]["status"], "interrupted")
        self.assertEqual(f["cancelled_turn"]["status"], "interrupted")
        self.assertFalse((self.bridges[0].cwd / "a.txt").exists())
        self.assertEqual(f["interrupted_pending_turn"]["status"], "interrupted")
        self.assertFalse((self.bridges[0].cwd / "b.txt").exists())
        self.assertEqual(f["failed_turn"]["status"], "failed")
        self.assertIn("scripted failure", f["failed_turn"]["error"]["message"])
        retries = [m["params"]["willRetry"] for m in self.traffic[("<-", "notification", "error")]]
        self.assertEqual(retries, [True, False])

        listed = [t["id"] for t in f["thread_list_after_restart"]["result"]["data"]]
        self.assertIn(f["hello_thread"], listed)
        resumed = f["resume"]["result"]["thread"]
        self.assertEqual(resumed["id"], f["hello_thread"])
        self.assertEqual([t["status"] for t in resumed["turns"]], ["completed"])
        self.assertEqual(f["resumed_turn"]["items"][-1]["text"], "Welcome back.")
        self.assertEqual(f["user_input_turn"]["status"], "completed")
        for name in ("first_bridge_exit", "second_bridge_exit", "third_bridge_exit"):
            self.assertEqual(f[name], 0, name)

    # -- the page matches the traffic and the schema ------------------------------------------------------------

    def test_every_example_on_the_page_matches_real_traffic(self):
        examples = doc_examples(DOC.read_text())
        self.assertGreater(len(examples), 30, "the page's examples were not found (lines starting with → or ←)")
        failures = []
        for direction, kind, method, shown, block_no in examples:
            real = self.traffic.get((direction, kind, method), [])
            if not real and (direction, kind, method) in SENT_ONLY_SOMETIMES:
                continue  # the page says when codex leaves it out; when it is sent, it must match
            if not real:
                failures.append(f"block {block_no}: {direction} {kind} {method}: the replay saw no such message")
                continue
            if all(mismatch(shown, r) for r in real):
                closest = max(real, key=lambda r: agreement(shown, r))  # most likely the message the page shows
                failures.append(f"block {block_no}: {direction} {kind} {method}: {mismatch(shown, closest)}\n"
                                f"  page: {json.dumps(shown)[:300]}")
        self.assertFalse(failures, "examples that do not match what codex sent:\n" + "\n".join(failures))

    def test_the_page_shows_what_an_editor_needs(self):
        examples = doc_examples(DOC.read_text())
        shown = {(d, k, m) for d, k, m, _, _ in examples}
        self.assertEqual([r for r in REQUIRED_EXAMPLES if r not in shown], [])
        item_types = {msg["params"]["item"]["type"] for d, k, m, msg, _ in examples
                      if m in ("item/started", "item/completed")}
        self.assertEqual([t for t in REQUIRED_ITEM_TYPES if t not in item_types], [])

    def test_every_codex_method_and_item_type_the_page_names_exists(self):
        schema = self.generate("generate-json-schema")
        methods = schema_methods(schema)
        namespaces = {m.split("/")[0] for m in methods if "/" in m}
        text = DOC.read_text()
        prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # examples are checked against traffic
        named = set(re.findall(r"`([a-zA-Z]+(?:/[a-zA-Z_]+)+)`", prose))
        unknown = sorted(n for n in named if n.split("/")[0] in namespaces and n not in methods)
        self.assertEqual(unknown, [], "methods named on the page that codex does not have")
        for m in ("initialize", "initialized", "error", "warning", "thread/start", "turn/completed"):
            self.assertIn(m, methods)  # the check above can only see what the schema lists

        # The item types the page lists in its table of items.
        item_types = schema_item_types(schema)
        section = text.split("\n## Items", 1)[1].split("\n## ", 1)[0]
        listed = set(re.findall(r"^\| `([a-zA-Z]+)`", section, flags=re.M))
        self.assertTrue(set(REQUIRED_ITEM_TYPES) <= listed, listed)
        self.assertEqual(sorted(listed - item_types), [], "item types on the page that codex does not have")

    def test_the_schema_commands_work_as_shown(self):
        text = DOC.read_text()
        for command in ("codex app-server generate-json-schema --out", "codex app-server generate-ts --out"):
            self.assertTrue(command in text, f"the page should show `{command} DIR`")
        schema = self.generate("generate-json-schema")
        for name in ("ClientRequest.json", "ServerNotification.json", "ServerRequest.json", "v2/ThreadStartParams.json"):
            self.assertTrue((schema / name).is_file(), name)
            self.assertTrue(name.split("/")[-1] in text, f"the page should name {name}")
        ts = self.generate("generate-ts")
        self.assertTrue((ts / "ClientRequest.ts").is_file())
        self.assertTrue((ts / "v2" / "ThreadItem.ts").is_file())

    def test_the_minimal_client_runs_as_printed(self):
        blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)
        self.assertEqual(len(blocks), 1, "the page should have exactly one python block: the minimal client")
        client = self.work / "minimal_client.py"
        client.write_text(blocks[0])
        project = scratch_dir("coco-doc-client-")
        try:
            env = dict(os.environ, CODEX_HOME=str(self.codex_home), HOME=str(self.home),
                       COCO_CODEX=codex_path(), COCO_HOME=str(self.work / "coco-home"),
                       PATH=str(Path(COCO_BIN).resolve().parent) + os.pathsep + os.environ.get("PATH", ""))
            out = subprocess.run([sys.executable, str(client), "Greet the plugin author"], cwd=project, env=env,
                                 capture_output=True, text=True, timeout=DEFAULT_TIMEOUT)
        finally:
            shutil.rmtree(project, ignore_errors=True)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        self.assertIn("Hello, plugin author!", out.stdout)
        self.assertIn("[turn completed]", out.stdout)

    def test_the_page_names_the_pinned_version(self):
        head = DOC.read_text().split("\n## ", 1)[0]
        self.assertTrue(f"codex {PINNED_VERSION}" in head, f"the page should start by naming codex {PINNED_VERSION}")

    @classmethod
    def generate(cls, command):
        out = cls.work / command
        if not out.is_dir():
            subprocess.run([codex_path(), "app-server", command, "--out", str(out)], check=True,
                           env=dict(os.environ, CODEX_HOME=str(cls.codex_home)), capture_output=True,
                           timeout=DEFAULT_TIMEOUT)
        return out


if __name__ == "__main__":
    unittest.main()
