// Task directories: listing them (`coco task ls --json`, or the task root's folders with an older
// bridge) and their transcript (`coco task show DIR`). No `vscode` import.

import { readdirSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFile, type RunFile } from './bridgeLocator';
import type { TaskSummary } from './protocol';

export function defaultTaskRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.COCO_HOME || path.join(os.homedir(), '.coco'), 'tasks');
}

/** Newest first. */
export async function listTasks(bridgePath: string, taskRoot: string | undefined, run: RunFile = runFile): Promise<TaskSummary[]> {
  const args = ['task', 'ls', '--json'];
  if (taskRoot) args.push('--task-root', taskRoot);
  try {
    const { stdout } = await run(bridgePath, args);
    const parsed = JSON.parse(stdout);
    if (Array.isArray(parsed)) return (parsed as TaskSummary[]).filter((t) => t && typeof t.dir === 'string').reverse();
  } catch {
    // An older bridge without --json: read the task root ourselves.
  }
  return listTaskFolders(taskRoot || defaultTaskRoot());
}

export function listTaskFolders(taskRoot: string): TaskSummary[] {
  let names: string[];
  try {
    names = readdirSync(taskRoot);
  } catch {
    return [];
  }
  return names
    .filter((n) => !n.startsWith('.'))
    .map((n) => path.join(taskRoot, n))
    .filter((d) => {
      try {
        return statSync(path.join(d, 'events.jsonl')).isFile() || statSync(path.join(d, 'task.yaml')).isFile();
      } catch {
        return false;
      }
    })
    .sort()
    .reverse()
    .map((dir) => ({ id: path.basename(dir), dir }));
}

export async function taskTranscript(bridgePath: string, taskDir: string, run: RunFile = runFile): Promise<string> {
  const { stdout } = await run(bridgePath, ['task', 'show', taskDir]);
  return stdout;
}
