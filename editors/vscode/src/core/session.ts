// One Coco session: the bridge client, the current thread, the transcript, the open approvals and the
// status the status bar shows. The UI plugs in through SessionUi; nothing here imports `vscode`, so
// the whole flow runs in plain Node tests against the real bridge.

import { ResponseError, type CancellationToken } from 'vscode-jsonrpc';
import { BridgeClient, type BridgeSettings, type ClientState, type Spawner } from './bridgeClient';
import { OpenApprovals } from './approvals';
import {
  Methods, REQUEST_CANCELLED, type AnswerRejected, type ApprovalAnswer, type ApprovalPrompt, type ApprovalResolved,
  type ExecCompleted, type InitializeResult,
} from './protocol';
import { Transcript, type TranscriptChange } from './transcript';

export type StatusKind = 'stopped' | 'starting' | 'idle' | 'working' | 'awaitingApproval' | 'error';

export interface SessionStatus {
  kind: StatusKind;
  openApprovals: number;
  detail?: string;
}

/** How an approval prompt ended, for the UI that shows it. */
export type ApprovalEnd = { by: 'resolvedElsewhere'; resolved: ApprovalResolved } | { by: 'replaced' } | { by: 'bridgeGone' };

export interface SessionUi {
  transcriptChanged(changes: TranscriptChange[]): void;
  statusChanged(status: SessionStatus): void;
  /**
   * Show a prompt and return the person's answer. `closed` is aborted when the prompt no longer needs
   * an answer (resolved elsewhere, asked again, bridge gone); its reason is an ApprovalEnd.
   */
  askApproval(prompt: ApprovalPrompt, closed: AbortSignal): Promise<ApprovalAnswer>;
  log(line: string): void;
  /** The bridge could not be (re)started: the message includes its stderr tail. */
  bridgeFailed(message: string): void;
}

export interface ExecProgress {
  agentId: string;
  event?: unknown;
  completed?: ExecCompleted;
}

export class ApprovalNoLongerOpen extends Error {
  constructor(readonly end: ApprovalEnd) {
    super('the approval is no longer open');
  }
}

export class CocoSession {
  readonly transcript = new Transcript();
  private readonly approvals = new OpenApprovals<AbortController>();
  private client: BridgeClient | undefined;
  private clientState: ClientState = 'stopped';
  private failure: string | undefined;
  threadId: string | undefined;
  private readonly execListeners = new Set<(p: ExecProgress) => void>();
  private readonly notificationListeners = new Set<(method: string, params: any) => void>();

  constructor(private readonly ui: SessionUi, private readonly spawner?: Spawner) {}

  get running(): boolean {
    return this.clientState === 'running';
  }

  get taskDir(): string | undefined {
    return this.client?.taskDir;
  }

  get bridge(): BridgeClient | undefined {
    return this.client;
  }

  openApprovals(): ApprovalPrompt[] {
    return this.approvals.prompts();
  }

  /** For tests and the extension: every notification, after the transcript has seen it. */
  onNotification(listener: (method: string, params: any) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  status(): SessionStatus {
    const n = this.approvals.size;
    switch (this.clientState) {
      case 'stopped': return { kind: 'stopped', openApprovals: 0 };
      case 'starting':
      case 'restarting': return { kind: 'starting', openApprovals: n };
      case 'failed': return { kind: 'error', openApprovals: 0, detail: this.failure };
    }
    if (n > 0) return { kind: 'awaitingApproval', openApprovals: n };
    if (this.transcript.turnState === 'running') return { kind: 'working', openApprovals: 0 };
    if (this.transcript.lastError) return { kind: 'error', openApprovals: 0, detail: this.transcript.lastError };
    return { kind: 'idle', openApprovals: 0 };
  }

  private emitStatus(): void {
    this.ui.statusChanged(this.status());
  }

  private changed(changes: TranscriptChange[]): void {
    if (changes.length > 0) this.ui.transcriptChanged(changes);
  }

  async start(settings: BridgeSettings): Promise<InitializeResult> {
    if (this.client && this.clientState !== 'stopped' && this.clientState !== 'failed') {
      throw new Error('Coco is already running.');
    }
    this.failure = undefined;
    this.threadId = undefined;
    const client = new BridgeClient(settings, {
      notification: (method, params) => this.notification(method, params),
      approvalRequest: (prompt, token) => this.approvalRequest(prompt, token),
      stateChanged: (state, detail) => {
        this.clientState = state;
        if (state === 'failed') {
          this.failure = detail;
          this.closeAllApprovals();
          this.ui.bridgeFailed(detail ?? 'The Coco bridge failed.');
          this.changed(this.transcript.notice(detail ?? 'The Coco bridge failed.', 'error'));
        } else if (state === 'restarting') {
          this.closeAllApprovals();
          if (detail) this.changed(this.transcript.notice(detail, 'error'));
        }
        this.emitStatus();
      },
      restarted: (init) => void this.resumeAfterRestart(init),
      log: (line) => this.ui.log(line),
    }, this.spawner);
    this.client = client;
    try {
      return await client.start();
    } catch (e) {
      const message = `The Coco bridge did not start: ${(e as Error).message}\n${client.stderrTail().split('\n').slice(-20).join('\n')}`;
      await client.stop(1000).catch(() => undefined);
      this.failure = message;
      this.clientState = 'failed';
      this.ui.bridgeFailed(message);
      this.emitStatus();
      throw new Error(message);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.closeAllApprovals();
    await client.stop();
    this.client = undefined;
    this.clientState = 'stopped';
    this.emitStatus();
  }

  private async resumeAfterRestart(init: InitializeResult): Promise<void> {
    const continued = init.coco?.taskDir ? ` (task ${init.coco.taskDir})` : '';
    this.changed(this.transcript.notice(`The bridge was restarted${continued}.`));
    if (!this.threadId) return;
    try {
      await this.request('thread/resume', { threadId: this.threadId });
      this.changed(this.transcript.notice('Thread resumed.'));
    } catch (e) {
      this.changed(this.transcript.notice(`Could not resume the thread: ${(e as Error).message}. Start a new thread.`, 'error'));
      this.threadId = undefined;
    }
    this.emitStatus();
  }

  request<R = any>(method: string, params?: unknown): Promise<R> {
    if (!this.client) return Promise.reject(new Error('Coco is not running.'));
    return this.client.request<R>(method, params);
  }

  async ensureThread(cwd: string): Promise<string> {
    if (this.threadId) return this.threadId;
    const r = await this.request<{ thread: { id: string } }>('thread/start', { cwd });
    this.threadId = r.thread.id;
    return this.threadId;
  }

  async newThread(cwd: string): Promise<string> {
    this.threadId = undefined;
    this.changed(this.transcript.clear());
    this.emitStatus();
    return this.ensureThread(cwd);
  }

  /**
   * Starts a turn, or adds the text to the running one (turn/steer); the transcript fills from the
   * notifications. Returns the turn id.
   */
  async sendPrompt(text: string, cwd: string): Promise<string> {
    const threadId = await this.ensureThread(cwd);
    const running = this.transcript.turnState === 'running' ? this.transcript.turnId : undefined;
    if (running) {
      try {
        await this.request('turn/steer', { threadId, expectedTurnId: running, input: [{ type: 'text', text }] });
        this.changed(this.transcript.notice(`Added to the running turn: ${text}`));
        return running;
      } catch (e) {
        this.ui.log(`turn/steer failed (${(e as Error).message}); starting a new turn`);
      }
    }
    const r = await this.request<{ turn: { id: string } }>('turn/start', { threadId, input: [{ type: 'text', text }] });
    this.transcript.turnId = r.turn.id;
    this.transcript.turnState = 'running';
    this.transcript.lastError = undefined;
    this.emitStatus();
    return r.turn.id;
  }

  async interrupt(): Promise<boolean> {
    if (!this.threadId || !this.transcript.turnId || this.transcript.turnState !== 'running') return false;
    await this.request('turn/interrupt', { threadId: this.threadId, turnId: this.transcript.turnId });
    return true;
  }

  private notification(method: string, params: any): void {
    this.changed(this.transcript.apply(method, params));
    switch (method) {
      case Methods.approvalResolved: {
        // Sent after every resolution, this client's own answers included: those are already in the
        // transcript (with the feedback) and their prompt is closed.
        const resolved = params as ApprovalResolved;
        const wasOpen = this.closeApproval(resolved.gateId, { by: 'resolvedElsewhere', resolved });
        if (wasOpen || resolved.by !== 'editor') {
          this.changed(this.transcript.approvalResolved(resolved.gateId, `${resolved.optionId ?? describeDecision(resolved.decision)} (by ${resolved.by})`));
        }
        break;
      }
      case Methods.approvalAnswerRejected: {
        const r = params as AnswerRejected;
        this.changed(this.transcript.notice(`The bridge rejected the answer to ${r.gateId}: ${r.reason}${r.willAskAgain ? ' (it asks again)' : ''}`, 'error'));
        if (!r.willAskAgain) this.closeApproval(r.gateId, { by: 'bridgeGone' });
        break;
      }
      case Methods.execEvent:
        for (const l of this.execListeners) l({ agentId: params?.agentId, event: params?.event });
        break;
      case Methods.execCompleted:
        for (const l of this.execListeners) l({ agentId: params?.agentId, completed: params as ExecCompleted });
        break;
    }
    for (const l of this.notificationListeners) l(method, params);
    this.emitStatus();
  }

  private async approvalRequest(prompt: ApprovalPrompt, token: CancellationToken): Promise<ApprovalAnswer> {
    const controller = new AbortController();
    // The same gate asked again (after a rejected answer) replaces the old prompt.
    this.approvals.put(prompt, controller)?.abort({ by: 'replaced' } satisfies ApprovalEnd);
    this.changed(this.transcript.approvalOpened(prompt.gateId, prompt.title));
    this.emitStatus();
    // A dialog may be impossible to close from code (VS Code's modal): the request is answered as soon
    // as the prompt closes, whatever the dialog does later.
    const closed = new Promise<never>((_, reject) => {
      const fail = () => reject(new ApprovalNoLongerOpen(controller.signal.reason as ApprovalEnd));
      if (controller.signal.aborted) fail();
      else controller.signal.addEventListener('abort', fail, { once: true });
    });
    // A gate resolved elsewhere (policy, timeout, the task directory, codex) makes the bridge withdraw
    // the request with $/cancelRequest, which fires `token`, and then send coco/approval/resolved
    // saying by whom: that notification closes the prompt. The request is acknowledged at once.
    const withdrawn = new Promise<never>((_, reject) => {
      token.onCancellationRequested(() => reject(new WithdrawnByBridge()));
    });
    try {
      const answer = await Promise.race([this.ui.askApproval(prompt, controller.signal), closed, withdrawn]);
      this.forgetApproval(prompt.gateId, controller);
      this.changed(this.transcript.approvalResolved(prompt.gateId, `${answer.optionId}${answer.feedback ? `: ${answer.feedback}` : ''}`));
      return answer;
    } catch (e) {
      if (e instanceof WithdrawnByBridge) {
        this.ui.log(`approval ${prompt.gateId} withdrawn by the bridge (resolved elsewhere)`);
        throw new ResponseError(REQUEST_CANCELLED, 'withdrawn by the bridge');
      }
      this.forgetApproval(prompt.gateId, controller);
      if (e instanceof ApprovalNoLongerOpen) throw new ResponseError(REQUEST_CANCELLED, `the approval is no longer open (${e.end.by})`);
      // The UI could not ask: the bridge records the error and leaves the gate to a policy, the
      // timeout or the task directory.
      throw e;
    } finally {
      this.emitStatus();
    }
  }

  private forgetApproval(gateId: string, controller: AbortController): void {
    if (this.approvals.get(gateId)?.handle === controller) this.approvals.remove(gateId);
  }

  /** Closes an open prompt; false when it was not open (answered here, or never asked). */
  private closeApproval(gateId: string, end: ApprovalEnd): boolean {
    const controller = this.approvals.remove(gateId);
    controller?.abort(end);
    return controller !== undefined;
  }

  private closeAllApprovals(): void {
    for (const c of this.approvals.clear()) c.abort({ by: 'bridgeGone' } satisfies ApprovalEnd);
  }

  /** Spawns one exec worker per prompt and waits for the joined report; progress goes to onProgress. */
  async runExecWorkers(prompts: string[], cwd: string, onProgress: (p: ExecProgress) => void): Promise<any> {
    const listener = (p: ExecProgress) => onProgress(p);
    this.execListeners.add(listener);
    try {
      const agentIds: string[] = [];
      for (const prompt of prompts) {
        const r = await this.request<{ agentId: string }>(Methods.execSpawn, { prompt, cwd });
        agentIds.push(r.agentId);
      }
      return await this.request(Methods.taskJoin, { agentIds });
    } finally {
      this.execListeners.delete(listener);
    }
  }
}

/** The bridge withdrew an open coco/approval/request ($/cancelRequest): its gate was resolved elsewhere. */
class WithdrawnByBridge extends Error {
  constructor() {
    super('withdrawn by the bridge');
  }
}

function describeDecision(decision: unknown): string {
  if (typeof decision === 'string') return decision;
  return decision === undefined ? 'resolved' : JSON.stringify(decision);
}
