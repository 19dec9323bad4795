// A prompt and its streamed answer, the handshake, authentication, a codex restart, and a clean exit
// when the client leaves.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";

import { withWorld } from "./harness.mjs";

const STREAMED = "Streaming works: these words arrive as separate deltas.";

test("a prompt streams its answer as agent_message_chunks and ends with end_turn", () =>
  withWorld({ script: "streamed.yaml" }, async (world) => {
    const a = await world.agent();
    const init = await a.initialize();
    assert.equal(init.protocolVersion, 1);
    assert.equal(init.agentCapabilities.loadSession, true);
    assert.deepEqual(Object.keys(init.agentCapabilities.sessionCapabilities).sort(), ["close", "list", "resume"]);
    assert.equal(init.agentCapabilities.promptCapabilities.image, true);
    assert.equal(init.agentCapabilities.promptCapabilities.embeddedContext, true);
    assert.equal(init.agentInfo.name, "coco");
    // Coco's extras: the task directory and the _coco/* methods.
    assert.ok(fs.existsSync(`${a.taskDir}/task.yaml`), `no task directory at ${a.taskDir}`);
    assert.ok(init._meta.coco.capabilities.methods.includes("_coco/exec/spawn"));

    const session = await a.newSession();
    assert.match(session.sessionId, /^[0-9a-f-]{36}$/);
    assert.equal(session.modes.currentModeId, "read-only"); // the CODEX_HOME's on-request + read-only
    assert.deepEqual(session.configOptions.map((o) => o.id).slice(0, 2), ["mode", "model"]);

    const result = await a.prompt(session.sessionId, "Say something");
    assert.equal(result.stopReason, "end_turn");

    const chunks = a.sessionUpdates(session.sessionId, "agent_message_chunk");
    assert.ok(chunks.length > 1, `the answer came in ${chunks.length} chunk(s), not streamed`);
    assert.equal(chunks.map((c) => c.content.text).join(""), STREAMED);
    assert.equal(new Set(chunks.map((c) => c.messageId)).size, 1, "one message, one messageId");

    const [info] = a.sessionUpdates(session.sessionId, "session_info_update");
    assert.equal(info.title, "Say something");
    const [commands] = a.sessionUpdates(session.sessionId, "available_commands_update");
    assert.ok(commands.availableCommands.some((c) => c.name === "review"));
    const usage = a.sessionUpdates(session.sessionId, "usage_update").at(-1);
    assert.ok(usage.used > 0 && usage.size > 0, JSON.stringify(usage));

    // The client leaves: coco exits by itself, cleanly, and its codex is gone with it.
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.ok(exit.codexPid > 0);
    assert.equal(exit.codexAlive, false, `codex (pid ${exit.codexPid}) outlived coco`);
    assert.deepEqual(exit.wireProblems, []);
  }));

test("requests before initialize and unknown methods get JSON-RPC errors", () =>
  withWorld({ script: "streamed.yaml" }, async (world) => {
    const a = await world.agent();
    await assert.rejects(a.client.request("session/new", { cwd: a.cwd, mcpServers: [] }), /initialize first/);
    await a.initialize();
    await assert.rejects(a.client.request("session/new", { cwd: "relative/dir", mcpServers: [] }), (e) => e.code === -32602);
    await assert.rejects(a.client.request("_coco/no/such", {}), (e) => e.code === -32601);
    await assert.rejects(
      a.client.request("session/prompt", { sessionId: "no-such-session", prompt: [{ type: "text", text: "hi" }] }),
      (e) => e.code === -32002,
    );
    const status = await a.client.request("_coco/status", {});
    assert.equal(status.editor.face.name, "acp");
    const exit = await a.close();
    assert.equal(exit.code, 0);
    assert.deepEqual(exit.wireProblems, []);
  }));

test("authenticate passes codex's account state through", () =>
  withWorld({ script: "streamed.yaml" }, async (world) => {
    const a = await world.agent();
    const init = await a.initialize();
    assert.deepEqual(init.authMethods.map((m) => m.id), ["codex-login", "openai-api-key"]);
    // The mock provider needs no OpenAI login: codex says so, and codex-login succeeds.
    const r = await a.client.request("authenticate", { methodId: "codex-login" });
    assert.equal(r._meta.coco.account, null);
    await assert.rejects(a.client.request("authenticate", { methodId: "no-such-method" }), (e) => e.code === -32602);
    const exit = await a.close();
    assert.equal(exit.code, 0);
    assert.deepEqual(exit.wireProblems, []);
  }));

test("after codex restarts, the sessions are resumed and prompts go on", () =>
  withWorld({ text: 'steps:\n  - message: "still here"\n    repeat: true\n' }, async (world) => {
    const a = await world.agent();
    await a.initialize();
    const { sessionId } = await a.newSession();
    assert.equal((await a.prompt(sessionId, "before")).stopReason, "end_turn");
    const before = await a.client.request("_coco/status", {});
    await a.client.request("_coco/upstream/restart", {});
    await a.until(() => a.extensions.some((e) => e.method === "_coco/upstream/restarted"), "_coco/upstream/restarted");
    const after = await a.client.request("_coco/status", {});
    assert.notEqual(after.upstream.pid, before.upstream.pid);
    assert.equal((await a.prompt(sessionId, "after")).stopReason, "end_turn");
    const texts = a.sessionUpdates(sessionId, "agent_message_chunk").map((c) => c.content.text);
    assert.deepEqual(texts, ["still here", "still here"]);
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.equal(exit.codexAlive, false);
    assert.deepEqual(exit.wireProblems, []);
  }));
