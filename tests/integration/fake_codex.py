#!/usr/bin/env python3
"""A scripted stand-in for `codex app-server` that says what a test tells it to, hostile or not.

The real codex never sends a NUL byte, a 100,000-level nesting or a `turn` that is a number, so the
tests of how the bridge survives such lines from codex need a peer that does. This one speaks codex's
wire format (one JSON object per line on stdio, no "jsonrpc") and is started the way the bridge starts
codex: `fake_codex.py app-server`. It is steered through the bridge itself: the editor sends requests
in the `fake/` namespace, which the bridge forwards to codex like any other codex method.

  initialize        -> {userAgent: "fake_codex/0.169.0 (test)", ...}; $FAKE_CODEX_INITIALIZE (JSON text)
                       replaces the result, to test what the bridge reads from it
  fake/emit         -> params {lines: [base64, ...], big: {prefix, suffix, size}?}: writes each decoded
                       line as is followed by "\n" (a line may hold any bytes), then `big` (prefix, `size`
                       bytes of "x", suffix) if given, then answers {emitted: n}. Since codex's output is
                       one ordered stream, when the editor has this answer the bridge has handled every
                       emitted line.
  fake/received     -> {messages: [...]}: what the bridge sent this process since the last call (not
                       counting fake/* requests), each parsed, or {"unparseable": text}
  fake/swallow      -> not answered (a codex that does not answer: codex.request_timeout_s)...
  fake/release      -> ...until this: each swallowed request gets {late: true}, then {released: n}
  fake/echo         -> {params}
  anything else     -> error -32600, like codex's answer to an unknown method
Notifications from the bridge are kept for fake/received; answers to requests this process emitted too.
"""
import base64
import json
import os
import sys


def main():
    out = sys.stdout.buffer
    received = []
    swallowed = []

    def send(obj):
        out.write(json.dumps(obj).encode() + b"\n")
        out.flush()

    for raw in sys.stdin.buffer:
        try:
            msg = json.loads(raw)
        except ValueError:
            received.append({"unparseable": raw.decode(errors="replace")})
            continue
        if not isinstance(msg, dict):
            received.append(msg)
            continue
        method, mid = msg.get("method"), msg.get("id")
        if method is None or mid is None or not str(method).startswith("fake/"):
            received.append(msg)
        if method is None or mid is None:
            continue  # a notification, or an answer to something emitted
        if method == "initialize":
            text = os.environ.get("FAKE_CODEX_INITIALIZE")
            result = json.loads(text) if text else {
                "userAgent": "fake_codex/0.169.0 (test)", "codexHome": "/nonexistent",
                "platformFamily": "unix", "platformOs": "linux"}
            send({"id": mid, "result": result})
        elif method == "fake/emit":
            params = msg.get("params") or {}
            lines = params.get("lines", [])
            for line in lines:
                out.write(base64.b64decode(line) + b"\n")
            big = params.get("big")
            if big:
                out.write(big.get("prefix", "").encode() + b"x" * int(big["size"]) + big.get("suffix", "").encode() + b"\n")
            out.flush()
            send({"id": mid, "result": {"emitted": len(lines) + (1 if big else 0)}})
        elif method == "fake/received":
            send({"id": mid, "result": {"messages": received}})
            received = []
        elif method == "fake/swallow":
            swallowed.append(mid)
        elif method == "fake/release":
            for sid in swallowed:
                send({"id": sid, "result": {"late": True}})
            send({"id": mid, "result": {"released": len(swallowed)}})
            swallowed = []
        elif method == "fake/echo":
            send({"id": mid, "result": {"params": msg.get("params")}})
        else:
            send({"id": mid, "error": {"code": -32600, "message": f"unknown method {method}"}})


if __name__ == "__main__":
    if sys.argv[1:2] != ["app-server"]:
        sys.exit(f"fake_codex.py: only `app-server` is played here, not {sys.argv[1:]}")
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
