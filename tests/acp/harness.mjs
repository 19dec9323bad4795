// Shared helpers for the `coco acp` tests: the real `coco acp`, the real pinned codex and `coco
// mock-model`, with the ACP TypeScript SDK (@agentclientprotocol/sdk) as the client. Everything waits
// for events with deadlines; nothing sleeps.
//
// Environment (set by ctest): COCO_BIN (the coco executable), COCO_SOURCE_DIR (the checkout),
// COCO_CODEX (optional, another codex), COCO_KEEP_TEST_DIRS (keep the scratch directories).
import * as acp from "@agentclientprotocol/sdk";
import Ajv2020 from "ajv/dist/2020.js";
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.COCO_SOURCE_DIR ?? path.resolve(here, "../..");
export const COCO_BIN = process.env.COCO_BIN ?? path.join(SOURCE_DIR, "build/cli/coco");
export const CODEX =
  process.env.COCO_CODEX ??
  path.join(SOURCE_DIR, ".tools/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex");
export const SCRIPTS = path.join(SOURCE_DIR, "mockmodel/scripts");
export const DEADLINE_MS = 60_000;
// Scratch space: not under /tmp, where codex cannot set up its sandbox helpers (docs/mock-model.md).
const TEST_TMP = process.env.COCO_TEST_TMPDIR ?? path.join(os.homedir(), ".cache", "coco-tests");

export function scratchDir(prefix) {
  fs.mkdirSync(TEST_TMP, { recursive: true });
  return fs.mkdtempSync(path.join(TEST_TMP, prefix));
}

export function removeScratch(dir) {
  if (process.env.COCO_KEEP_TEST_DIRS) console.log(`kept ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

// Resolves when `predicate()` holds, re-checked whenever `emitter` says something changed; rejects
// after `ms` with a message naming what was awaited.
export function until(predicate, what, subscribe, ms = DEADLINE_MS) {
  return new Promise((resolve, reject) => {
    const check = () => {
      let value;
      try {
        value = predicate();
      } catch (e) {
        cleanup();
        reject(e);
        return;
      }
      if (value) {
        cleanup();
        resolve(value);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const unsubscribe = subscribe(check);
    function cleanup() {
      clearTimeout(timer);
      unsubscribe();
    }
    check();
  });
}

// Polls a condition on disk (files have no events to wait on).
export async function untilFile(predicate, what, ms = DEADLINE_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function readJsonl(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

// --- the mock model ------------------------------------------------------------------------------

export class MockModel {
  static async start(workdir, { script, text }) {
    const m = new MockModel();
    if (text !== undefined) {
      script = path.join(workdir, "script.yaml");
      fs.writeFileSync(script, text);
    }
    const log = fs.openSync(path.join(workdir, "mock-model.log"), "w");
    m.proc = spawn(COCO_BIN, ["mock-model", "--script", script], { stdio: ["ignore", "pipe", log] });
    fs.closeSync(log);
    const lines = readline.createInterface({ input: m.proc.stdout });
    const first = await new Promise((resolve, reject) => {
      lines.once("line", resolve);
      m.proc.once("exit", (code) => reject(new Error(`mock-model exited (${code}); see ${workdir}/mock-model.log`)));
    });
    if (!/^\d+$/.test(first)) throw new Error(`mock-model did not print a port: ${first}`);
    m.port = Number(first);
    return m;
  }

  async close() {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    await exited;
  }
}

export function writeCodexHome(home, port, { model = "mock-model" } = {}) {
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(
    path.join(home, "config.toml"),
    `model = "${model}"
model_provider = "mock"
approval_policy = "on-request"
sandbox_mode = "read-only"
[analytics]
enabled = false
[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:${port}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
`,
  );
  return home;
}

// --- the ACP schema, for every message on the wire ------------------------------------------------

const require = createRequire(import.meta.url);
const SCHEMA = require("@agentclientprotocol/sdk/schema/v1/schema.json");
let ajv;
function validator(def) {
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema(SCHEMA, "acp");
  }
  return ajv.getSchema(`acp#/$defs/${def}`);
}

// The schema definition of what coco sends: requests and notifications by method, responses by the
// method the client asked.
const AGENT_MESSAGES = {
  "session/update": "SessionNotification",
  "session/request_permission": "RequestPermissionRequest",
  "$/cancel_request": "CancelRequestNotification",
};
const AGENT_RESULTS = {
  initialize: "InitializeResponse",
  authenticate: "AuthenticateResponse",
  "session/new": "NewSessionResponse",
  "session/load": "LoadSessionResponse",
  "session/list": "ListSessionsResponse",
  "session/resume": "ResumeSessionResponse",
  "session/close": "CloseSessionResponse",
  "session/set_mode": "SetSessionModeResponse",
  "session/set_config_option": "SetSessionConfigOptionResponse",
  "session/prompt": "PromptResponse",
};

// Checks the raw lines both ways: every line coco wrote is one JSON-RPC 2.0 message, and every ACP
// message matches the ACP v1 schema of the pinned SDK (extensions, `_coco/*`, are Coco's own).
export function wireProblems(wire) {
  const problems = [];
  const asked = new Map(); // client request id -> method
  for (const { from, line } of wire) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      problems.push(`${from}: not JSON: ${line.slice(0, 200)}`);
      continue;
    }
    if (from === "client") {
      if (msg.method && msg.id !== undefined) asked.set(JSON.stringify(msg.id), msg.method);
      continue;
    }
    if (msg.jsonrpc !== "2.0") problems.push(`coco sent a message without "jsonrpc":"2.0": ${line.slice(0, 200)}`);
    let def, value;
    if (msg.method) {
      if (msg.method.startsWith("_coco/")) continue;
      def = AGENT_MESSAGES[msg.method];
      value = msg.params;
      if (!def) problems.push(`coco sent an unexpected method ${msg.method}`);
    } else if ("result" in msg) {
      const method = asked.get(JSON.stringify(msg.id));
      if (method?.startsWith("_coco/")) continue;
      def = AGENT_RESULTS[method];
      value = msg.result;
      if (!def) problems.push(`a result for an unknown request ${JSON.stringify(msg.id)}`);
    } else if ("error" in msg) {
      if (typeof msg.error?.code !== "number" || typeof msg.error?.message !== "string")
        problems.push(`a malformed error: ${line.slice(0, 200)}`);
      continue;
    }
    if (!def) continue;
    const validate = validator(def);
    if (!validate(value)) {
      problems.push(`${msg.method ?? "result of " + asked.get(JSON.stringify(msg.id))} does not match ${def}: ` +
        `${ajv.errorsText(validate.errors)}\n  ${line.slice(0, 400)}`);
    }
  }
  return problems;
}

// --- `coco acp` and its client -------------------------------------------------------------------

// One `coco acp` process, spoken to through the SDK's client. Records every raw line both ways, every
// session/update per session, every permission request and extension notification.
export class Agent {
  static async start({ work, codexHome, name = "a", args = [], onPermission }) {
    const a = new Agent();
    a.dir = path.join(work, name);
    a.taskRoot = path.join(work, "tasks"); // shared by every process of a test: session/load finds them
    a.cwd = path.join(work, "project");
    fs.mkdirSync(a.dir, { recursive: true });
    fs.mkdirSync(a.cwd, { recursive: true });
    a.stderrPath = path.join(a.dir, "coco.stderr");
    const stderr = fs.openSync(a.stderrPath, "w");
    a.proc = spawn(
      COCO_BIN,
      ["acp", "--codex", CODEX, "--task-root", a.taskRoot, "--cwd", a.cwd, "--log-level", "debug", ...args],
      { stdio: ["pipe", "pipe", stderr], env: { ...process.env, CODEX_HOME: codexHome } },
    );
    fs.closeSync(stderr);
    a.exited = new Promise((resolve) => a.proc.once("exit", (code, signal) => resolve({ code, signal })));
    a.wire = [];
    a.updates = []; // {sessionId, update}
    a.permissions = []; // {params, signal, answer}
    a.extensions = []; // _coco/* notifications {method, params}
    a.listeners = new Set();
    a.onPermission = onPermission ?? (() => ({ outcome: { outcome: "cancelled" } }));

    // The raw bytes, tapped on their way to and from the SDK's line codec.
    let pending = "";
    const input = new ReadableStream({
      start(controller) {
        a.proc.stdout.on("data", (chunk) => {
          pending += chunk.toString("utf8");
          let nl;
          while ((nl = pending.indexOf("\n")) >= 0) {
            a.wire.push({ from: "coco", line: pending.slice(0, nl) });
            pending = pending.slice(nl + 1);
          }
          try {
            controller.enqueue(new Uint8Array(chunk));
          } catch {
            // the SDK closed its side: the raw lines are still recorded above
          }
        });
        a.proc.stdout.on("end", () => {
          try {
            controller.close();
          } catch {
            // the SDK closed its side first
          }
        });
      },
    });
    const output = Writable.toWeb(
      new Writable({
        write(chunk, _enc, done) {
          for (const line of chunk.toString("utf8").split("\n")) if (line) a.wire.push({ from: "client", line });
          if (a.proc.stdin.destroyed) return done();
          a.proc.stdin.write(chunk, done);
        },
      }),
    );

    const app = acp
      .client({ name: "coco-tests" })
      .onNotification("session/update", ({ params }) => {
        a.updates.push(params);
        a.changed();
      })
      .onRequest("session/request_permission", async ({ params, signal }) => {
        const entry = { params, signal, answer: undefined };
        a.permissions.push(entry);
        a.changed();
        entry.answer = await a.onPermission({ params, signal });
        a.changed();
        return entry.answer;
      })
      .onNotification("*", ({ method, params }) => {
        a.extensions.push({ method, params });
        a.changed();
      });
    a.connection = app.connect(acp.ndJsonStream(output, input));
    a.client = a.connection.agent;
    return a;
  }

  changed() {
    for (const f of [...this.listeners]) f();
  }

  subscribe = (f) => {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  };

  until(predicate, what, ms) {
    return until(predicate, what, this.subscribe, ms);
  }

  async initialize() {
    const r = await this.client.request("initialize", {
      protocolVersion: acp.PROTOCOL_VERSION,
      clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
      clientInfo: { name: "coco-tests", title: "Coco tests", version: "0" },
    });
    this.init = r;
    this.taskDir = r._meta?.coco?.taskDir;
    return r;
  }

  async newSession() {
    return this.client.request("session/new", { cwd: this.cwd, mcpServers: [] });
  }

  prompt(sessionId, text) {
    return this.client.request("session/prompt", { sessionId, prompt: [{ type: "text", text }] });
  }

  sessionUpdates(sessionId, kind) {
    return this.updates.filter((u) => u.sessionId === sessionId && (!kind || u.update.sessionUpdate === kind)).map((u) => u.update);
  }

  stderrTail() {
    try {
      return fs.readFileSync(this.stderrPath, "utf8").slice(-3000);
    } catch {
      return "";
    }
  }

  // The client goes away (stdin closes): coco must exit by itself, cleanly, and leave no codex behind.
  async close() {
    let codexPid;
    if (this.proc.exitCode === null) {
      try {
        const status = await this.client.request("_coco/status", {});
        codexPid = status.upstream?.pid;
      } catch {
        // a test that already broke the connection
      }
    }
    this.proc.stdin.end();
    let timer;
    const exit = await Promise.race([
      this.exited,
      new Promise((r) => {
        timer = setTimeout(() => r(null), DEADLINE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (exit === null) {
      this.proc.kill("SIGKILL");
      throw new Error(`coco acp did not exit after its stdin closed; stderr:\n${this.stderrTail()}`);
    }
    this.connection.close();
    let codexAlive = false;
    if (codexPid) {
      try {
        process.kill(codexPid, 0);
        codexAlive = true;
      } catch {
        // ESRCH: gone, as it must be
      }
    }
    return { ...exit, codexPid, codexAlive, wireProblems: wireProblems(this.wire) };
  }
}

// A test's world: a scratch directory, a mock model and a private CODEX_HOME. `use` runs `body` and
// always cleans up (the scratch directory stays with COCO_KEEP_TEST_DIRS).
export async function withWorld({ script, text, model }, body) {
  if (!fs.existsSync(COCO_BIN)) throw new Error(`no coco at ${COCO_BIN}: build first (./dev build)`);
  const work = scratchDir("coco-acp-");
  const mock = await MockModel.start(work, { script: script && path.join(SCRIPTS, script), text });
  const codexHome = writeCodexHome(path.join(work, "codex-home"), mock.port, { model });
  const agents = [];
  const world = {
    work,
    mock,
    codexHome,
    async agent(options = {}) {
      const a = await Agent.start({ work, codexHome, name: `p${agents.length}`, ...options });
      agents.push(a);
      return a;
    },
  };
  try {
    return await body(world);
  } finally {
    for (const a of agents) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill("SIGKILL");
    await mock.close();
    removeScratch(work);
  }
}
