// Sessions across processes: session/list, session/resume, session/close, and session/load replaying
// the recorded stream (tool calls included) in a fresh process, again and again.
import assert from "node:assert/strict";
import { test } from "node:test";

import { withWorld } from "./harness.mjs";

const SCRIPT = `
steps:
  - when: "first prompt"
    exec: "echo hi from the sandbox"
    call_id: call_echo
  - when: "Process exited with code 0"
    message: "The command printed: hi from the sandbox"
  - message: "Another answer."
    repeat: true
`;

// The session/update notifications coco sent for `sessionId` before answering the client's `method`
// request (in coco's own order), as raw messages.
function updatesBefore(a, method, sessionId) {
  const request = a.wire.map((w) => w.from === "client" && JSON.parse(w.line)).find((m) => m && m.method === method);
  const out = [];
  for (const w of a.wire) {
    if (w.from !== "coco") continue;
    const m = JSON.parse(w.line);
    if (m.id === request.id && !m.method) return out;
    if (m.method === "session/update" && m.params.sessionId === sessionId) out.push(m.params);
  }
  throw new Error(`no answer to ${method}`);
}

const withoutUserChunks = (updates) => updates.filter((u) => u.sessionUpdate !== "user_message_chunk");
const userTexts = (updates) => updates.filter((u) => u.sessionUpdate === "user_message_chunk").map((u) => u.content.text);

test("list, resume and close sessions; session/load replays the recorded stream in a new process", () =>
  withWorld({ text: SCRIPT }, async (world) => {
    // Process A: a session with a command in it.
    const a = await world.agent();
    await a.initialize();
    const { sessionId } = await a.newSession();
    assert.equal((await a.prompt(sessionId, "first prompt")).stopReason, "end_turn");
    const streamA = a.sessionUpdates(sessionId);
    assert.ok(streamA.some((u) => u.sessionUpdate === "tool_call" && u.toolCallId === "call_echo"));
    assert.equal((await a.close()).code, 0);

    // Process B: list, resume (no replay), prompt, close.
    const b = await world.agent();
    await b.initialize();
    const listed = await b.client.request("session/list", { cwd: b.cwd });
    const entry = listed.sessions.find((s) => s.sessionId === sessionId);
    assert.ok(entry, JSON.stringify(listed));
    assert.equal(entry.title, "first prompt");
    assert.equal(entry.cwd, b.cwd);
    assert.ok(entry.updatedAt);
    assert.deepEqual((await b.client.request("session/list", { cwd: "/nowhere" })).sessions, []);
    const resumed = await b.client.request("session/resume", { sessionId, cwd: b.cwd, mcpServers: [] });
    assert.equal(resumed.modes.currentModeId, "read-only");
    assert.deepEqual(updatesBefore(b, "session/resume", sessionId), [], "session/resume must not replay");
    assert.equal((await b.prompt(sessionId, "second prompt")).stopReason, "end_turn");
    const streamB = b.sessionUpdates(sessionId).filter((u) => u.sessionUpdate !== "available_commands_update");
    assert.equal(streamB.filter((u) => u.sessionUpdate === "agent_message_chunk").map((u) => u.content.text).join(""), "Another answer.");
    assert.deepEqual(await b.client.request("session/close", { sessionId }), {});
    await assert.rejects(b.prompt(sessionId, "after close"), (e) => e.code === -32002);
    const exitB = await b.close();
    assert.equal(exitB.code, 0, b.stderrTail());
    assert.deepEqual(exitB.wireProblems, []);

    // Process C: session/load replays A's stream (its tool call included) and B's, with the prompts.
    const c = await world.agent();
    await c.initialize();
    await c.client.request("session/load", { sessionId, cwd: c.cwd, mcpServers: [] });
    const replayC = updatesBefore(c, "session/load", sessionId);
    assert.ok(replayC.every((p) => p._meta?.coco?.replay >= 1), "replayed updates are marked");
    const updatesC = replayC.map((p) => p.update);
    // Exactly what the client saw then, in order, with the user's prompts where they were sent.
    const liveB = b.sessionUpdates(sessionId);
    assert.deepEqual(withoutUserChunks(updatesC), [...streamA, ...liveB]);
    assert.deepEqual(userTexts(updatesC), ["first prompt", "second prompt"]);
    const firstUser = updatesC.findIndex((u) => u.sessionUpdate === "user_message_chunk");
    const firstTool = updatesC.findIndex((u) => u.sessionUpdate === "tool_call");
    assert.ok(firstUser < firstTool, "the prompt comes before the tool call it caused");
    // The thread goes on in codex.
    assert.equal((await c.prompt(sessionId, "third prompt")).stopReason, "end_turn");
    const exitC = await c.close();
    assert.equal(exitC.code, 0, c.stderrTail());
    assert.deepEqual(exitC.wireProblems, []);

    // Process D: C's recording holds C's replay and C's prompt; loading again repeats nothing twice.
    const d = await world.agent();
    await d.initialize();
    await d.client.request("session/load", { sessionId, cwd: d.cwd, mcpServers: [] });
    const updatesD = updatesBefore(d, "session/load", sessionId).map((p) => p.update);
    assert.deepEqual(userTexts(updatesD), ["first prompt", "second prompt", "third prompt"]);
    assert.equal(updatesD.filter((u) => u.sessionUpdate === "tool_call" && u.toolCallId === "call_echo").length, 1);
    const liveC = c.sessionUpdates(sessionId).slice(replayC.length);
    assert.deepEqual(withoutUserChunks(updatesD), [...streamA, ...liveB, ...withoutUserChunks(liveC)]);
    const exitD = await d.close();
    assert.equal(exitD.code, 0, d.stderrTail());
    assert.deepEqual(exitD.wireProblems, []);
  }));

test("session/load of an unknown session is a resource-not-found error", () =>
  withWorld({ text: SCRIPT }, async (world) => {
    const a = await world.agent();
    await a.initialize();
    await assert.rejects(
      a.client.request("session/load", { sessionId: "01a23800-0000-7000-8000-000000000000", cwd: a.cwd, mcpServers: [] }),
      (e) => e.code === -32002,
    );
    const exit = await a.close();
    assert.equal(exit.code, 0);
    assert.deepEqual(exit.wireProblems, []);
  }));

test("session/load of a session recorded with --no-record replays codex's own history", () =>
  withWorld({ text: SCRIPT }, async (world) => {
    // Process A keeps no messages: its task directory knows the session, but not what was said.
    const a = await world.agent({ args: ["--no-record"] });
    await a.initialize();
    const { sessionId } = await a.newSession();
    assert.equal((await a.prompt(sessionId, "first prompt")).stopReason, "end_turn");
    assert.equal((await a.close()).code, 0);

    const b = await world.agent();
    await b.initialize();
    await b.client.request("session/load", { sessionId, cwd: b.cwd, mcpServers: [] });
    const updates = updatesBefore(b, "session/load", sessionId).map((p) => p.update);
    assert.deepEqual(userTexts(updates), ["first prompt"]);
    const tool = updates.find((u) => u.sessionUpdate === "tool_call");
    assert.ok(tool, JSON.stringify(updates));
    assert.equal(tool.kind, "execute");
    const said = updates.filter((u) => u.sessionUpdate === "agent_message_chunk").map((u) => u.content.text).join("");
    assert.equal(said, "The command printed: hi from the sandbox");
    const exit = await b.close();
    assert.equal(exit.code, 0, b.stderrTail());
    assert.deepEqual(exit.wireProblems, []);
  }));
