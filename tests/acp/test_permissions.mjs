// Gates as session/request_permission: allow, reject (the turn goes on), cancel while a permission is
// pending, a gate resolved elsewhere (the approval timeout), the task-directory hand-off
// (--approvals dir), and what the task directory keeps.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { COCO_BIN, readJsonl, withWorld } from "./harness.mjs";

const ESCALATED = (file, callId, after) => `
steps:
  - exec: "echo escalated > ${file}"
    escalated: true
    justification: "Write ${file} in the project?"
    call_id: ${callId}
  - message: "${after}"
`;

const select = (optionId) => ({ outcome: { outcome: "selected", optionId } });
const optionOfKind = (params, kind) => params.options.find((o) => o.kind === kind);

function checkPermissionRequest(a, permission, sessionId, callId, command) {
  const { params } = permission;
  assert.equal(params.sessionId, sessionId);
  assert.equal(params.toolCall.toolCallId, callId);
  // The client knows the tool call already: codex announced the command before asking.
  const call = a.sessionUpdates(sessionId, "tool_call").find((u) => u.toolCallId === callId);
  assert.ok(call, "the tool call was announced before the permission request");
  assert.equal(call.kind, "execute");
  assert.equal(call.title, command);
  // Lossless: every codex choice is an option, with its exact codex decision.
  const byId = Object.fromEntries(params.options.map((o) => [o.optionId, o]));
  assert.equal(byId.accept.kind, "allow_once");
  assert.deepEqual(byId.accept._meta.coco.decision, { decision: "accept" });
  assert.equal(byId.acceptForSession.kind, "allow_always");
  assert.deepEqual(byId.acceptForSession._meta.coco.decision, { decision: "acceptForSession" });
  assert.equal(byId.acceptAlways.kind, "allow_always"); // codex's execpolicy amendment
  assert.ok(byId.acceptAlways._meta.coco.decision.decision.acceptWithExecpolicyAmendment);
  assert.equal(byId.decline.kind, "reject_once");
  assert.deepEqual(byId.decline._meta.coco.decision, { decision: "decline" });
  assert.deepEqual(byId.cancel._meta.coco.decision, { decision: "cancel" });
  // The first reject_once is the one that lets the turn go on.
  assert.equal(optionOfKind(params, "reject_once").optionId, "decline");
  assert.equal(params._meta.coco.gateId, "g1");
}

test("an allowed command runs, and the task directory keeps the exchange and its gate", () =>
  withWorld({ text: ESCALATED("allowed.txt", "call_allowed", "Done.") }, async (world) => {
    const a = await world.agent({ onPermission: ({ params }) => select(optionOfKind(params, "allow_once").optionId) });
    await a.initialize();
    const { sessionId } = await a.newSession();
    const result = await a.prompt(sessionId, "Write the file");
    assert.equal(result.stopReason, "end_turn");
    assert.equal(a.permissions.length, 1);
    checkPermissionRequest(a, a.permissions[0], sessionId, "call_allowed", "echo escalated > allowed.txt");
    assert.equal(fs.readFileSync(path.join(a.cwd, "allowed.txt"), "utf8"), "escalated\n");
    const done = a.sessionUpdates(sessionId, "tool_call_update").find((u) => u.toolCallId === "call_allowed" && u.status);
    assert.equal(done.status, "completed");
    assert.equal(done.rawOutput.exitCode, 0);
    assert.equal(a.sessionUpdates(sessionId, "agent_message_chunk").at(-1).content.text, "Done.");
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.deepEqual(exit.wireProblems, []);

    // The task directory: the gate, its outcome, and the whole exchange both ways.
    const gate = JSON.parse(fs.readFileSync(path.join(a.taskDir, "gates", "g1.json"), "utf8"));
    assert.equal(gate.status, "resolved");
    assert.equal(gate.outcome.by, "editor");
    assert.equal(gate.outcome.optionId, "accept");
    assert.deepEqual(gate.outcome.decision, { decision: "accept" });
    const events = readJsonl(path.join(a.taskDir, "events.jsonl"));
    assert.ok(events.some((e) => e.type === "gate.blocked" && e.gateId === "g1" && e.kind === "command"));
    assert.ok(events.some((e) => e.type === "acp.session" && e.sessionId === sessionId && e.origin === "new"));
    assert.ok(events.some((e) => e.type === "client.connected" && e.face === "acp"));
    const log = readJsonl(path.join(a.taskDir, "agents", "app-server", "runtime", "events.jsonl"));
    const seen = (dir, pred) => log.some((r) => r.dir === dir && pred(r.msg));
    assert.ok(seen("editor->bridge", (m) => m.method === "session/prompt" && m.params.sessionId === sessionId));
    assert.ok(seen("bridge->codex", (m) => m.method === "turn/start" && m.params.threadId === sessionId));
    assert.ok(seen("codex->bridge", (m) => m.method === "item/commandExecution/requestApproval"));
    assert.ok(seen("bridge->editor", (m) => m.method === "session/request_permission"));
    assert.ok(seen("editor->bridge", (m) => m.result?.outcome?.optionId === "accept"));
    assert.ok(seen("bridge->codex", (m) => m.result?.decision === "accept"));
    assert.ok(seen("bridge->editor", (m) => m.result?.stopReason === "end_turn"));
    // Every line the client received is in the recording, in order.
    const sent = log.filter((r) => r.dir === "bridge->editor").map((r) => JSON.stringify(r.msg));
    const received = a.wire.filter((w) => w.from === "coco").map((w) => {
      const { jsonrpc, ...msg } = JSON.parse(w.line);
      return JSON.stringify(msg);
    });
    assert.deepEqual(sent, received);
  }));

test("a rejected command is declined and the turn goes on", () =>
  withWorld({ text: ESCALATED("rejected.txt", "call_rejected", "It was not allowed, so I went on without it.") }, async (world) => {
    const a = await world.agent({ onPermission: ({ params }) => select(optionOfKind(params, "reject_once").optionId) });
    await a.initialize();
    const { sessionId } = await a.newSession();
    const result = await a.prompt(sessionId, "Write the file");
    // Not cancelled: codex got `decline`, told the model, and the model answered.
    assert.equal(result.stopReason, "end_turn");
    checkPermissionRequest(a, a.permissions[0], sessionId, "call_rejected", "echo escalated > rejected.txt");
    assert.equal(fs.existsSync(path.join(a.cwd, "rejected.txt")), false);
    const done = a.sessionUpdates(sessionId, "tool_call_update").find((u) => u.toolCallId === "call_rejected" && u.status);
    assert.equal(done.status, "failed");
    assert.equal(done.rawOutput.declined, true);
    const text = a.sessionUpdates(sessionId, "agent_message_chunk").map((c) => c.content.text).join("");
    assert.equal(text, "It was not allowed, so I went on without it.");
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.deepEqual(exit.wireProblems, []);
    const gate = JSON.parse(fs.readFileSync(path.join(a.taskDir, "gates", "g1.json"), "utf8"));
    assert.deepEqual(gate.outcome.decision, { decision: "decline" });
  }));

test("session/cancel while a permission is pending cancels it and ends the turn `cancelled`", () =>
  withWorld({ text: ESCALATED("cancelled.txt", "call_cancelled", "Done.") }, async (world) => {
    // A client that waits for the user, who never answers; the request is withdrawn by coco.
    const a = await world.agent({
      onPermission: ({ signal }) =>
        new Promise((resolve) => signal.addEventListener("abort", () => resolve({ outcome: { outcome: "cancelled" } }))),
    });
    await a.initialize();
    const { sessionId } = await a.newSession();
    const prompt = a.prompt(sessionId, "Write the file");
    await a.until(() => a.permissions.length === 1, "the permission request");
    await a.client.notify("session/cancel", { sessionId });
    const result = await prompt;
    assert.equal(result.stopReason, "cancelled");
    // The pending request was answered `cancel` for the client and withdrawn with $/cancel_request.
    assert.equal(a.permissions[0].signal.aborted, true, "the permission request was not withdrawn");
    assert.ok(a.wire.some((w) => w.from === "coco" && JSON.parse(w.line).method === "$/cancel_request"));
    assert.equal(fs.existsSync(path.join(a.cwd, "cancelled.txt")), false);
    // The session goes on.
    const again = await a.prompt(sessionId, "Anything else?");
    assert.equal(again.stopReason, "end_turn");
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.deepEqual(exit.wireProblems, []);
    const gate = JSON.parse(fs.readFileSync(path.join(a.taskDir, "gates", "g1.json"), "utf8"));
    assert.equal(gate.outcome.optionId, "cancel");
    assert.deepEqual(gate.outcome.decision, { decision: "cancel" });
  }));

test("a gate resolved elsewhere (the approval timeout) withdraws its permission request", () =>
  withWorld({ text: ESCALATED("late.txt", "call_late", "Denied by the timeout; going on.") }, async (world) => {
    const a = await world.agent({
      args: ["--approval-timeout", "0.5"],
      onPermission: ({ signal }) =>
        new Promise((resolve) => signal.addEventListener("abort", () => resolve({ outcome: { outcome: "cancelled" } }))),
    });
    await a.initialize();
    const { sessionId } = await a.newSession();
    const result = await a.prompt(sessionId, "Write the file");
    assert.equal(result.stopReason, "end_turn"); // the timeout denies (decline); the turn goes on
    assert.equal(a.permissions[0].signal.aborted, true);
    const resolved = a.extensions.find((e) => e.method === "_coco/approval/resolved");
    assert.equal(resolved.params.by, "timeout");
    assert.equal(fs.existsSync(path.join(a.cwd, "late.txt")), false);
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.deepEqual(exit.wireProblems, []);
    const events = readJsonl(path.join(a.taskDir, "events.jsonl"));
    assert.ok(events.some((e) => e.type === "gate.resolved" && e.by === "timeout"));
    // The client's late `cancelled` was recorded and ignored.
    assert.ok(events.some((e) => e.type === "gate.lateAnswer" && e.gateId === "g1"));
  }));

test("--approvals dir: the gate waits for a decision in the task directory (coco gate answer)", () =>
  withWorld({ text: ESCALATED("handed-off.txt", "call_dir", "Done.") }, async (world) => {
    const a = await world.agent({ args: ["--approvals", "dir"] });
    await a.initialize();
    const { sessionId } = await a.newSession();
    const prompt = a.prompt(sessionId, "Write the file");
    const pending = await a.until(() => a.extensions.find((e) => e.method === "_coco/approval/pending"), "_coco/approval/pending");
    assert.equal(pending.params.gateId, "g1");
    assert.equal(pending.params.sessionId, sessionId);
    assert.equal(a.permissions.length, 0, "in dir mode the client is shown the gate, not asked");
    const answered = spawnSync(COCO_BIN, ["gate", "answer", a.taskDir, "g1", "accept"], { encoding: "utf8" });
    assert.equal(answered.status, 0, answered.stderr);
    assert.equal((await prompt).stopReason, "end_turn");
    assert.equal(fs.readFileSync(path.join(a.cwd, "handed-off.txt"), "utf8"), "escalated\n");
    const resolved = a.extensions.find((e) => e.method === "_coco/approval/resolved");
    assert.equal(resolved.params.by, "directory");
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.deepEqual(exit.wireProblems, []);
  }));
