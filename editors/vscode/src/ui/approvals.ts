// Approvals in VS Code's own UI: a modal warning message with one button per option (labelled as the
// bridge labels them), "Deny with feedback..." asking for the text, and for file changes the proposed
// change opened first in the diff editor, side by side (the file against a read-only virtual document
// of the bridge's newText; the file itself is untouched until allowed).
//
// VS Code has no API to close a modal dialog from code. A prompt resolved elsewhere therefore leaves
// the queue and its notification and diff editors close, but a modal already on screen stays until
// clicked; its answer is then ignored and the person is told who resolved it.
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { answerFor, approvalDialog, originalText, proposedText, questionsFor, type ApprovalChoice, type ApprovalDialog } from '../core/approvals';
import type { ApprovalAnswer, ApprovalPrompt, ProposedChange } from '../core/protocol';
import type { ApprovalEnd } from '../core/session';

export const PROPOSED_SCHEME = 'coco-proposed';

/** Read-only documents holding proposed file contents, keyed by URI. */
export class ProposedContent implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  put(gateId: string, index: number, side: 'proposed' | 'original', fileName: string, text: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: PROPOSED_SCHEME, path: `/${gateId}/${index}/${side}/${fileName}` });
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
    return uri;
  }

  forget(gateId: string): void {
    for (const key of [...this.texts.keys()]) {
      if (vscode.Uri.parse(key).path.startsWith(`/${gateId}/`)) this.texts.delete(key);
    }
  }
}

interface PendingPrompt {
  prompt: ApprovalPrompt;
  /** Aborted when the prompt no longer needs an answer (resolved elsewhere, asked again, bridge gone). */
  closed: AbortSignal;
  /** Aborted once the prompt is over, either way: answered here or closed. */
  over: AbortController;
  resolve(answer: ApprovalAnswer): void;
}

export type NotifyWhen = 'whenHidden' | 'always' | 'never';

export class ApprovalPresenter implements vscode.Disposable {
  private readonly pending = new Map<string, PendingPrompt>();
  private queue: Promise<void> = Promise.resolve();
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly content: ProposedContent,
    private readonly viewVisible: () => boolean,
    private readonly notifyWhen: () => NotifyWhen,
    private readonly log: (line: string) => void,
  ) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(PROPOSED_SCHEME, content);
  }

  /** SessionUi.askApproval: resolves with the person's answer; rejects when the prompt closes. */
  ask(prompt: ApprovalPrompt, closed: AbortSignal): Promise<ApprovalAnswer> {
    return new Promise<ApprovalAnswer>((resolve, reject) => {
      const over = new AbortController();
      const entry: PendingPrompt = { prompt, closed, over, resolve: (a) => { over.abort(); resolve(a); } };
      this.pending.set(prompt.gateId, entry);
      closed.addEventListener('abort', () => {
        over.abort();
        if (this.pending.get(prompt.gateId) === entry) {
          this.pending.delete(prompt.gateId);
          void this.closeReview(prompt.gateId);
        }
        const end = closed.reason as ApprovalEnd;
        this.log(`approval ${prompt.gateId} closed: ${end.by === 'resolvedElsewhere' ? `resolved by ${end.resolved.by}` : end.by}`);
        reject(new Error(`approval ${prompt.gateId} closed`));
      }, { once: true });
      this.notify(entry);
      this.enqueue(prompt.gateId);
    });
  }

  openPrompts(): ApprovalPrompt[] {
    return [...this.pending.values()].map((p) => p.prompt);
  }

  /** Shows a prompt again (after its dialog was dismissed): "Coco: Show Open Approvals". */
  showAgain(gateId: string): void {
    this.enqueue(gateId);
  }

  private enqueue(gateId: string): void {
    // One dialog at a time, in arrival order.
    this.queue = this.queue.then(() => this.show(gateId)).catch((e) => this.log(`approval dialog failed: ${(e as Error).message}`));
  }

  private notify(entry: PendingPrompt): void {
    const when = this.notifyWhen();
    if (when === 'never' || (when === 'whenHidden' && this.viewVisible())) return;
    // A progress notification is the one kind VS Code lets an extension close: it goes away when the
    // prompt is answered or resolved elsewhere.
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Coco: approval needed: ${entry.prompt.title}` },
      () => new Promise<void>((resolve) => {
        if (entry.over.signal.aborted) resolve();
        else entry.over.signal.addEventListener('abort', () => resolve(), { once: true });
      }),
    );
  }

  private async show(gateId: string): Promise<void> {
    const entry = this.pending.get(gateId);
    if (!entry || entry.closed.aborted) return;
    const dialog = approvalDialog(entry.prompt);
    await this.openReview(dialog, entry.prompt);
    const items = dialog.choices.map((choice) => ({ title: choice.label, choice }));
    const picked = await vscode.window.showWarningMessage(dialog.message, { modal: true, detail: dialog.detail }, ...items);
    if (this.pending.get(gateId) !== entry || entry.closed.aborted) {
      if (picked) {
        const end = entry.closed.reason as ApprovalEnd | undefined;
        const who = end?.by === 'resolvedElsewhere' ? ` by ${end.resolved.by} (${end.resolved.optionId ?? 'decided'})` : '';
        void vscode.window.showInformationMessage(`Coco: that approval was already resolved${who}; your choice was not used.`);
      }
      return;
    }
    if (!picked) {
      this.log(`approval ${gateId} dismissed; it stays open ("Coco: Show Open Approvals")`);
      return;
    }
    const extra = await this.askExtras(picked.choice, entry.prompt);
    if (extra === undefined) return; // cancelled: the prompt stays open
    if (this.pending.get(gateId) !== entry || entry.closed.aborted) return;
    if (picked.choice.opensUrl) await vscode.env.openExternal(vscode.Uri.parse(picked.choice.opensUrl));
    this.pending.delete(gateId);
    await this.closeReview(gateId);
    entry.resolve(answerFor(picked.choice, extra));
  }

  private async askExtras(choice: ApprovalChoice, prompt: ApprovalPrompt): Promise<{ feedback?: string; answers?: Record<string, unknown> } | undefined> {
    if (choice.asksFeedback) {
      const feedback = await vscode.window.showInputBox({
        title: 'Deny with feedback',
        prompt: 'Tell Codex why (it goes on with this in mind)',
        ignoreFocusOut: true,
      });
      return feedback === undefined ? undefined : { feedback };
    }
    if (choice.asksAnswers) {
      const answers: Record<string, unknown> = {};
      for (const q of questionsFor(prompt)) {
        let answer: string | undefined;
        if (q.picks) {
          const other = 'Other...';
          answer = await vscode.window.showQuickPick(q.allowsOther ? [...q.picks, other] : q.picks, { title: q.prompt, ignoreFocusOut: true });
          if (answer === other) answer = await vscode.window.showInputBox({ title: q.prompt, ignoreFocusOut: true });
        } else {
          answer = await vscode.window.showInputBox({ title: q.prompt, password: q.secret, ignoreFocusOut: true });
        }
        if (answer === undefined) return undefined;
        answers[q.id] = answer;
      }
      return { answers };
    }
    return {};
  }

  /**
   * Opens every proposed change in the diff editor, side by side, without taking the focus: the
   * bridge's oldText (the file itself while it still holds that text) against its newText. When the
   * bridge left the texts out (too big, unreadable, changed on disk), its unified diff instead.
   */
  private async openReview(dialog: ApprovalDialog, prompt: ApprovalPrompt): Promise<void> {
    for (const [i, change] of dialog.review.entries()) {
      const name = path.basename(change.movePath ?? change.path);
      const original = originalText(change);
      const proposed = proposedText(change);
      try {
        if (original === undefined || proposed === undefined) {
          const uri = this.content.put(dialog.gateId, i, 'proposed', `${name}.diff`, change.diff ?? '(no diff)');
          await vscode.window.showTextDocument(uri, { preview: false, preserveFocus: true });
          continue;
        }
        const left = await this.originalSide(dialog.gateId, i, name, change, original, prompt.cwd);
        const right = this.content.put(dialog.gateId, i, 'proposed', name, proposed);
        await vscode.commands.executeCommand('vscode.diff', left, right, `${name}: proposed change (${describe(change)}, Coco ${dialog.gateId})`,
          { preview: false, preserveFocus: true });
      } catch (e) {
        this.log(`could not open the diff for ${change.path}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * The left side: the file on disk while it still holds the text the change was computed from (so it
   * opens as the real file), else that text as a read-only document, so the diff shows exactly what
   * would be applied.
   */
  private async originalSide(gateId: string, index: number, name: string, change: ProposedChange, original: string,
    cwd: string | undefined): Promise<vscode.Uri> {
    const file = change.kind === 'add' ? undefined : absolutePath(change.path, cwd);
    if (file && (await readFile(file, 'utf8').catch(() => undefined)) === original) return vscode.Uri.file(file);
    return this.content.put(gateId, index, 'original', name, original);
  }

  private async closeReview(gateId: string): Promise<void> {
    const ours = (uri: vscode.Uri | undefined) => uri?.scheme === PROPOSED_SCHEME && uri.path.startsWith(`/${gateId}/`);
    const tabs: vscode.Tab[] = [];
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        const input = tab.input;
        if (input instanceof vscode.TabInputTextDiff && ours(input.modified)) tabs.push(tab);
        else if (input instanceof vscode.TabInputText && ours(input.uri)) tabs.push(tab);
      }
    }
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
    this.content.forget(gateId);
  }

  dispose(): void {
    this.registration.dispose();
  }
}

function absolutePath(p: string, cwd: string | undefined): string | undefined {
  if (!p) return undefined;
  if (path.isAbsolute(p)) return p;
  const base = cwd ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return base ? path.join(base, p) : undefined;
}

function describe(change: ProposedChange): string {
  if (change.kind === 'add') return 'new file';
  if (change.kind === 'delete') return 'deleted';
  return change.movePath ? `moved from ${path.basename(change.path)}` : 'changed';
}
