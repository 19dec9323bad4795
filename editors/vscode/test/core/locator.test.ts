// Finding the bridge: setting, then the project's build, then PATH; `coco version` checked.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { bridgeArgs } from '../../src/core/bridgeClient';
import { BridgeNotFoundError, bridgeCandidates, locateBridge, parseVersion, versionAtLeast } from '../../src/core/bridgeLocator';
import { listTasks } from '../../src/core/tasks';
import { COCO_BIN, scratchDir } from './harness';

test('parses `coco version`', () => {
  assert.deepEqual(parseVersion('coco 0.1.0 (pinned codex 0.169.0)\ncodex: /x\n'), { version: '0.1.0', pinnedCodexVersion: '0.169.0' });
  assert.deepEqual(parseVersion('coco 1.2.3\n'), { version: '1.2.3', pinnedCodexVersion: undefined });
  assert.equal(parseVersion('something else'), undefined);
  assert.equal(versionAtLeast('0.1.0', '0.1.0'), true);
  assert.equal(versionAtLeast('0.10.0', '0.9.1'), true);
  assert.equal(versionAtLeast('0.0.9', '0.1.0'), false);
});

test('the real bridge is found in a build folder before PATH, and its version is checked', async () => {
  const dir = scratchDir('locator-');
  try {
    const build = path.join(dir, 'ws', 'build', 'bridge');
    mkdirSync(build, { recursive: true });
    writeFileSync(path.join(build, 'coco'), `#!/bin/sh\nexec "${COCO_BIN}" "$@"\n`);
    chmodSync(path.join(build, 'coco'), 0o755);
    const onPath = path.join(dir, 'bin');
    mkdirSync(onPath);
    writeFileSync(path.join(onPath, 'coco'), '#!/bin/sh\necho "not coco"\n');
    chmodSync(path.join(onPath, 'coco'), 0o755);

    const candidates = bridgeCandidates({ searchRoots: [path.join(dir, 'ws')], envPath: onPath });
    assert.deepEqual(candidates.map((c) => c.source), ['build', 'PATH']);
    const info = await locateBridge({ searchRoots: [path.join(dir, 'ws')], envPath: onPath });
    assert.equal(info.source, 'build');
    assert.match(info.version, /^\d+\.\d+\.\d+$/);

    // Only the broken one on PATH: refused with the reason.
    await assert.rejects(locateBridge({ searchRoots: [], envPath: onPath }), (e: Error) =>
      e instanceof BridgeNotFoundError && /unexpected `coco version` output: not coco/.test(e.message));
    // The setting wins and is the only candidate.
    const set = await locateBridge({ configuredPath: COCO_BIN, searchRoots: [path.join(dir, 'ws')], envPath: onPath });
    assert.equal(set.source, 'setting');
    assert.equal(set.path, COCO_BIN);
    await assert.rejects(locateBridge({ configuredPath: path.join(dir, 'missing'), searchRoots: [] }), /not an executable file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bridge arguments come from the settings; --task only for a restart of a bridge that has it', () => {
  const s = { bridgePath: 'coco', cwd: '/w', codexPath: '/c', taskRoot: '/t', configFile: '/f.yaml', approvalTimeoutSeconds: 30,
    supportsTaskContinuation: true, supportsApprovalTimeout: true, maxRestarts: 3 };
  assert.deepEqual(bridgeArgs(s), ['bridge', '--cwd', '/w', '--codex', '/c', '--task-root', '/t', '--config', '/f.yaml', '--approval-timeout', '30']);
  assert.deepEqual(bridgeArgs(s, '/t/123').slice(-2), ['--task', '/t/123']);
  const old = { ...s, supportsTaskContinuation: false, supportsApprovalTimeout: false, codexPath: '', taskRoot: '', configFile: '' };
  assert.deepEqual(bridgeArgs(old, '/t/123'), ['bridge', '--cwd', '/w']);
});

test('tasks are listed newest first, from the real bridge', async () => {
  const dir = scratchDir('tasks-');
  try {
    for (const id of ['20260101T000000Z-aaaaaa', '20260102T000000Z-bbbbbb']) {
      mkdirSync(path.join(dir, id));
      writeFileSync(path.join(dir, id, 'task.yaml'), `id: ${id}\ntitle: "prompt of ${id.slice(-6)}"\nstatus: completed\n`);
      writeFileSync(path.join(dir, id, 'events.jsonl'), '');
    }
    const tasks = await listTasks(COCO_BIN, dir);
    assert.deepEqual(tasks.map((t) => path.basename(t.dir)), ['20260102T000000Z-bbbbbb', '20260101T000000Z-aaaaaa']);
    assert.deepEqual(tasks.map((t) => t.title), ['prompt of bbbbbb', 'prompt of aaaaaa']);
    assert.equal(tasks[0].status, 'completed');

    // A bridge that refuses `--json` (exit 2, as every subcommand does with an unknown option): the
    // task root is read directly, in the same order. Any other failure is reported with its stderr.
    const refuses = path.join(dir, 'refuses-json');
    writeFileSync(refuses, '#!/bin/sh\necho "coco: coco task: unknown option --json" >&2\nexit 2\n');
    chmodSync(refuses, 0o755);
    assert.deepEqual((await listTasks(refuses, dir)).map((t) => t.id), ['20260102T000000Z-bbbbbb', '20260101T000000Z-aaaaaa']);
    const broken = path.join(dir, 'broken');
    writeFileSync(broken, '#!/bin/sh\necho "coco: cannot read the task root" >&2\nexit 1\n');
    chmodSync(broken, 0o755);
    await assert.rejects(listTasks(broken, dir), /cannot read the task root/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
