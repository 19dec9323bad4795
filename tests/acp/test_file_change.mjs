// A file change shows as an `edit` tool call with `diff` content (path, oldText, newText), in the
// tool call and in its permission request.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { withWorld } from "./harness.mjs";

// apply_patch is offered only to models codex knows (docs/mock-model.md): gpt-5.5 on the mock provider.
const PATCH = `
steps:
  - patch: |
      *** Begin Patch
      *** Update File: greeting.txt
      @@
       hello
      -world
      +there
      *** Add File: added.txt
      +a new file
      *** End Patch
    call_id: call_edit
  - message: "Edited."
`;

test("a file change carries its diffs, before and after, into the tool call and the permission request", () =>
  withWorld({ text: PATCH, model: "gpt-5.5" }, async (world) => {
    const a = await world.agent({
      onPermission: ({ params }) => ({
        outcome: { outcome: "selected", optionId: params.options.find((o) => o.kind === "allow_once").optionId },
      }),
    });
    const greeting = path.join(a.cwd, "greeting.txt"), added = path.join(a.cwd, "added.txt");
    fs.writeFileSync(greeting, "hello\nworld\n");
    await a.initialize();
    const { sessionId } = await a.newSession();
    const result = await a.prompt(sessionId, "Change the greeting");
    assert.equal(result.stopReason, "end_turn");

    const expected = [
      { type: "diff", path: greeting, oldText: "hello\nworld\n", newText: "hello\nthere\n" },
      { type: "diff", path: added, oldText: null, newText: "a new file\n" },
    ];
    const byPath = (list) => [...list].sort((x, y) => x.path.localeCompare(y.path));
    const call = a.sessionUpdates(sessionId, "tool_call").find((u) => u.toolCallId === "call_edit");
    assert.equal(call.kind, "edit");
    assert.deepEqual(byPath(call.content), byPath(expected));
    assert.deepEqual(call.locations.map((l) => l.path).sort(), [added, greeting].sort());

    assert.equal(a.permissions.length, 1);
    const asked = a.permissions[0].params;
    assert.equal(asked.toolCall.toolCallId, "call_edit");
    assert.deepEqual(byPath(asked.toolCall.content), byPath(expected));
    assert.equal(asked._meta.coco.kind, "fileChange");

    // Allowed: codex wrote both files.
    assert.equal(fs.readFileSync(greeting, "utf8"), "hello\nthere\n");
    assert.equal(fs.readFileSync(added, "utf8"), "a new file\n");
    const done = a.sessionUpdates(sessionId, "tool_call_update").find((u) => u.toolCallId === "call_edit" && u.status);
    assert.equal(done.status, "completed");
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.deepEqual(exit.wireProblems, []);
  }));
