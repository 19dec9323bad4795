// The status bar item: idle / working / awaiting approval (count, warning colour) / error / stopped.
// Clicking it opens the Coco view.
import * as vscode from 'vscode';
import type { SessionStatus } from '../core/session';

export function statusText(status: SessionStatus): { text: string; tooltip: string; background?: string } {
  switch (status.kind) {
    case 'stopped': return { text: '$(circle-slash) Coco: stopped', tooltip: 'Coco is not running. Click to open the Coco view; "Coco: Start" starts it.' };
    case 'starting': return { text: '$(sync~spin) Coco: starting', tooltip: 'Starting the Coco bridge' };
    case 'idle': return { text: '$(comment-discussion) Coco: idle', tooltip: 'Coco is ready' };
    case 'working': return { text: '$(sync~spin) Coco: working', tooltip: 'Codex is working ("Coco: Interrupt" stops it)' };
    case 'awaitingApproval': {
      const n = status.openApprovals;
      return {
        text: `$(warning) Coco: ${n} approval${n === 1 ? '' : 's'}`,
        tooltip: `Codex waits for ${n} approval${n === 1 ? '' : 's'} ("Coco: Show Open Approvals")`,
        background: 'statusBarItem.warningBackground',
      };
    }
    case 'error': return { text: '$(error) Coco: error', tooltip: status.detail ?? 'Coco reported an error', background: 'statusBarItem.errorBackground' };
  }
}

export class CocoStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('coco.status', vscode.StatusBarAlignment.Left, 0);

  constructor() {
    this.item.name = 'Coco';
    this.item.command = 'coco.focusView';
    this.update({ kind: 'stopped', openApprovals: 0 });
    this.item.show();
  }

  update(status: SessionStatus): void {
    const s = statusText(status);
    this.item.text = s.text;
    this.item.tooltip = s.tooltip;
    this.item.backgroundColor = s.background ? new vscode.ThemeColor(s.background) : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
