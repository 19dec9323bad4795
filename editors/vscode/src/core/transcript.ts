// The transcript reducer: codex's notifications (passed through by the bridge) and Coco's approval
// events in, transcript entries out. Each call returns what changed, so a view can update one entry
// (or append streamed text) instead of redrawing everything. No `vscode` import.

export type EntryKind = 'user' | 'agent' | 'reasoning' | 'command' | 'fileChange' | 'approval' | 'error' | 'notice' | 'tool';

export interface TranscriptEntry {
  id: string;
  kind: EntryKind;
  text: string;
  /** command: the command line; fileChange: the changed paths; approval: the title. */
  title?: string;
  /** command output, file diffs */
  output?: string;
  exitCode?: number | null;
  status?: string;
}

export type TranscriptChange =
  | { type: 'upsert'; entry: TranscriptEntry }
  | { type: 'append'; id: string; field: 'text' | 'output'; text: string }
  | { type: 'reset' };

export type TurnState = 'idle' | 'running';

interface Item {
  id?: string;
  type?: string;
  text?: string;
  content?: { type?: string; text?: string }[];
  summary?: string[];
  command?: string;
  cwd?: string;
  status?: string;
  aggregatedOutput?: string | null;
  exitCode?: number | null;
  changes?: { path?: string; kind?: { type?: string } | string; diff?: string }[];
  server?: string;
  tool?: string;
  query?: string;
}

export class Transcript {
  private readonly entries = new Map<string, TranscriptEntry>();
  private readonly order: string[] = [];
  private counter = 0;
  turnId: string | undefined;
  turnState: TurnState = 'idle';
  lastError: string | undefined;

  all(): TranscriptEntry[] {
    return this.order.map((id) => this.entries.get(id)!);
  }

  get(id: string): TranscriptEntry | undefined {
    return this.entries.get(id);
  }

  clear(): TranscriptChange[] {
    this.entries.clear();
    this.order.length = 0;
    this.turnId = undefined;
    this.turnState = 'idle';
    return [{ type: 'reset' }];
  }

  /** A note from the extension itself (bridge restarted, thread started, ...). */
  notice(text: string, kind: 'notice' | 'error' = 'notice'): TranscriptChange[] {
    return [this.upsert({ id: `local-${++this.counter}`, kind, text })];
  }

  /** Applies one notification from the bridge; returns the changes (none for what it ignores). */
  apply(method: string, params: any): TranscriptChange[] {
    switch (method) {
      case 'turn/started':
        this.turnId = params?.turn?.id;
        this.turnState = 'running';
        this.lastError = undefined;
        return [];
      case 'turn/completed': {
        this.turnState = 'idle';
        const status: string | undefined = params?.turn?.status;
        if (status === 'interrupted') return this.notice('Turn interrupted.');
        if (status === 'failed') {
          const message = params?.turn?.error?.message ?? this.lastError ?? 'The turn failed.';
          this.lastError = message;
          return [];
        }
        return [];
      }
      case 'item/started':
      case 'item/completed':
        return this.applyItem(params?.item as Item, method === 'item/completed');
      case 'item/agentMessage/delta':
        return this.appendTo(params?.itemId, 'agent', 'text', params?.delta);
      case 'item/reasoning/summaryTextDelta':
      case 'item/reasoning/textDelta':
        return this.appendTo(params?.itemId, 'reasoning', 'text', params?.delta);
      case 'item/commandExecution/outputDelta':
        return this.appendTo(params?.itemId, 'command', 'output', params?.delta);
      case 'error': {
        const message: string = params?.error?.message ?? 'error';
        if (params?.willRetry) return this.notice(`Retrying: ${message}`);
        this.lastError = message;
        return this.notice(message, 'error');
      }
      case 'coco/upstream/exited':
        // A codex the bridge gave up on leaves the session unusable until "Coco: Start" or a restart.
        if (!params?.restarting) this.lastError = `codex exited and is not restarted: ${params?.description ?? params?.error ?? ''}`;
        return this.notice(`codex exited (${params?.description ?? params?.error ?? 'unexpectedly'})` +
          (params?.restarting ? '; restarting it.' : '.'), 'error');
      case 'coco/upstream/restarted':
        this.lastError = undefined;
        return this.notice('codex restarted.');
      default:
        return [];
    }
  }

  approvalOpened(gateId: string, title: string): TranscriptChange[] {
    return [this.upsert({ id: `gate-${gateId}`, kind: 'approval', text: title, title, status: 'open' })];
  }

  approvalResolved(gateId: string, outcome: string): TranscriptChange[] {
    const e = this.entries.get(`gate-${gateId}`);
    if (!e) return [];
    return [this.upsert({ ...e, status: outcome })];
  }

  private applyItem(item: Item | undefined, completed: boolean): TranscriptChange[] {
    if (!item?.id || !item.type) return [];
    const id = item.id;
    const prev = this.entries.get(id);
    switch (item.type) {
      case 'userMessage': {
        const text = (item.content ?? []).filter((c) => c.type === 'text').map((c) => c.text ?? '').join('\n');
        return [this.upsert({ id, kind: 'user', text })];
      }
      case 'agentMessage':
        // item/started carries an empty text when the message streams; completed has it whole.
        return [this.upsert({ id, kind: 'agent', text: completed ? (item.text ?? prev?.text ?? '') : (prev?.text || item.text || ''), status: completed ? 'completed' : 'streaming' })];
      case 'reasoning': {
        const text = (item.summary ?? []).join('\n') || prev?.text || '';
        return [this.upsert({ id, kind: 'reasoning', text })];
      }
      case 'commandExecution':
        return [this.upsert({
          id, kind: 'command', text: item.command ?? '', title: item.command ?? '',
          output: completed && typeof item.aggregatedOutput === 'string' ? item.aggregatedOutput : (prev?.output ?? ''),
          exitCode: item.exitCode ?? prev?.exitCode ?? null,
          status: item.status ?? (completed ? 'completed' : 'inProgress'),
        })];
      case 'fileChange': {
        const changes = item.changes ?? [];
        const paths = changes.map((c) => `${typeof c.kind === 'object' ? c.kind?.type : c.kind ?? 'update'} ${c.path}`).join(', ');
        return [this.upsert({
          id, kind: 'fileChange', text: paths, title: paths,
          output: changes.map((c) => c.diff ?? '').join('\n'),
          status: item.status ?? (completed ? 'completed' : 'inProgress'),
        })];
      }
      case 'mcpToolCall':
      case 'webSearch':
        return [this.upsert({ id, kind: 'tool', text: item.tool ?? item.query ?? item.type, status: item.status })];
      default:
        return [];
    }
  }

  private appendTo(id: string | undefined, kind: EntryKind, field: 'text' | 'output', delta: unknown): TranscriptChange[] {
    if (!id || typeof delta !== 'string' || delta === '') return [];
    const e = this.entries.get(id);
    if (!e) {
      return [this.upsert({ id, kind, text: field === 'text' ? delta : '', output: field === 'output' ? delta : undefined })];
    }
    e[field] = (e[field] ?? '') + delta;
    return [{ type: 'append', id, field, text: delta }];
  }

  private upsert(entry: TranscriptEntry): TranscriptChange {
    if (!this.entries.has(entry.id)) this.order.push(entry.id);
    this.entries.set(entry.id, entry);
    return { type: 'upsert', entry: { ...entry } };
  }
}

/** The transcript as plain text (Show Logs, tests, a read-only document). */
export function transcriptText(entries: TranscriptEntry[]): string {
  const out: string[] = [];
  for (const e of entries) {
    switch (e.kind) {
      case 'user': out.push(`> ${e.text}`); break;
      case 'agent': out.push(e.text); break;
      case 'reasoning': out.push(`(thinking) ${e.text}`); break;
      case 'command':
        out.push(`$ ${e.text}${e.output ? `\n${e.output.trimEnd()}` : ''}\n[${e.status}${e.exitCode != null ? `, exit ${e.exitCode}` : ''}]`);
        break;
      case 'fileChange': out.push(`files: ${e.text} [${e.status}]`); break;
      case 'approval': out.push(`approval: ${e.text} [${e.status}]`); break;
      case 'error': out.push(`error: ${e.text}`); break;
      default: out.push(e.text);
    }
  }
  return out.join('\n\n');
}
