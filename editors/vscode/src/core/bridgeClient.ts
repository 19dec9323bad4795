// The connection to `coco bridge`: spawns it (argv list, never a shell), speaks JSON-RPC through
// vscode-jsonrpc (the library VS Code's own language client uses), declares
// capabilities.coco.approvals = "prompt", and restarts a crashed bridge a limited number of times,
// continuing the same task directory (`coco bridge --task DIR`). No `vscode` import.

import { spawn, type ChildProcess } from 'node:child_process';
import * as rpc from 'vscode-jsonrpc/node';
import { Methods, type ApprovalAnswer, type ApprovalPrompt, type InitializeResult } from './protocol';

export interface BridgeSettings {
  bridgePath: string;
  cwd: string;
  codexPath?: string;
  taskRoot?: string;
  configFile?: string;
  approvalTimeoutSeconds?: number;
  supportsTaskContinuation: boolean;
  supportsApprovalTimeout: boolean;
  /** Restarts after crashes before giving up (a bridge that ran a minute starts a new count). */
  maxRestarts: number;
  env?: NodeJS.ProcessEnv;
  clientVersion?: string;
}

export type ClientState = 'stopped' | 'starting' | 'running' | 'restarting' | 'failed';

export interface BridgeClientHandlers {
  notification(method: string, params: unknown): void;
  approvalRequest(prompt: ApprovalPrompt, token: rpc.CancellationToken): Promise<ApprovalAnswer>;
  stateChanged(state: ClientState, detail?: string): void;
  /** A restarted bridge is initialized (the task continues); the session resumes its thread. */
  restarted(init: InitializeResult): void;
  log(line: string): void;
}

export type Spawner = (file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) => ChildProcess;

const defaultSpawner: Spawner = (file, args, options) =>
  spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });

const STDERR_TAIL_BYTES = 8192;
const STABLE_RUN_MS = 60_000;
/** `coco` exits with 2 when it refuses its command line (an unknown option, a bad value, a missing --task or --config). */
const EXIT_REFUSED_COMMAND_LINE = 2;

/**
 * A bridge that exits breaks the pipe to its stdin, and vscode-jsonrpc's sendRequest rethrows a failed
 * write where no caller can catch it (an unhandled rejection). The bridge's exit is what the client
 * acts on (a pending request is rejected when the connection is disposed), so a failed write is only
 * logged.
 */
class WriterLoggingFailures implements rpc.MessageWriter {
  constructor(private readonly inner: rpc.MessageWriter, private readonly log: (line: string) => void) {}
  get onError() {
    return this.inner.onError;
  }
  get onClose() {
    return this.inner.onClose;
  }
  write(message: rpc.Message): Promise<void> {
    return this.inner.write(message).catch((e: Error) => this.log(`could not write to the bridge: ${e.message}`));
  }
  end(): void {
    this.inner.end();
  }
  dispose(): void {
    this.inner.dispose();
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${signal}`;
  return code === EXIT_REFUSED_COMMAND_LINE ? `exit code ${code}: it refused its command line` : `exit code ${code}`;
}

/** The bridge's argv. `taskToContinue`: the task directory a restarted bridge continues. */
export function bridgeArgs(s: BridgeSettings, taskToContinue?: string): string[] {
  const args = ['bridge', '--cwd', s.cwd];
  if (s.codexPath) args.push('--codex', s.codexPath);
  if (s.taskRoot) args.push('--task-root', s.taskRoot);
  if (s.configFile) args.push('--config', s.configFile);
  if (s.approvalTimeoutSeconds && s.approvalTimeoutSeconds > 0 && s.supportsApprovalTimeout) {
    args.push('--approval-timeout', String(Math.round(s.approvalTimeoutSeconds)));
  }
  if (taskToContinue && s.supportsTaskContinuation) args.push('--task', taskToContinue);
  return args;
}

export class BridgeClient {
  private proc: ChildProcess | undefined;
  private conn: rpc.MessageConnection | undefined;
  private stderrTailText = '';
  private state: ClientState = 'stopped';
  private stopping = false;
  private restartsInRow = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  initializeResult: InitializeResult | undefined;

  constructor(
    private readonly settings: BridgeSettings,
    private readonly handlers: BridgeClientHandlers,
    private readonly spawner: Spawner = defaultSpawner,
  ) {}

  get currentState(): ClientState {
    return this.state;
  }

  get taskDir(): string | undefined {
    return this.initializeResult?.coco?.taskDir;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  stderrTail(): string {
    return this.stderrTailText;
  }

  async start(): Promise<InitializeResult> {
    this.stopping = false;
    this.restartsInRow = 0;
    return this.launch(undefined);
  }

  private setState(state: ClientState, detail?: string): void {
    this.state = state;
    this.handlers.stateChanged(state, detail);
  }

  private async launch(taskToContinue: string | undefined): Promise<InitializeResult> {
    this.setState(taskToContinue ? 'restarting' : 'starting');
    const args = bridgeArgs(this.settings, taskToContinue);
    this.handlers.log(`starting ${this.settings.bridgePath} ${args.join(' ')}`);
    const proc = this.spawner(this.settings.bridgePath, args, { cwd: this.settings.cwd, env: this.settings.env ?? process.env });
    this.proc = proc;
    this.startedAt = Date.now();
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      this.stderrTailText = (this.stderrTailText + chunk).slice(-STDERR_TAIL_BYTES);
      for (const line of chunk.split('\n')) if (line.trim() !== '') this.handlers.log(line);
    });
    const spawnFailed = new Promise<never>((_, reject) => proc.once('error', reject));
    spawnFailed.catch(() => undefined);
    // 'close' rather than 'exit': by then stderr has been read to its end, so the tail is complete.
    // (Registered before exited(), which disposes the connection, so that this reason wins the race.)
    const exitedEarly = new Promise<never>((_, reject) => proc.once('close', (code, signal) =>
      reject(new Error(`the bridge exited (${describeExit(code, signal)}) before it answered initialize`))));
    exitedEarly.catch(() => undefined);
    proc.once('close', (code, signal) => this.exited(proc, code, signal));

    const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(proc.stdout!),
      new WriterLoggingFailures(new rpc.StreamMessageWriter(proc.stdin!), (line) => this.handlers.log(line)));
    this.conn = conn;
    conn.onRequest(Methods.approvalRequest, (params: ApprovalPrompt, token) => this.handlers.approvalRequest(params, token));
    conn.onNotification((method: string, params: unknown) => this.handlers.notification(method, params));
    conn.onError(([err]) => this.handlers.log(`protocol error: ${err.message}`));
    conn.listen();

    const init = await Promise.race([
      conn.sendRequest<InitializeResult>('initialize', {
        clientInfo: { name: 'coco-vscode', title: 'Coco for VS Code', version: this.settings.clientVersion ?? '0' },
        capabilities: { coco: { approvals: 'prompt' } },
      }),
      spawnFailed,
      exitedEarly,
    ]);
    await conn.sendNotification('initialized');
    this.initializeResult = taskToContinue && !init.coco?.taskDir ? { ...init, coco: { ...init.coco, taskDir: taskToContinue } } : init;
    this.handlers.log(`bridge ready: coco ${init.coco?.version ?? '?'}, codex ${init.coco?.codexVersion ?? '?'}, task ${init.coco?.taskDir ?? '?'}`);
    this.setState('running');
    return this.initializeResult;
  }

  private exited(proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (proc !== this.proc) return;
    this.conn?.dispose();
    this.conn = undefined;
    this.proc = undefined;
    const how = describeExit(code, signal);
    if (this.stopping) {
      this.handlers.log(`bridge stopped (${how})`);
      this.setState('stopped');
      return;
    }
    this.handlers.log(`bridge exited unexpectedly (${how})`);
    // The first start reports its own failure: start() rejects, and its caller shows the stderr.
    if (this.state === 'starting') return;
    if (code === EXIT_REFUSED_COMMAND_LINE && !signal) {
      // The same command line would be refused again (the task directory to continue is gone, the
      // config file is broken, ...): give up at once.
      this.setState('failed', `The Coco bridge refused its command line (${how}); not restarting it.\n` +
        `Last stderr:\n${this.stderrTailText.split('\n').slice(-20).join('\n')}`);
      return;
    }
    if (Date.now() - this.startedAt > STABLE_RUN_MS) this.restartsInRow = 0;
    if (this.restartsInRow >= this.settings.maxRestarts) {
      this.setState('failed', `The Coco bridge exited (${how}) and was restarted ${this.restartsInRow} times; giving up.\n` +
        `Last stderr:\n${this.stderrTailText.split('\n').slice(-20).join('\n')}`);
      return;
    }
    this.restartsInRow++;
    const delay = 250 * 2 ** (this.restartsInRow - 1);
    const task = this.taskDir;
    this.setState('restarting', `bridge exited (${how}); restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.launch(task).then(
        (init) => this.handlers.restarted(init),
        (err) => this.handlers.log(`restart failed: ${(err as Error).message}`),
      );
    }, delay);
  }

  request<R>(method: string, params?: unknown): Promise<R> {
    if (!this.conn || this.state !== 'running') return Promise.reject(new Error(`Coco is not running (${this.state}).`));
    return params === undefined ? this.conn.sendRequest<R>(method) : this.conn.sendRequest<R>(method, params);
  }

  notify(method: string, params?: unknown): void {
    if (!this.conn) return;
    void (params === undefined ? this.conn.sendNotification(method) : this.conn.sendNotification(method, params));
  }

  /** Closes the bridge's stdin (it then stops codex and finishes the task), SIGTERM after a grace period. */
  async stop(graceMs = 8000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const proc = this.proc;
    if (!proc) {
      this.setState('stopped');
      return;
    }
    const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    proc.stdin?.end();
    const timer = setTimeout(() => proc.kill('SIGTERM'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** For tests and "the bridge died" handling: kill the bridge as a crash would. */
  killForTest(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.proc?.kill(signal);
  }
}
