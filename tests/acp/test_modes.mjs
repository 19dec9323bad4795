// Modes (codex's approval and sandbox presets) and config options (model, reasoning effort): what the
// client chooses reaches codex with the next turn.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";

import { readJsonl, withWorld } from "./harness.mjs";

const SCRIPT = `
steps:
  - message: "ok"
    repeat: true
`;

test("session/set_mode and session/set_config_option change what the next turn/start asks of codex", () =>
  withWorld({ text: SCRIPT }, async (world) => {
    const a = await world.agent();
    await a.initialize();
    const session = await a.newSession();
    const { sessionId } = session;
    assert.deepEqual(session.modes.availableModes.map((m) => m.id), ["read-only", "auto", "full-access"]);
    const model = session.configOptions.find((o) => o.id === "model");
    assert.equal(model.currentValue, "mock-model");
    assert.ok(model.options.some((o) => o.value === "gpt-5.5"), "codex's catalog is offered");
    assert.equal(session.configOptions.find((o) => o.id === "reasoning_effort"), undefined, "mock-model lists no efforts");

    assert.deepEqual(await a.client.request("session/set_mode", { sessionId, modeId: "auto" }), {});
    const modeUpdate = await a.until(
      () => a.sessionUpdates(sessionId, "config_option_update").at(-1),
      "config_option_update after set_mode",
    );
    assert.equal(modeUpdate.configOptions.find((o) => o.id === "mode").currentValue, "auto");
    await assert.rejects(a.client.request("session/set_mode", { sessionId, modeId: "yolo" }), (e) => e.code === -32602);

    const afterModel = await a.client.request("session/set_config_option", { sessionId, configId: "model", value: "gpt-5.5" });
    const effort = afterModel.configOptions.find((o) => o.id === "reasoning_effort");
    assert.ok(effort, "gpt-5.5 lists its reasoning efforts");
    const choice = effort.options.find((o) => o.value !== effort.currentValue).value;
    const afterEffort = await a.client.request("session/set_config_option", { sessionId, configId: "reasoning_effort", value: choice });
    assert.equal(afterEffort.configOptions.find((o) => o.id === "reasoning_effort").currentValue, choice);
    await assert.rejects(
      a.client.request("session/set_config_option", { sessionId, configId: "model", value: "no-such-model" }),
      (e) => e.code === -32602,
    );

    assert.equal((await a.prompt(sessionId, "hello")).stopReason, "end_turn");
    const exit = await a.close();
    assert.equal(exit.code, 0, a.stderrTail());
    assert.deepEqual(exit.wireProblems, []);

    // What codex was asked to do: the recording of the turn/start.
    const log = readJsonl(path.join(a.taskDir, "agents", "app-server", "runtime", "events.jsonl"));
    const start = log.find((r) => r.dir === "bridge->codex" && r.msg.method === "turn/start").msg.params;
    assert.equal(start.approvalPolicy, "on-request");
    assert.equal(start.sandboxPolicy.type, "workspaceWrite");
    assert.equal(start.model, "gpt-5.5");
    assert.equal(start.effort, choice);
  }));
