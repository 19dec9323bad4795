// Finds the `coco` executable and checks its version: the coco.bridgePath setting, then the project's
// build (build/*/coco next to the workspace or the extension), then PATH. No `vscode` import.

import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const MINIMUM_BRIDGE_VERSION = '0.1.0';

export interface BridgeInfo {
  path: string;
  version: string;
  pinnedCodexVersion?: string;
  /** How it was found, for messages: "setting", "build", "PATH". */
  source: 'setting' | 'build' | 'PATH';
  /** `coco bridge --task` (continue a task after a restart) is available. */
  supportsTaskContinuation: boolean;
  /** `coco bridge --approval-timeout` is available. */
  supportsApprovalTimeout: boolean;
}

export interface LocateOptions {
  configuredPath?: string;
  /** Folders whose build/ is searched: the workspace folders, then the extension's checkout. */
  searchRoots: string[];
  envPath?: string;
}

export class BridgeNotFoundError extends Error {}

export type RunFile = (file: string, args: string[]) => Promise<{ stdout: string; stderr: string }>;

export const runFile: RunFile = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 15000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Every candidate in search order, with where it came from. */
export function bridgeCandidates(opts: LocateOptions): { path: string; source: BridgeInfo['source'] }[] {
  const configured = opts.configuredPath?.trim();
  if (configured) {
    // A bare name ("coco") is looked up on PATH; anything else must be an executable file.
    const paths = configured.includes(path.sep)
      ? [configured]
      : (opts.envPath ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, configured));
    const found = paths.find(isExecutableFile);
    return found ? [{ path: found, source: 'setting' }] : [];
  }
  const out: { path: string; source: BridgeInfo['source'] }[] = [];
  for (const root of opts.searchRoots) {
    const build = path.join(root, 'build');
    let subdirs: string[] = [];
    try {
      subdirs = readdirSync(build).sort();
    } catch {
      continue;
    }
    for (const sub of subdirs) {
      const p = path.join(build, sub, 'coco');
      if (isExecutableFile(p)) out.push({ path: p, source: 'build' });
    }
  }
  for (const dir of (opts.envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'coco');
    if (isExecutableFile(p)) out.push({ path: p, source: 'PATH' });
  }
  return out;
}

/** The checkout an installed extension may live in: editors/vscode -> the repository root. */
export function ancestorsOf(dir: string, levels: number): string[] {
  const out: string[] = [];
  let d = dir;
  for (let i = 0; i < levels; i++) {
    const parent = path.dirname(d);
    if (parent === d) break;
    out.push(parent);
    d = parent;
  }
  return out;
}

/** Parses `coco version`'s first line: `coco X.Y.Z (pinned codex A.B.C)`. */
export function parseVersion(output: string): { version: string; pinnedCodexVersion?: string } | undefined {
  const first = output.split('\n')[0] ?? '';
  const m = /^coco (\d+\.\d+\.\d+)(?:\s*\(pinned codex ([^)\s]+)\))?/.exec(first.trim());
  return m ? { version: m[1], pinnedCodexVersion: m[2] } : undefined;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

export async function locateBridge(opts: LocateOptions, run: RunFile = runFile): Promise<BridgeInfo> {
  const candidates = bridgeCandidates(opts);
  if (candidates.length === 0) {
    throw new BridgeNotFoundError(opts.configuredPath
      ? `coco.bridgePath is set to "${opts.configuredPath}", which is not an executable file.`
      : 'No `coco` executable found: set coco.bridgePath, build the project (./dev build), or put coco on PATH.');
  }
  const problems: string[] = [];
  for (const c of candidates) {
    let out: string;
    try {
      out = (await run(c.path, ['version'])).stdout;
    } catch (e) {
      problems.push(`${c.path}: \`coco version\` failed (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    const v = parseVersion(out);
    if (!v) {
      problems.push(`${c.path}: unexpected \`coco version\` output: ${out.split('\n')[0]}`);
      continue;
    }
    if (!versionAtLeast(v.version, MINIMUM_BRIDGE_VERSION)) {
      problems.push(`${c.path}: version ${v.version} is older than ${MINIMUM_BRIDGE_VERSION}`);
      continue;
    }
    let help = '';
    try {
      const r = await run(c.path, ['bridge', '--help']);
      help = r.stdout + r.stderr;
    } catch (e) {
      help = String((e as { stdout?: string }).stdout ?? '');
    }
    return {
      path: c.path,
      version: v.version,
      pinnedCodexVersion: v.pinnedCodexVersion,
      source: c.source,
      supportsTaskContinuation: /--task\s+(ID|PATH)/.test(help),
      supportsApprovalTimeout: /--approval-timeout\b/.test(help),
    };
  }
  throw new BridgeNotFoundError(`No usable coco bridge:\n${problems.join('\n')}`);
}
