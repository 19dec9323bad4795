// Owns the session and everything VS Code shows: settings, starting and stopping the bridge, the
// status bar, the transcript view, approvals, logs, and the commands. (rust-analyzer's ctx.ts role.)
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BridgeSettings } from '../core/bridgeClient';
import { ancestorsOf, locateBridge, type BridgeInfo } from '../core/bridgeLocator';
import { CocoSession, type SessionUi } from '../core/session';
import { listTasks, taskTranscript } from '../core/tasks';
import { ApprovalPresenter, ProposedContent, type NotifyWhen } from './approvals';
import { CocoStatusBar } from './statusBar';
import { TranscriptView } from './transcriptView';

const TASK_SCHEME = 'coco-task';

export class CocoExtension implements vscode.Disposable {
  private readonly output = vscode.window.createOutputChannel('Coco');
  private readonly statusBar = new CocoStatusBar();
  private readonly view: TranscriptView;
  private readonly approvals: ApprovalPresenter;
  private readonly session: CocoSession;
  private readonly taskDocs = new Map<string, string>();
  private readonly disposables: vscode.Disposable[] = [];
  private bridge: BridgeInfo | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.view = new TranscriptView(() => this.session.transcript.all(), (text) => void this.runCommand(() => this.send(text)));
    this.approvals = new ApprovalPresenter(new ProposedContent(), () => this.view.visible,
      () => this.config().get<NotifyWhen>('notifyApprovals', 'whenHidden'), (l) => this.log(l));
    const ui: SessionUi = {
      transcriptChanged: (changes) => this.view.apply(changes),
      statusChanged: (status) => this.statusBar.update(status),
      askApproval: (prompt, closed) => this.approvals.ask(prompt, closed),
      log: (line) => this.log(line),
      bridgeFailed: (message) => {
        this.log(message);
        // A notification shows one paragraph: the first line and the last lines of the bridge's stderr.
        const [first, ...rest] = message.split('\n');
        const tail = rest.filter((l) => l.trim() !== '' && !/^Last stderr:/.test(l)).slice(-4).join(' | ');
        void vscode.window.showErrorMessage(`Coco: ${first}${tail ? ` Last stderr: ${tail}` : ''}`, 'Show Logs', 'Restart')
          .then((choice) => {
            if (choice === 'Show Logs') this.output.show(true);
            if (choice === 'Restart') void this.runCommand(() => this.restart());
          });
      },
    };
    this.session = new CocoSession(ui);
  }

  activate(): void {
    const taskDocs = this.taskDocs;
    this.disposables.push(
      this.output, this.statusBar, this.view, this.approvals,
      vscode.window.registerWebviewViewProvider(TranscriptView.viewId, this.view, { webviewOptions: { retainContextWhenHidden: true } }),
      vscode.workspace.registerTextDocumentContentProvider(TASK_SCHEME, { provideTextDocumentContent: (uri) => taskDocs.get(uri.toString()) ?? '' }),
    );
    const commands: [string, () => Promise<unknown>][] = [
      ['coco.sendPrompt', () => this.sendPromptCommand()],
      ['coco.newThread', () => this.newThread()],
      ['coco.interrupt', () => this.interrupt()],
      ['coco.runExecWorkers', () => this.runExecWorkers()],
      ['coco.openTask', () => this.openTask()],
      ['coco.showOpenApprovals', () => this.showOpenApprovals()],
      ['coco.showLogs', async () => this.output.show(true)],
      ['coco.start', () => this.ensureStarted()],
      ['coco.stop', () => this.session.stop()],
      ['coco.focusView', () => this.view.reveal()],
    ];
    for (const [id, run] of commands) {
      this.disposables.push(vscode.commands.registerCommand(id, () => this.runCommand(run)));
    }
  }

  private async runCommand(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (e) {
      const message = (e as Error).message;
      this.log(`error: ${message}`);
      void vscode.window.showErrorMessage(`Coco: ${message.split('\n')[0]}`, 'Show Logs').then((c) => c && this.output.show(true));
    }
  }

  private log(line: string): void {
    this.output.appendLine(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
  }

  private config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('coco');
  }

  private workspaceDir(): string {
    return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
  }

  private async ensureStarted(): Promise<void> {
    if (this.session.running) return;
    if (!this.starting) {
      this.starting = this.start().finally(() => { this.starting = undefined; });
    }
    return this.starting;
  }

  private async restart(): Promise<void> {
    await this.session.stop();
    await this.ensureStarted();
  }

  private async start(): Promise<void> {
    const c = this.config();
    const searchRoots = [
      ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      ...ancestorsOf(this.context.extensionPath, 3),
    ];
    this.statusBar.update({ kind: 'starting', openApprovals: 0 });
    try {
      this.bridge = await locateBridge({ configuredPath: c.get<string>('bridgePath'), searchRoots, envPath: process.env.PATH });
    } catch (e) {
      this.statusBar.update({ kind: 'error', openApprovals: 0, detail: (e as Error).message });
      throw e;
    }
    this.log(`using ${this.bridge.path} (coco ${this.bridge.version}, from ${this.bridge.source})`);
    const settings: BridgeSettings = {
      bridgePath: this.bridge.path,
      cwd: this.workspaceDir(),
      codexPath: c.get<string>('codexPath') || undefined,
      taskRoot: c.get<string>('taskRoot') || undefined,
      configFile: c.get<string>('configFile') || undefined,
      approvalTimeoutSeconds: c.get<number>('approvalTimeoutSeconds') || undefined,
      supportsTaskContinuation: this.bridge.supportsTaskContinuation,
      supportsApprovalTimeout: this.bridge.supportsApprovalTimeout,
      maxRestarts: c.get<number>('maxRestarts', 3),
      clientVersion: String(this.context.extension.packageJSON.version ?? '0'),
    };
    if (settings.approvalTimeoutSeconds && !settings.supportsApprovalTimeout) {
      this.log('coco.approvalTimeoutSeconds is set, but this bridge has no --approval-timeout; the config file decides');
    }
    await this.session.start(settings);
  }

  // --- commands ----------------------------------------------------------------------------------

  private async sendPromptCommand(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const selection = editor && !editor.selection.isEmpty ? editor.selection : undefined;
    const where = selection && editor ? `${vscode.workspace.asRelativePath(editor.document.uri)}:${selection.start.line + 1}-${selection.end.line + 1}` : '';
    const text = await vscode.window.showInputBox({
      title: 'Coco: Send Prompt',
      prompt: selection ? `Ask Codex; the selection (${where}) is attached` : 'Ask Codex',
      ignoreFocusOut: true,
    });
    if (text === undefined || (text.trim() === '' && !selection)) return;
    let prompt = text;
    if (selection && editor) {
      const code = editor.document.getText(selection);
      const fence = code.includes('```') ? '````' : '```';
      prompt = `${text.trim() || 'Look at this code.'}\n\nIn \`${where}\`:\n${fence}${editor.document.languageId}\n${code}\n${fence}`;
    }
    await this.send(prompt);
  }

  private async send(text: string): Promise<void> {
    await this.ensureStarted();
    if (!this.view.visible) await this.view.reveal();
    await this.session.sendPrompt(text, this.workspaceDir());
  }

  private async newThread(): Promise<void> {
    await this.ensureStarted();
    const id = await this.session.newThread(this.workspaceDir());
    this.log(`new thread ${id}`);
  }

  private async interrupt(): Promise<void> {
    if (!(await this.session.interrupt().catch((e) => { this.log(`interrupt: ${(e as Error).message}`); return false; }))) {
      void vscode.window.showInformationMessage('Coco: no turn is running.');
    }
  }

  private async showOpenApprovals(): Promise<void> {
    const open = this.approvals.openPrompts();
    if (open.length === 0) {
      void vscode.window.showInformationMessage('Coco: no approval is waiting.');
      return;
    }
    const picked = await vscode.window.showQuickPick(open.map((p) => ({ label: p.title, description: p.gateId, gateId: p.gateId })),
      { title: 'Coco: open approvals' });
    if (picked) this.approvals.showAgain(picked.gateId);
  }

  private async runExecWorkers(): Promise<void> {
    const source = await vscode.window.showQuickPick(['Type the prompts', 'Prompts from a file (one per line)'], { title: 'Coco: Run Exec Workers' });
    if (!source) return;
    let prompts: string[] = [];
    if (source.startsWith('Type')) {
      for (;;) {
        const p = await vscode.window.showInputBox({ title: `Worker ${prompts.length + 1}`, prompt: 'A prompt for one worker; leave empty to start', ignoreFocusOut: true });
        if (p === undefined) return;
        if (p.trim() === '') break;
        prompts.push(p);
      }
    } else {
      const files = await vscode.window.showOpenDialog({ canSelectMany: false, title: 'Prompts file' });
      if (!files?.[0]) return;
      prompts = (await readFile(files[0].fsPath, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    }
    if (prompts.length === 0) return;
    await this.ensureStarted();
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Coco: ${prompts.length} exec worker${prompts.length === 1 ? '' : 's'}`, cancellable: true },
      async (progress, token) => {
        const done = new Set<string>();
        const ids = new Set<string>();
        token.onCancellationRequested(() => {
          for (const agentId of ids) void this.session.request('coco/exec/cancel', { agentId }).catch(() => undefined);
        });
        return this.session.runExecWorkers(prompts, this.workspaceDir(), (p) => {
          ids.add(p.agentId);
          if (p.completed) {
            done.add(p.agentId);
            progress.report({ increment: 100 / prompts.length, message: `${done.size}/${prompts.length} done (${p.agentId}: ${p.completed.status})` });
          } else {
            const type = (p.event as { type?: string } | undefined)?.type;
            if (type) progress.report({ message: `${done.size}/${prompts.length} done; ${p.agentId}: ${type}` });
          }
        });
      });
    this.log(`exec workers done: ${JSON.stringify(report).slice(0, 2000)}`);
    if (report?.summaryPath) {
      await vscode.window.showTextDocument(vscode.Uri.file(report.summaryPath), { preview: true });
    }
  }

  private async openTask(): Promise<void> {
    const bridge = this.bridge ?? await locateBridge({
      configuredPath: this.config().get<string>('bridgePath'),
      searchRoots: [...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath), ...ancestorsOf(this.context.extensionPath, 3)],
      envPath: process.env.PATH,
    });
    const tasks = await listTasks(bridge.path, this.config().get<string>('taskRoot') || undefined);
    const browse = { label: '$(folder-opened) Browse for a task directory...', dir: '' };
    const picked = await vscode.window.showQuickPick(
      [...tasks.map((t) => ({ label: t.title || t.id, description: `${t.status ?? ''} ${t.updated ?? ''}`.trim(), detail: t.dir, dir: t.dir })), browse],
      { title: 'Coco: Open Task', matchOnDetail: true });
    if (!picked) return;
    let dir = picked.dir;
    if (!dir) {
      const chosen = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, title: 'Task directory' });
      if (!chosen?.[0]) return;
      dir = chosen[0].fsPath;
    }
    const text = await taskTranscript(bridge.path, dir);
    const uri = vscode.Uri.from({ scheme: TASK_SCHEME, path: `/${path.basename(dir)}.md` });
    this.taskDocs.set(uri.toString(), text);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: false });
  }

  async dispose(): Promise<void> {
    await this.session.stop().catch(() => undefined);
    for (const d of this.disposables) d.dispose();
  }
}
