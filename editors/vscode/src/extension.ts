// The extension's entry point, kept thin: everything lives in src/ui (VS Code) and src/core (plain Node).
import type * as vscode from 'vscode';
import { CocoExtension } from './ui/cocoExtension';

let coco: CocoExtension | undefined;

export function activate(context: vscode.ExtensionContext): void {
  coco = new CocoExtension(context);
  coco.activate();
}

export async function deactivate(): Promise<void> {
  await coco?.dispose();
  coco = undefined;
}
