// The Coco view: the live transcript in a webview, updated entry by entry (streamed text is appended,
// never redrawn), with an input to send a prompt.
import * as vscode from 'vscode';
import type { TranscriptChange, TranscriptEntry } from '../core/transcript';

export class TranscriptView implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'coco.transcript';
  private view: vscode.WebviewView | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly entries: () => TranscriptEntry[],
    private readonly onSend: (text: string) => void,
  ) {}

  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true };
    view.webview.html = html(nonce());
    this.disposables.push(view.webview.onDidReceiveMessage((m: { type: string; text?: string }) => {
      if (m.type === 'ready') this.post({ type: 'reset', entries: this.entries() });
      if (m.type === 'send' && m.text && m.text.trim() !== '') this.onSend(m.text);
    }));
    view.onDidDispose(() => { this.view = undefined; });
  }

  /** Opens the view without taking the focus from the editor. */
  async reveal(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${TranscriptView.viewId}.focus`);
  }

  apply(changes: TranscriptChange[]): void {
    for (const c of changes) {
      if (c.type === 'reset') this.post({ type: 'reset', entries: this.entries() });
      else this.post(c);
    }
  }

  private post(message: unknown): void {
    void this.view?.webview.postMessage(message);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function nonce(): string {
  let s = '';
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (let i = 0; i < 32; i++) s += chars.charAt(Math.floor(Math.random() * chars.length));
  return s;
}

// Entries are rendered with textContent only (never innerHTML), so agent text cannot inject markup.
function html(n: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${n}'; script-src 'nonce-${n}';">
<style nonce="${n}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 8px; }
  #log { padding-bottom: 90px; }
  .entry { margin: 8px 0; white-space: pre-wrap; word-wrap: break-word; }
  .user { border-left: 3px solid var(--vscode-textLink-foreground); padding-left: 6px; }
  .reasoning { opacity: .7; font-style: italic; }
  .command .head, .fileChange .head { font-family: var(--vscode-editor-font-family); font-weight: bold; }
  pre { background: var(--vscode-textCodeBlock-background); padding: 4px; margin: 2px 0; overflow-x: auto; white-space: pre-wrap; max-height: 240px; overflow-y: auto; }
  .status { opacity: .8; font-size: .9em; }
  .error { color: var(--vscode-errorForeground); }
  .approval { border-left: 3px solid var(--vscode-editorWarning-foreground); padding-left: 6px; }
  .notice { opacity: .8; font-size: .9em; }
  form { position: fixed; bottom: 0; left: 0; right: 0; padding: 6px 8px; background: var(--vscode-sideBar-background); display: flex; gap: 4px; }
  textarea { flex: 1; resize: vertical; min-height: 3em; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); font-family: inherit; }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; }
</style></head>
<body>
<div id="log" aria-live="polite"></div>
<form id="form"><textarea id="prompt" placeholder="Ask Codex (Ctrl+Enter to send)"></textarea><button type="submit">Send</button></form>
<script nonce="${n}">
  const vscode = acquireVsCodeApi();
  const log = document.getElementById('log');
  const nodes = new Map();
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function render(entry) {
    const box = el('div', 'entry ' + entry.kind);
    box.dataset.id = entry.id;
    if (entry.kind === 'command' || entry.kind === 'fileChange') {
      box.appendChild(el('div', 'head', (entry.kind === 'command' ? '$ ' : 'files: ') + entry.text));
      const out = el('pre', 'output', entry.output || '');
      if (!entry.output) out.style.display = 'none';
      box.appendChild(out);
      const st = entry.status + (entry.exitCode !== null && entry.exitCode !== undefined ? ' · exit code ' + entry.exitCode : '');
      box.appendChild(el('div', 'status', st));
    } else if (entry.kind === 'approval') {
      box.appendChild(el('div', 'text', 'Approval: ' + entry.text));
      box.appendChild(el('div', 'status', entry.status || ''));
    } else {
      box.appendChild(el('div', 'text', (entry.kind === 'user' ? '> ' : '') + entry.text));
    }
    return box;
  }
  function upsert(entry) {
    const fresh = render(entry);
    const old = nodes.get(entry.id);
    if (old) old.replaceWith(fresh); else log.appendChild(fresh);
    nodes.set(entry.id, fresh);
  }
  function append(id, field, text) {
    const box = nodes.get(id);
    if (!box) return;
    const target = box.querySelector(field === 'output' ? '.output' : '.text');
    if (!target) return;
    target.style.display = '';
    target.appendChild(document.createTextNode(text));
  }
  window.addEventListener('message', (event) => {
    const m = event.data;
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    if (m.type === 'reset') { log.textContent = ''; nodes.clear(); for (const e of m.entries) upsert(e); }
    else if (m.type === 'upsert') upsert(m.entry);
    else if (m.type === 'append') append(m.id, m.field, m.text);
    if (atBottom) window.scrollTo(0, document.body.scrollHeight);
  });
  const form = document.getElementById('form');
  const prompt = document.getElementById('prompt');
  function send() { const text = prompt.value; if (text.trim()) { vscode.postMessage({ type: 'send', text }); prompt.value = ''; } }
  form.addEventListener('submit', (e) => { e.preventDefault(); send(); });
  prompt.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); } });
  vscode.postMessage({ type: 'ready' });
</script></body></html>`;
}
