"""Bad input from the editor gets a proper JSON-RPC error and the bridge keeps serving."""
import json
import unittest

from harness import CodexTestCase, read_jsonl


class BadInputTest(CodexTestCase):
    script = "hello.yaml"

    def assert_still_serving(self, b, id):
        r = b.call("coco/status", id=id)
        self.assertEqual(r["result"]["upstream"]["state"], "ready")

    def test_lines_framing_errors(self):
        b = self.bridge("lines")
        b.initialize()
        b.send_raw(b'{"jsonrpc":"2.0","id":1,"method":\n')  # broken JSON
        err = b.wait_for(lambda m: m.get("error", {}).get("code") == -32700, what="a parse error")
        self.assertIsNone(err["id"])
        self.assert_still_serving(b, "after-parse-error")

        b.send_raw(b'{"jsonrpc":"2.0","id":7}\n')  # neither request nor response
        err = b.wait_for(lambda m: m.get("error", {}).get("code") == -32600, what="an invalid request error")
        self.assertEqual(err["id"], 7)
        b.send_raw(b'[1,2,3]\n')
        b.send_raw(b'{"jsonrpc":"2.0","id":{"x":1},"method":"thread/list"}\n')
        b.wait_for(lambda m: len([x for x in b.seen if x.get("error", {}).get("code") == -32600]) >= 3,
                   what="three invalid request errors")

        r = b.call("coco/no-such-method", id="x")
        self.assertEqual(r["error"]["code"], -32601)
        # An unknown codex method is codex's to reject, and it is.
        r = b.call("no/such/method", id=55)
        self.assertIn("error", r)
        self.assert_still_serving(b, "end")
        self.assertEqual(b.close(), 0)

        log = read_jsonl(b.task_dir() / "agents/app-server/runtime/events.jsonl")
        invalid = [e for e in log if "error" in e and "raw" in e]
        self.assertTrue(any("jsonrpc" in e["raw"] for e in invalid), "the broken bytes are recorded")

    def test_content_length_errors_and_recovery(self):
        b = self.bridge("content-length", extra_args=["--max-frame-bytes", "4096"])
        b.initialize(id="i")
        # An oversize frame: reported, skipped, and the stream stays in sync.
        big = json.dumps({"jsonrpc": "2.0", "id": 9, "method": "thread/list", "params": {"pad": "x" * 10000}}).encode()
        b.send_raw(b"Content-Length: %d\r\n\r\n" % len(big) + big)
        err = b.wait_for(lambda m: m.get("error", {}).get("code") == -32052, what="a frame-too-large error")
        self.assertIsNone(err["id"])
        self.assertIn("4096", err["error"]["message"])
        self.assert_still_serving(b, 1)
        # A header block without Content-Length: resync at the next header.
        b.send_raw(b"Content-Type: text/plain\r\n\r\n{\"garbage\":true}")
        b.wait_for(lambda m: m.get("error", {}).get("code") == -32052 and "Content-Length" in m["error"]["message"],
                   what="a header error")
        self.assert_still_serving(b, 2)
        # Broken JSON inside a good frame.
        b.send_raw(b"Content-Length: 5\r\n\r\n{oops")
        b.wait_for(lambda m: m.get("error", {}).get("code") == -32700, what="a parse error")
        self.assert_still_serving(b, 3)
        self.assertEqual(b.close(), 0)


class FirstBytesTest(CodexTestCase):
    """What used to leave the bridge silent forever (issue 13): the first bytes of the stream."""
    script = "hello.yaml"

    def check_serving_after(self, framing, first_bytes, errors):
        b = self.bridge(framing)
        b.send_raw(first_bytes)
        b.initialize(id="init")
        r = b.call("coco/status", id="status")
        self.assertEqual(r["result"]["editor"]["transport"], f"stdio, {framing} framing")
        bad = [m for m in b.seen if m.get("error", {}).get("code") == -32052]
        self.assertEqual(len(bad), errors, b.seen)
        self.assertEqual(b.close(), 0)
        for line in (b.task_dir() / "agents/app-server/runtime/events.jsonl").read_text().splitlines():
            json.loads(line)  # every recorded line parses

    def test_byte_order_mark(self):
        self.check_serving_after("lines", b"\xef\xbb\xbf", 0)

    def test_byte_order_mark_content_length(self):
        self.check_serving_after("content-length", b"\xef\xbb\xbf", 0)

    def test_junk_before_the_first_message(self):
        self.check_serving_after("lines", b"\x00\x01garbage line\n", 1)

    def test_json_scalar_first(self):
        self.check_serving_after("content-length", b"42\r\n", 1)

    def test_content_length_far_beyond_the_cap(self):
        for length in (b"99999999999", b"9223372036854775807", b"99999999999999999999999999"):
            with self.subTest(length=length):
                b = self.bridge("content-length", extra_args=["--max-frame-bytes", "4096"])
                b.initialize(id="i")
                b.send_raw(b"Content-Length: " + length + b"\r\n\r\n{\"id\":1}")
                b.wait_for(lambda m: m.get("error", {}).get("code") == -32052, what="a frame error")
                # The next message is served: the stream was not swallowed.
                self.assertEqual(b.call("coco/status", id="after")["result"]["upstream"]["state"], "ready")
                self.assertEqual(b.close(), 0)

    def test_invalid_request_keeps_its_id(self):
        b = self.bridge("lines")
        b.initialize()
        b.send_raw(b'{"jsonrpc":"2.0","id":"x","method":5}\n')
        err = b.wait_for(lambda m: m.get("error", {}).get("code") == -32600, what="an invalid request error")
        self.assertEqual(err["id"], "x")
        self.assertEqual(b.close(), 0)


if __name__ == "__main__":
    unittest.main()
