// Task directories: listing them (`coco task ls --json`, or the task root's folders with an older
// bridge) and their transcript (`coco task show DIR`). No `vscode` import.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFile, type RunFile } from './bridgeLocator';
import type { TaskSummary } from './protocol';

export function defaultTaskRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.COCO_HOME || path.join(os.homedir(), '.coco'), 'tasks');
}

/** Newest first, as `coco task ls --json` lists them. */
export async function listTasks(bridgePath: string, taskRoot: string | undefined, run: RunFile = runFile): Promise<TaskSummary[]> {
  const args = ['task', 'ls', '--json'];
  if (taskRoot) args.push('--task-root', taskRoot);
  let stdout: string;
  try {
    ({ stdout } = await run(bridgePath, args));
  } catch (e) {
    // Exit code 2: the bridge refused the command line, as one older than `task ls --json` does
    // (every subcommand refuses unknown options). Read the task root ourselves then; any other
    // failure is the bridge's to explain.
    if ((e as { code?: unknown }).code === 2) return listTaskFolders(taskRoot || defaultTaskRoot());
    const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`\`coco task ls --json\` failed: ${stderr || (e as Error).message}`);
  }
  const parsed: unknown = JSON.parse(stdout);
  if (!Array.isArray(parsed)) throw new Error('`coco task ls --json` did not print a JSON array');
  return (parsed as TaskSummary[]).filter((t) => t && typeof t.dir === 'string');
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
    .map((dir) => ({ ...taskYamlScalars(dir), id: path.basename(dir), dir }));
}

/** title, status, created, updated, cwd: the top-level one-line values of task.yaml. */
function taskYamlScalars(dir: string): Partial<TaskSummary> {
  const out: Record<string, string> = {};
  let text = '';
  try {
    text = readFileSync(path.join(dir, 'task.yaml'), 'utf8');
  } catch {
    return {};
  }
  for (const line of text.split('\n')) {
    const m = /^(title|status|created|updated|cwd): (.*)$/.exec(line);
    if (!m) continue;
    let value = m[2].trim();
    if (value.startsWith('"')) {
      try { value = JSON.parse(value); } catch { /* keep it as written */ }
    }
    out[m[1]] = value;
  }
  return out;
}

export async function taskTranscript(bridgePath: string, taskDir: string, run: RunFile = runFile): Promise<string> {
  const { stdout } = await run(bridgePath, ['task', 'show', taskDir]);
  return stdout;
}
