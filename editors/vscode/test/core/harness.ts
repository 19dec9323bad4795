// Test helpers: the real `coco` (COCO_BIN), the real pinned codex, `coco mock-model`, each test in its
// own scratch directory under ~/.cache (never /tmp: codex's sandbox refuses a CODEX_HOME there).
// Everything waits for events with deadlines; nothing sleeps a fixed time.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BridgeSettings } from '../../src/core/bridgeClient';
import { locateBridge, type BridgeInfo } from '../../src/core/bridgeLocator';
import type { ApprovalAnswer, ApprovalPrompt } from '../../src/core/protocol';
import { CocoSession, type SessionStatus, type SessionUi } from '../../src/core/session';
import type { TranscriptChange } from '../../src/core/transcript';

export const SOURCE_DIR = process.env.COCO_SOURCE_DIR ?? path.resolve(__dirname, '../../../..');
export const COCO_BIN = process.env.COCO_BIN ?? '';
export const SCRIPTS = path.join(SOURCE_DIR, 'mockmodel', 'scripts');
const CODEX_NATIVE = path.join(SOURCE_DIR, '.tools/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex');
export const DEADLINE_MS = 60_000;

if (!COCO_BIN || !existsSync(COCO_BIN)) {
  throw new Error(`COCO_BIN must name the coco executable (got "${COCO_BIN}"); ctest sets it.`);
}

export function codexPath(): string {
  return process.env.COCO_CODEX || CODEX_NATIVE;
}

export function scratchDir(prefix: string): string {
  const root = process.env.COCO_TEST_TMPDIR ?? path.join(os.homedir(), '.cache', 'coco-vscode-tests');
  mkdirSync(root, { recursive: true });
  return mkdtempSync(path.join(root, prefix));
}

/** Resolves when predicate() holds, checked whenever poke() is called; rejects at the deadline. */
export class Waiter {
  private waiting: { check: () => boolean; resolve: () => void }[] = [];
  poke(): void {
    this.waiting = this.waiting.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }
  until(what: string, check: () => boolean, ms = DEADLINE_MS): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w.check !== check);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      this.waiting.push({ check, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }
}

export class MockModel {
  proc!: ChildProcess;
  port = 0;
  static async start(dir: string, script: { file?: string; text?: string }): Promise<MockModel> {
    const m = new MockModel();
    let file = script.file ? path.join(SCRIPTS, script.file) : path.join(dir, 'script.yaml');
    if (script.text !== undefined) writeFileSync(file, script.text);
    const log = path.join(dir, 'mock-model.log');
    const logFd = openSync(log, 'w');
    m.proc = spawn(COCO_BIN, ['mock-model', '--script', file], { stdio: ['ignore', 'pipe', logFd] });
    closeSync(logFd);
    m.port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error('mock-model printed no port')), DEADLINE_MS);
      m.proc.stdout!.on('data', (d) => {
        buf += d;
        const line = buf.split('\n')[0];
        if (buf.includes('\n')) {
          clearTimeout(timer);
          /^\d+$/.test(line.trim()) ? resolve(Number(line.trim())) : reject(new Error(`mock-model said ${line}`));
        }
      });
      m.proc.once('exit', (code) => reject(new Error(`mock-model exited (${code}); see ${log}`)));
    });
    return m;
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGTERM');
    await exited;
  }
}

export function writeCodexHome(dir: string, port: number, model = 'mock-model'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.toml'), `model = "${model}"
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
`);
  return dir;
}

let bridgeInfo: BridgeInfo | undefined;

type Asker = (prompt: ApprovalPrompt, closed: AbortSignal) => Promise<ApprovalAnswer>;

/** A SessionUi that records everything and answers approvals with a test-supplied function. */
export class RecordingUi implements SessionUi {
  readonly waiter = new Waiter();
  readonly changes: TranscriptChange[] = [];
  readonly statuses: SessionStatus[] = [];
  readonly prompts: ApprovalPrompt[] = [];
  readonly logs: string[] = [];
  readonly failures: string[] = [];
  asker: Asker = () => Promise.reject(new Error('no approval expected'));

  transcriptChanged(changes: TranscriptChange[]): void {
    this.changes.push(...changes);
    this.waiter.poke();
  }
  statusChanged(status: SessionStatus): void {
    this.statuses.push(status);
    this.waiter.poke();
  }
  askApproval(prompt: ApprovalPrompt, closed: AbortSignal): Promise<ApprovalAnswer> {
    this.prompts.push(prompt);
    this.waiter.poke();
    return this.asker(prompt, closed);
  }
  log(line: string): void {
    this.logs.push(line);
    this.waiter.poke();
  }
  bridgeFailed(message: string): void {
    this.failures.push(message);
    this.waiter.poke();
  }
}

/** One test's world: scratch dir, mock model, CODEX_HOME, COCO_HOME, project folder, a session on the real bridge. */
export class World {
  readonly ui = new RecordingUi();
  session!: CocoSession;
  mock!: MockModel;
  dir!: string;
  project!: string;
  codexHome!: string;
  /** The bridge's COCO_HOME (config file, workers' CODEX_HOMEs): nothing of a test lands in ~/.coco. */
  cocoHome!: string;
  readonly notifications: { method: string; params: any }[] = [];

  static async create(name: string, script: { file?: string; text?: string }, model = 'mock-model'): Promise<World> {
    const w = new World();
    w.dir = scratchDir(`${name}-`);
    w.project = path.join(w.dir, 'project');
    mkdirSync(w.project);
    w.mock = await MockModel.start(w.dir, script);
    w.codexHome = writeCodexHome(path.join(w.dir, 'codex-home'), w.mock.port, model);
    w.cocoHome = path.join(w.dir, 'coco-home');
    mkdirSync(w.cocoHome);
    w.session = new CocoSession(w.ui);
    w.session.onNotification((method, params) => {
      w.notifications.push({ method, params });
      w.ui.waiter.poke();
    });
    return w;
  }

  settings(over: Partial<BridgeSettings> = {}): BridgeSettings {
    return {
      bridgePath: COCO_BIN,
      cwd: this.project,
      codexPath: codexPath(),
      taskRoot: path.join(this.dir, 'tasks'),
      supportsTaskContinuation: false,
      supportsApprovalTimeout: false,
      maxRestarts: 2,
      env: { ...process.env, CODEX_HOME: this.codexHome, COCO_HOME: this.cocoHome },
      ...over,
    };
  }

  async start(over: Partial<BridgeSettings> = {}): Promise<void> {
    // What this bridge supports (--task, --approval-timeout), as the extension finds out.
    bridgeInfo ??= await locateBridge({ configuredPath: COCO_BIN, searchRoots: [] });
    await this.session.start(this.settings({
      supportsTaskContinuation: bridgeInfo.supportsTaskContinuation,
      supportsApprovalTimeout: bridgeInfo.supportsApprovalTimeout,
      ...over,
    }));
  }

  /** Sends a prompt and waits for its turn/completed; returns the turn's final status. */
  async turn(text: string): Promise<string> {
    const before = this.notifications.length;
    const turnId = await this.session.sendPrompt(text, this.project);
    let status = '';
    await this.ui.waiter.until(`turn ${turnId} to complete`, () => {
      const done = this.notifications.slice(before).find((n) => n.method === 'turn/completed' && n.params?.turn?.id === turnId);
      if (done) status = done.params.turn.status;
      return !!done;
    });
    return status;
  }

  /** The `type`s of the task directory's events.jsonl (docs/task-directory.md). */
  taskEventTypes(): string[] {
    const file = path.join(this.session.taskDir!, 'events.jsonl');
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l).type);
  }

  readProjectFile(name: string): string | undefined {
    const p = path.join(this.project, name);
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  }

  async close(): Promise<void> {
    await this.session.stop().catch(() => undefined);
    await this.mock.stop();
    if (process.env.COCO_KEEP_TEST_DIRS) console.log(`kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
