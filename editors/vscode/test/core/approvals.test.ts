// The mapping of prompts to choices for every kind. Command and file-change prompts also come from
// the real bridge in session.test.ts; the kinds codex cannot be made to ask offline (permissions,
// MCP elicitation, user input) use prompts of the shape the bridge sends (docs/approvals.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DENY_WITH_FEEDBACK_LABEL, OpenApprovals, answerFor, approvalDialog, originalText, proposedText, questionsFor } from '../../src/core/approvals';
import type { ApprovalPrompt } from '../../src/core/protocol';

const base = { method: 'm', threadId: 't', turnId: 'u', itemId: 'i', detail: '' };

test('command: default first, every bridge option by its label, feedback after Deny', () => {
  const prompt: ApprovalPrompt = {
    ...base, gateId: 'g1', kind: 'command', title: 'Run `ls`?', command: 'ls', cwd: '/p', reason: 'look',
    options: [
      { id: 'acceptForSession', label: 'Allow for this session', kind: 'allowSession' },
      { id: 'accept', label: 'Allow once', kind: 'allowOnce', isDefault: true },
      { id: 'acceptAlways', label: 'Always allow commands starting with `ls`', kind: 'allowAlways' },
      { id: 'decline', label: 'Deny', kind: 'deny' },
      { id: 'cancel', label: 'Deny and stop the turn', kind: 'cancel' },
    ],
  };
  const d = approvalDialog(prompt);
  assert.deepEqual(d.choices.map((c) => c.label), [
    'Allow once', 'Allow for this session', 'Always allow commands starting with `ls`', 'Deny', DENY_WITH_FEEDBACK_LABEL, 'Deny and stop the turn',
  ]);
  assert.equal(d.message, 'Run `ls`?');
  assert.equal(d.detail, 'Command: ls\nWorking directory: /p\nReason: look\nOption: Always allow commands starting with `ls`');
  assert.deepEqual(d.review, []);
  const fb = d.choices.find((c) => c.asksFeedback)!;
  assert.deepEqual(answerFor(fb, { feedback: 'no' }), { optionId: 'decline', feedback: 'no' });
  assert.deepEqual(answerFor(fb, { feedback: '  ' }), { optionId: 'decline' });
  assert.deepEqual(answerFor(d.choices[0], { feedback: 'ignored' }), { optionId: 'accept' });
});

test('fileChange: the changes to review, oldText/newText side by side, omitted texts stay unknown', () => {
  const prompt: ApprovalPrompt = {
    ...base, gateId: 'g2', kind: 'fileChange', title: 'Apply changes to 3 files?', reason: 'refactor',
    changes: [
      { path: '/p/a.txt', kind: 'update', oldText: 'old\n', newText: 'new\n', diff: '--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-old\n+new\n' },
      { path: '/p/b.txt', kind: 'delete', oldText: 'gone\n', newText: null, diff: '--- a/b.txt\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-gone\n' },
      { path: '/p/big.bin', kind: 'update', textsOmitted: true, omittedReason: 'the file is larger than approvals.max_text_kib',
        diff: '--- a/big.bin\n+++ b/big.bin\n' },
      { path: '/p/c.txt', kind: 'add', oldText: null, newText: 'plain content\n', diff: '--- /dev/null\n+++ b/c.txt\n@@ -0,0 +1,1 @@\n+plain content\n' },
      { path: '/p/d.txt', kind: 'add', diff: '--- /dev/null\n+++ b/d.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n' },
      { path: '/p/old.txt', kind: 'update', movePath: '/p/new.txt', oldText: 'same\n', newText: 'same\n', diff: '--- a/old.txt\n+++ b/new.txt\n' },
    ],
    options: [
      { id: 'accept', label: 'Allow once', kind: 'allowOnce', isDefault: true },
      { id: 'acceptForSession', label: 'Allow for this session', kind: 'allowSession' },
      { id: 'decline', label: 'Deny', kind: 'deny' },
      { id: 'cancel', label: 'Deny and stop the turn', kind: 'cancel' },
    ],
  };
  const d = approvalDialog(prompt);
  assert.equal(d.review.length, 6);
  assert.deepEqual(d.review.map(originalText), ['old\n', 'gone\n', undefined, '', '', 'same\n']);
  assert.deepEqual(d.review.map(proposedText), ['new\n', '', undefined, 'plain content\n', 'one\ntwo\n', 'same\n']);
  assert.equal(d.detail, [
    'Change /p/a.txt', 'Delete /p/b.txt',
    'Change /p/big.bin (shown as a diff: the file is larger than approvals.max_text_kib)',
    'Create /p/c.txt', 'Create /p/d.txt', 'Change /p/old.txt -> /p/new.txt', 'Reason: refactor',
    'The proposed change is open in a diff editor; nothing is written until you allow it.',
  ].join('\n'));
  assert.deepEqual(d.choices.map((c) => c.label), ['Allow once', 'Allow for this session', 'Deny', DENY_WITH_FEEDBACK_LABEL, 'Deny and stop the turn']);
});

test('permissions: grant for the turn or the session, or deny (with feedback)', () => {
  const prompt: ApprovalPrompt = {
    ...base, gateId: 'g3', kind: 'permissions', title: 'Grant network access?', reason: 'fetch deps',
    permissions: { network: { enabled: true } },
    options: [
      { id: 'accept', label: 'Allow for this turn', kind: 'allowOnce', isDefault: true },
      { id: 'acceptForSession', label: 'Allow for this session', kind: 'allowSession' },
      { id: 'decline', label: 'Deny', kind: 'deny' },
    ],
  };
  const d = approvalDialog(prompt);
  assert.deepEqual(d.choices.map((c) => c.label), ['Allow for this turn', 'Allow for this session', 'Deny', DENY_WITH_FEEDBACK_LABEL]);
  assert.equal(d.detail, 'Reason: fetch deps\nRequested: {"network":{"enabled":true}}');
});

test('elicitation: a form asks its fields, a url opens first, decline and cancel as labelled', () => {
  const options = [
    { id: 'accept', label: 'Submit', kind: 'allowOnce' as const, isDefault: true },
    { id: 'decline', label: 'Decline', kind: 'deny' as const },
    { id: 'cancel', label: 'Cancel', kind: 'cancel' as const },
  ];
  const form: ApprovalPrompt = {
    ...base, gateId: 'g4', kind: 'elicitation', title: 'db asks: credentials', serverName: 'db', message: 'Which user?', mode: 'form',
    requestedSchema: { properties: { user: { type: 'string', title: 'User name' } }, required: ['user'] }, options,
  };
  const d = approvalDialog(form);
  assert.deepEqual(d.choices.map((c) => c.label), ['Submit', 'Decline', 'Cancel']);
  assert.equal(d.choices[0].asksAnswers, true);
  assert.deepEqual(questionsFor(form), [{ id: 'user', prompt: 'User name', allowsOther: true }]);
  assert.deepEqual(answerFor(d.choices[0], { answers: { user: 'me' } }), { optionId: 'accept', answers: { user: 'me' } });
  assert.equal(d.detail, 'MCP server: db\nWhich user?');

  const url: ApprovalPrompt = { ...form, gateId: 'g5', mode: 'url', url: 'https://example.test/login', requestedSchema: undefined,
    options: [{ ...options[0], label: 'Open and continue' }, options[1], options[2]] };
  const u = approvalDialog(url);
  assert.equal(u.choices[0].label, 'Open and continue');
  assert.equal(u.choices[0].opensUrl, 'https://example.test/login');
  assert.equal(u.choices[0].asksAnswers, undefined);
});

test('userInput: Answer asks each question (picks or free text), Skip sends nothing', () => {
  const prompt: ApprovalPrompt = {
    ...base, gateId: 'g6', kind: 'userInput', title: 'Which database?',
    questions: [
      { id: 'db', header: 'Database', question: 'Which database?', options: [{ label: 'sqlite' }, { label: 'postgres' }] },
      { id: 'name', question: 'Its name?' },
    ],
    options: [
      { id: 'submit', label: 'Answer', kind: 'allowOnce', isDefault: true },
      { id: 'skip', label: 'Skip', kind: 'deny' },
    ],
  };
  const d = approvalDialog(prompt);
  assert.deepEqual(d.choices.map((c) => c.label), ['Answer', 'Skip']);
  assert.equal(d.choices[0].asksAnswers, true);
  assert.equal(d.choices[1].asksFeedback, undefined);
  assert.deepEqual(questionsFor(prompt), [
    { id: 'db', prompt: 'Database: Which database?', picks: ['sqlite', 'postgres'], allowsOther: false, secret: false },
    { id: 'name', prompt: 'Its name?', picks: undefined, allowsOther: true, secret: false },
  ]);
  assert.deepEqual(answerFor(d.choices[0], { answers: { db: 'sqlite', name: 'x' } }), { optionId: 'submit', answers: { db: 'sqlite', name: 'x' } });
  assert.deepEqual(answerFor(d.choices[1], { answers: { db: 'sqlite' } }), { optionId: 'skip' });
});

test('open approvals are keyed by gateId: the same gate asked again replaces the old prompt', () => {
  const open = new OpenApprovals<string>();
  const p = (gateId: string, title: string): ApprovalPrompt => ({ ...base, gateId, kind: 'command', title, options: [] });
  assert.equal(open.put(p('g1', 'first'), 'h1'), undefined);
  assert.equal(open.put(p('g2', 'other'), 'h2'), undefined);
  assert.equal(open.put(p('g1', 'again'), 'h3'), 'h1');
  assert.equal(open.size, 2);
  assert.deepEqual(open.prompts().map((x) => x.title), ['again', 'other']);
  assert.equal(open.remove('g1'), 'h3');
  assert.equal(open.remove('g1'), undefined);
  assert.equal(open.size, 1);
});
