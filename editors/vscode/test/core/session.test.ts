// src/core against the real `coco bridge`, the real pinned codex and `coco mock-model`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DENY_WITH_FEEDBACK_LABEL, answerFor, approvalDialog, originalText, proposedText } from '../../src/core/approvals';
import { ApprovalNoLongerOpen } from '../../src/core/session';
import { transcriptText } from '../../src/core/transcript';
import { locateBridge } from '../../src/core/bridgeLocator';
import { COCO_BIN, World } from './harness';

// Turn "write the file" and turn "write the file again" each run an escalated command (an approval);
// the agent's answer after it tells what happened.
const ESCALATED = `steps:
  - when: "write the file"
    exec: "echo escalated > escalated.txt"
    escalated: true
    justification: "Write escalated.txt in the project?"
    call_id: call_escalated
  - when: "write the file again"
    exec: "echo escalated > escalated.txt"
    escalated: true
    call_id: call_escalated_again
  - when: "use the docs folder"
    message: "Understood: the docs folder it is."
  - when: "Process exited with code 0"
    message: "Wrote the file."
  - message: "Not written."
    repeat: true
`;

test('a prompt becomes a transcript: the agent text, the command with its output and exit code', async () => {
  const w = await World.create('transcript', { file: 'exec.yaml' });
  try {
    await w.start();
    const status = await w.turn('run echo');
    assert.equal(status, 'completed');
    const entries = w.session.transcript.all();
    const user = entries.find((e) => e.kind === 'user');
    assert.equal(user?.text, 'run echo');
    const command = entries.find((e) => e.kind === 'command');
    assert.ok(command, transcriptText(entries));
    assert.match(command.text, /echo hi from the sandbox/);
    assert.match(command.output ?? '', /hi from the sandbox/);
    assert.equal(command.exitCode, 0);
    assert.equal(command.status, 'completed');
    const agent = entries.filter((e) => e.kind === 'agent').map((e) => e.text);
    assert.ok(agent.includes('The command printed: hi from the sandbox'), JSON.stringify(agent));
    assert.equal(w.session.status().kind, 'idle');
    assert.ok(w.ui.statuses.some((s) => s.kind === 'working'), 'the status said working during the turn');
  } finally {
    await w.close();
  }
});

test('streamed text arrives as appended deltas and ends as the whole message', async () => {
  const w = await World.create('streamed', { file: 'streamed.yaml' });
  try {
    await w.start();
    assert.equal(await w.turn('stream please'), 'completed');
    const appends = w.ui.changes.filter((c) => c.type === 'append');
    assert.ok(appends.length > 1, `expected several deltas, got ${appends.length}`);
    const agent = w.session.transcript.all().find((e) => e.kind === 'agent');
    assert.equal(agent?.text, 'Streaming works: these words arrive as separate deltas.');
  } finally {
    await w.close();
  }
});

test('a failed turn shows the error and the status says error', async () => {
  const w = await World.create('failed', { file: 'fail.yaml' });
  try {
    await w.start();
    assert.equal(await w.turn('fail please'), 'failed');
    const errors = w.session.transcript.all().filter((e) => e.kind === 'error');
    assert.ok(errors.some((e) => /scripted failure/.test(e.text)), transcriptText(w.session.transcript.all()));
    assert.equal(w.session.status().kind, 'error');
  } finally {
    await w.close();
  }
});

test('command approval: the dialog lists the bridge labels, Allow once runs the command', async () => {
  const w = await World.create('allow', { text: ESCALATED });
  try {
    await w.start();
    w.ui.asker = async (prompt) => {
      const dialog = approvalDialog(prompt);
      assert.equal(prompt.kind, 'command');
      assert.equal(dialog.choices[0].label, 'Allow once');
      assert.ok(dialog.choices.some((c) => c.label === 'Deny'));
      assert.ok(dialog.choices.some((c) => c.label === DENY_WITH_FEEDBACK_LABEL));
      assert.match(dialog.detail, /Command: .*echo escalated > escalated.txt/);
      assert.match(dialog.detail, new RegExp(`Working directory: ${w.project}`));
      assert.match(dialog.detail, /Reason: Write escalated.txt in the project\?/);
      assert.equal(w.session.status().kind, 'awaitingApproval');
      assert.equal(w.session.status().openApprovals, 1);
      return answerFor(dialog.choices[0]);
    };
    assert.equal(await w.turn('write the file'), 'completed');
    assert.equal(w.ui.prompts.length, 1);
    assert.equal(w.readProjectFile('escalated.txt'), 'escalated\n');
    assert.ok(w.session.transcript.all().some((e) => e.kind === 'agent' && e.text === 'Wrote the file.'));
    assert.equal(w.session.openApprovals().length, 0);
  } finally {
    await w.close();
  }
});

test('command approval: Deny does not run it; Deny with feedback reaches the agent', async () => {
  const w = await World.create('deny', { text: ESCALATED });
  try {
    await w.start();
    w.ui.asker = async (prompt) => {
      const deny = approvalDialog(prompt).choices.find((c) => c.label === 'Deny')!;
      return answerFor(deny);
    };
    assert.equal(await w.turn('write the file'), 'completed');
    assert.equal(w.readProjectFile('escalated.txt'), undefined);
    const command = w.session.transcript.all().find((e) => e.kind === 'command');
    assert.equal(command?.status, 'declined');

    w.ui.asker = async (prompt) => {
      const withFeedback = approvalDialog(prompt).choices.find((c) => c.asksFeedback)!;
      assert.equal(withFeedback.optionId, 'decline');
      return answerFor(withFeedback, { feedback: 'use the docs folder' });
    };
    assert.equal(await w.turn('write the file again'), 'completed');
    assert.equal(w.readProjectFile('escalated.txt'), undefined);
    // coco/approval/resolved follows this client's own answers too; the transcript keeps the answer.
    const approvals = w.session.transcript.all().filter((e) => e.kind === 'approval');
    assert.deepEqual(approvals.map((e) => e.status), ['decline', 'decline: use the docs folder']);
    assert.deepEqual(w.notifications.filter((n) => n.method === 'coco/approval/resolved').map((n) => n.params.by), ['editor', 'editor']);
    // The mock model answers this only when the feedback text is in the conversation.
    assert.ok(w.session.transcript.all().some((e) => e.kind === 'agent' && e.text === 'Understood: the docs folder it is.'),
      transcriptText(w.session.transcript.all()));
  } finally {
    await w.close();
  }
});

test('file change approval: the proposed text is known before, the file is written only when allowed', async () => {
  for (const allow of [false, true]) {
    const w = await World.create(allow ? 'patch-allow' : 'patch-deny', { file: 'patch.yaml' }, 'gpt-5.5');
    try {
      await w.start();
      w.ui.asker = async (prompt) => {
        assert.equal(prompt.kind, 'fileChange');
        const dialog = approvalDialog(prompt);
        assert.equal(dialog.review.length, 1);
        assert.equal(path.basename(dialog.review[0].path), 'hello.txt');
        assert.equal(dialog.review[0].kind, 'add');
        assert.equal(dialog.review[0].oldText, null);
        assert.equal(originalText(dialog.review[0]), '');
        assert.equal(proposedText(dialog.review[0]), 'hi there\n');
        assert.match(dialog.review[0].diff ?? '', /^--- \/dev\/null\n\+\+\+ b\/hello.txt\n@@ -0,0 \+1,1 @@\n\+hi there\n$/);
        assert.equal(w.readProjectFile('hello.txt'), undefined, 'nothing is written while the dialog is open');
        assert.equal(dialog.choices[0].label, 'Allow once');
        return answerFor(dialog.choices.find((c) => c.label === (allow ? 'Allow once' : 'Deny'))!);
      };
      assert.equal(await w.turn('create hello'), 'completed');
      assert.equal(w.ui.prompts.length, 1);
      assert.equal(w.readProjectFile('hello.txt'), allow ? 'hi there\n' : undefined);
    } finally {
      await w.close();
    }
  }
});

test('an update to a file: the old and new texts side by side; the file changes only when allowed', async () => {
  const w = await World.create('patch-update', { text: `steps:
  - when: "change hello"
    patch: |
      *** Begin Patch
      *** Update File: hello.txt
      @@
      -hi there
      +hi again
      *** End Patch
  - when: "change hello"
    message: "Changed hello.txt."
` }, 'gpt-5.5');
  try {
    writeFileSync(path.join(w.project, 'hello.txt'), 'hi there\n');
    await w.start();
    w.ui.asker = async (prompt) => {
      const [change] = approvalDialog(prompt).review;
      assert.equal(change.kind, 'update');
      assert.equal(originalText(change), 'hi there\n');
      assert.equal(proposedText(change), 'hi again\n');
      assert.match(change.diff ?? '', /^--- a\/hello.txt\n\+\+\+ b\/hello.txt\n@@/);
      assert.equal(w.readProjectFile('hello.txt'), 'hi there\n', 'nothing is written while the dialog is open');
      return answerFor(approvalDialog(prompt).choices[0]);
    };
    assert.equal(await w.turn('change hello'), 'completed');
    assert.equal(w.ui.prompts.length, 1);
    assert.equal(w.readProjectFile('hello.txt'), 'hi again\n');
  } finally {
    await w.close();
  }
});

test('an approval resolved elsewhere (the task-directory hand-off) closes the prompt', async () => {
  const w = await World.create('elsewhere', { text: ESCALATED });
  try {
    await w.start();
    let closedBy: string | undefined;
    w.ui.asker = (prompt, closed) => new Promise((_, reject) => {
      // Answer through the task directory, as another tool would, while this prompt stays open.
      const r = spawnSync(COCO_BIN, ['gate', 'answer', w.session.taskDir!, prompt.gateId, 'decline'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      closed.addEventListener('abort', () => {
        closedBy = (closed.reason as { by: string }).by;
        reject(new ApprovalNoLongerOpen(closed.reason));
      });
    });
    assert.equal(await w.turn('write the file'), 'completed');
    assert.equal(closedBy, 'resolvedElsewhere');
    assert.equal(w.readProjectFile('escalated.txt'), undefined);
    const approval = w.session.transcript.all().find((e) => e.kind === 'approval');
    assert.equal(approval?.status, 'decline (by directory)');
    assert.equal(w.session.openApprovals().length, 0);
    // The withdrawn request was acknowledged (RequestCancelled), not answered late.
    const events = w.taskEventTypes();
    assert.ok(events.includes('gate.resolved'), events.join(' '));
    assert.ok(!events.includes('gate.lateAnswer'), events.join(' '));
  } finally {
    await w.close();
  }
});

test('interrupt stops a running turn', async () => {
  const w = await World.create('interrupt', { file: 'slow.yaml' });
  try {
    await w.start();
    const before = w.notifications.length;
    await w.session.sendPrompt('take your time', w.project);
    assert.equal(w.session.status().kind, 'working');
    // codex refuses to interrupt a turn it has not started yet.
    await w.ui.waiter.until('turn/started', () => w.notifications.slice(before).some((n) => n.method === 'turn/started'));
    assert.equal(await w.session.interrupt(), true);
    await w.ui.waiter.until('turn/completed', () => w.notifications.slice(before).some((n) => n.method === 'turn/completed'));
    const done = w.notifications.slice(before).find((n) => n.method === 'turn/completed')!;
    assert.equal(done.params.turn.status, 'interrupted');
    assert.equal(w.session.status().kind, 'idle');
  } finally {
    await w.close();
  }
});

test('a crashed bridge is restarted and the thread goes on', async () => {
  const w = await World.create('restart', { text: 'steps:\n  - message: "still here"\n    repeat: true\n' });
  try {
    await w.start();
    assert.equal(await w.turn('hello'), 'completed');
    const thread = w.session.threadId;
    const task = w.session.taskDir;
    const firstPid = w.session.bridge!.pid;
    w.session.bridge!.killForTest();
    await w.ui.waiter.until('the restarted bridge', () => w.session.running && w.session.bridge!.pid !== firstPid);
    await w.ui.waiter.until('the thread to be resumed', () =>
      w.session.transcript.all().some((e) => e.text === 'Thread resumed.' || /Could not resume/.test(e.text)));
    assert.ok(w.session.transcript.all().some((e) => e.text === 'Thread resumed.'), transcriptText(w.session.transcript.all()));
    assert.equal(w.session.threadId, thread);
    // The restarted bridge continued the same task directory (`coco bridge --task`): a second
    // client.connected in the same events.jsonl.
    const info = await locateBridge({ configuredPath: COCO_BIN, searchRoots: [] });
    assert.equal(info.supportsTaskContinuation, true, 'the bridge lists --task in `coco bridge --help`');
    assert.equal(w.session.taskDir, task);
    assert.equal(w.taskEventTypes().filter((t) => t === 'client.connected').length, 2, w.taskEventTypes().join(' '));
    assert.equal(await w.turn('are you there'), 'completed');
    assert.equal(w.session.transcript.all().filter((e) => e.kind === 'agent' && e.text === 'still here').length, 2);
  } finally {
    await w.close();
  }
});

test('past the restart limit the session gives up and shows the bridge stderr', async () => {
  const w = await World.create('giveup', { file: 'hello.yaml' });
  try {
    await w.start({ maxRestarts: 0 });
    w.session.bridge!.killForTest();
    await w.ui.waiter.until('the failure', () => w.ui.failures.length > 0);
    assert.match(w.ui.failures[0], /giving up/);
    assert.match(w.ui.failures[0], /Last stderr:[\s\S]*codex app-server started/);
    assert.equal(w.session.status().kind, 'error');
  } finally {
    await w.close();
  }
});

test('a bridge that refuses its command line (exit 2) is not restarted; its stderr says why', async () => {
  const w = await World.create('refused', { file: 'hello.yaml' });
  try {
    const launches = () => w.ui.logs.filter((l) => l.startsWith('starting ')).length;
    // At start: a --config file that does not exist.
    const missing = path.join(w.dir, 'missing.yaml');
    await assert.rejects(w.start({ configFile: missing }), (e: Error) =>
      /exit code 2: it refused its command line/.test(e.message) && e.message.includes(`bad configuration: ${missing}`));
    assert.equal(launches(), 1);
    assert.equal(w.ui.failures.length, 1);
    assert.equal(w.session.status().kind, 'error');

    // At a restart: the task directory to continue (--task) is gone.
    await w.start();
    const task = w.session.taskDir!;
    renameSync(task, `${task}.moved`);
    w.session.bridge!.killForTest();
    await w.ui.waiter.until('the failure', () => w.ui.failures.length === 2);
    assert.match(w.ui.failures[1], /refused its command line .*; not restarting it/);
    assert.match(w.ui.failures[1], /--task: no task/);
    assert.equal(launches(), 3, w.ui.logs.join('\n'));
    assert.equal(w.session.status().kind, 'error');
  } finally {
    await w.close();
  }
});

test('exec workers report progress and a joined report', async () => {
  const w = await World.create('workers', { text: 'steps:\n  - when: "job one"\n    message: "one done"\n  - when: "job two"\n    message: "two done"\n' });
  try {
    await w.start();
    const progress: string[] = [];
    const report = await w.session.runExecWorkers(['job one', 'job two'], w.project, (p) => {
      if (p.completed) progress.push(`${p.agentId}:${p.completed.status}`);
    });
    assert.equal(progress.length, 2, JSON.stringify(progress));
    assert.ok(progress.every((p) => p.endsWith(':completed')), JSON.stringify(progress));
    assert.equal(report.complete, true, JSON.stringify(report));
    assert.ok(existsSync(report.summaryPath));
    // Each worker's own CODEX_HOME lives under the test's COCO_HOME, not under ~/.coco.
    assert.ok(existsSync(path.join(w.cocoHome, 'codex-homes')), `no codex-homes under ${w.cocoHome}`);
  } finally {
    await w.close();
  }
});

test('a prompt sent while a turn runs is added to that turn (turn/steer)', async () => {
  const w = await World.create('steer', { text: `steps:
  - when: "first task"
    exec: "sleep 3"
  - when: "second thought"
    message: "Got your second thought."
  - message: "done"
    repeat: true
` });
  try {
    await w.start();
    const before = w.notifications.length;
    const turnId = await w.session.sendPrompt('first task', w.project);
    await w.ui.waiter.until('the command to start', () => w.notifications.slice(before).some((n) =>
      n.method === 'item/started' && n.params?.item?.type === 'commandExecution'));
    await w.session.sendPrompt('second thought', w.project);
    await w.ui.waiter.until('the answer to the second prompt', () =>
      w.session.transcript.all().some((e) => e.kind === 'agent' && e.text === 'Got your second thought.'));
    await w.ui.waiter.until('no turn running', () => w.session.transcript.turnState === 'idle');
    const steered = w.session.transcript.all().some((e) => e.text === 'Added to the running turn: second thought');
    console.log(steered ? `steered turn ${turnId}` : 'the turn had ended; a new turn was started');
  } finally {
    await w.close();
  }
});

test('codex dying under the bridge is shown, and the bridge restarts it', async () => {
  const w = await World.create('codex-restart', { text: 'steps:\n  - message: "still answering"\n    repeat: true\n' });
  try {
    await w.start();
    assert.equal(await w.turn('hello'), 'completed');
    const status = await w.session.request<{ upstream: { pid: number } }>('coco/status');
    process.kill(status.upstream.pid, 'SIGKILL');
    await w.ui.waiter.until('codex to be restarted', () => w.session.transcript.all().some((e) => e.text === 'codex restarted.'));
    assert.ok(w.session.transcript.all().some((e) => e.kind === 'error' && /^codex exited/.test(e.text) && /restarting it/.test(e.text)),
      transcriptText(w.session.transcript.all()));
    assert.equal(w.session.status().kind, 'idle');
  } finally {
    await w.close();
  }
});
