// Maps the bridge's normalized approval prompts to what an editor shows: one dialog with a message,
// a plain-text detail and one choice per option, labelled exactly as the bridge labels them.
// No `vscode` import: src/ui/approvals.ts turns an ApprovalDialog into VS Code's modal and diff editor.

import type { ApprovalAnswer, ApprovalOption, ApprovalPrompt, ProposedChange } from './protocol';

export const DENY_WITH_FEEDBACK_LABEL = 'Deny with feedback...';

export interface ApprovalChoice {
  label: string;
  optionId: string;
  /** Ask for a text first; it is sent as `feedback` (the bridge then steers the turn with it). */
  asksFeedback?: boolean;
  /** Ask the prompt's questions (userInput) or form fields (elicitation) first; sent as `answers`. */
  asksAnswers?: boolean;
  /** Open this URL before answering (an elicitation in url mode). */
  opensUrl?: string;
}

export interface ApprovalDialog {
  gateId: string;
  message: string;
  detail: string;
  choices: ApprovalChoice[];
  /** File changes to show in a diff editor before the dialog. */
  review: ProposedChange[];
}

/** A question to put to the person before answering (userInput questions, elicitation fields). */
export interface AnswerQuestion {
  id: string;
  prompt: string;
  /** Pick one of these; with allowsOther, a free text is accepted too. */
  picks?: string[];
  allowsOther?: boolean;
  secret?: boolean;
}

const kindsWithFeedback = new Set(['command', 'fileChange', 'permissions']);

export function approvalDialog(prompt: ApprovalPrompt): ApprovalDialog {
  const options = orderedOptions(prompt.options ?? []);
  const choices: ApprovalChoice[] = [];
  let feedbackAdded = false;
  for (const option of options) {
    choices.push(choiceFor(prompt, option));
    if (option.kind === 'deny' && !feedbackAdded && kindsWithFeedback.has(prompt.kind)) {
      choices.push({ label: DENY_WITH_FEEDBACK_LABEL, optionId: option.id, asksFeedback: true });
      feedbackAdded = true;
    }
  }
  return {
    gateId: prompt.gateId,
    message: prompt.title,
    detail: plainDetail(prompt),
    choices,
    review: prompt.kind === 'fileChange' ? (prompt.changes ?? []) : [],
  };
}

/** The default option first (the bridge marks "Allow once"), the rest in the bridge's order. */
function orderedOptions(options: ApprovalOption[]): ApprovalOption[] {
  const first = options.find((o) => o.isDefault);
  return first ? [first, ...options.filter((o) => o !== first)] : [...options];
}

function choiceFor(prompt: ApprovalPrompt, option: ApprovalOption): ApprovalChoice {
  const choice: ApprovalChoice = { label: option.label, optionId: option.id };
  if (option.kind === 'allowOnce') {
    if (prompt.kind === 'userInput' && (prompt.questions?.length ?? 0) > 0) choice.asksAnswers = true;
    if (prompt.kind === 'elicitation') {
      if (prompt.mode === 'url' && prompt.url) choice.opensUrl = prompt.url;
      else if (Object.keys(prompt.requestedSchema?.properties ?? {}).length > 0) choice.asksAnswers = true;
    }
  }
  return choice;
}

/** The questions to ask before sending a choice with asksAnswers. */
export function questionsFor(prompt: ApprovalPrompt): AnswerQuestion[] {
  if (prompt.kind === 'userInput') {
    return (prompt.questions ?? []).map((q) => ({
      id: q.id,
      prompt: [q.header, q.question].filter(Boolean).join(': ') || q.id,
      picks: q.options && q.options.length > 0 ? q.options.map((o) => o.label) : undefined,
      allowsOther: q.isOther ?? !(q.options && q.options.length > 0),
      secret: q.isSecret ?? false,
    }));
  }
  if (prompt.kind === 'elicitation') {
    const props = prompt.requestedSchema?.properties ?? {};
    return Object.entries(props).map(([id, p]) => ({
      id,
      prompt: [p.title ?? id, p.description].filter(Boolean).join(': '),
      allowsOther: true,
    }));
  }
  return [];
}

/** The answer to send for a choice; feedback only travels with a deny choice that asked for it. */
export function answerFor(choice: ApprovalChoice, extra: { feedback?: string; answers?: Record<string, unknown> } = {}): ApprovalAnswer {
  const answer: ApprovalAnswer = { optionId: choice.optionId };
  if (choice.asksFeedback && extra.feedback && extra.feedback.trim() !== '') answer.feedback = extra.feedback;
  if (choice.asksAnswers && extra.answers) answer.answers = extra.answers;
  return answer;
}

/** The prompt as plain text for a dialog (VS Code's modal detail shows no markdown). */
export function plainDetail(prompt: ApprovalPrompt): string {
  const lines: string[] = [];
  switch (prompt.kind) {
    case 'command':
      if (prompt.command) lines.push(`Command: ${prompt.command}`);
      if (prompt.cwd) lines.push(`Working directory: ${prompt.cwd}`);
      if (prompt.reason) lines.push(`Reason: ${prompt.reason}`);
      for (const o of prompt.options ?? []) if (o.kind === 'allowAlways') lines.push(`Option: ${o.label}`);
      break;
    case 'fileChange':
      for (const c of prompt.changes ?? []) {
        const omitted = c.textsOmitted ? ` (shown as a diff: ${c.omittedReason ?? 'the texts were left out'})` : '';
        lines.push(`${changeVerb(c)} ${c.path}${c.movePath ? ` -> ${c.movePath}` : ''}${omitted}`);
      }
      if ((prompt.changes ?? []).length === 0) lines.push('(the bridge saw no diff for this change)');
      if (prompt.reason) lines.push(`Reason: ${prompt.reason}`);
      lines.push('The proposed change is open in a diff editor; nothing is written until you allow it.');
      break;
    case 'permissions':
      if (prompt.reason) lines.push(`Reason: ${prompt.reason}`);
      if (prompt.cwd) lines.push(`Working directory: ${prompt.cwd}`);
      lines.push(`Requested: ${JSON.stringify(prompt.permissions ?? {})}`);
      break;
    case 'elicitation':
      if (prompt.serverName) lines.push(`MCP server: ${prompt.serverName}`);
      if (prompt.message) lines.push(prompt.message);
      if (prompt.url) lines.push(`URL: ${prompt.url}`);
      break;
    case 'userInput':
      for (const q of questionsFor(prompt)) lines.push(`${q.prompt}${q.picks ? ` (${q.picks.join(' / ')})` : ''}`);
      break;
    default:
      lines.push(prompt.detail ?? '');
  }
  return lines.join('\n');
}

function changeVerb(change: ProposedChange): string {
  switch (change.kind) {
    case 'add': return 'Create';
    case 'delete': return 'Delete';
    default: return 'Change';
  }
}

/**
 * The text the file would have after the change, when the prompt carries it (newText) or it can be
 * rebuilt from an "add" diff. Undefined when unknown (textsOmitted, or an old bridge with only diffs).
 */
export function proposedText(change: ProposedChange): string | undefined {
  if (change.kind === 'delete') return '';
  if (typeof change.newText === 'string') return change.newText;
  if (change.kind === 'add' && typeof change.diff === 'string') return textOfAddedFile(change.diff);
  return undefined;
}

/** The text the change starts from: empty for an add, else the bridge's oldText (undefined when omitted). */
export function originalText(change: ProposedChange): string | undefined {
  if (change.kind === 'add') return '';
  return typeof change.oldText === 'string' ? change.oldText : undefined;
}

/** Codex's diff of an added file is either the plain content or a unified diff of only '+' lines. */
function textOfAddedFile(diff: string): string {
  const lines = diff.split('\n');
  const isUnified = lines.some((l) => l.startsWith('@@') || l.startsWith('+++ '));
  if (!isUnified) return diff;
  const out: string[] = [];
  let inHunk = false;
  for (const l of lines) {
    if (l.startsWith('@@')) { inHunk = true; continue; }
    if (inHunk && l.startsWith('+')) out.push(l.slice(1));
  }
  return out.length > 0 ? out.join('\n') + '\n' : '';
}

/**
 * Open prompts keyed by gateId. The bridge may ask the SAME gate again (after an answer it rejected),
 * so a new prompt for a known gateId replaces the old one instead of adding a second.
 */
export class OpenApprovals<T> {
  private readonly byGate = new Map<string, { prompt: ApprovalPrompt; handle: T }>();

  put(prompt: ApprovalPrompt, handle: T): T | undefined {
    const previous = this.byGate.get(prompt.gateId);
    this.byGate.set(prompt.gateId, { prompt, handle });
    return previous?.handle;
  }

  remove(gateId: string): T | undefined {
    const entry = this.byGate.get(gateId);
    this.byGate.delete(gateId);
    return entry?.handle;
  }

  get(gateId: string): { prompt: ApprovalPrompt; handle: T } | undefined {
    return this.byGate.get(gateId);
  }

  prompts(): ApprovalPrompt[] {
    return [...this.byGate.values()].map((e) => e.prompt);
  }

  get size(): number {
    return this.byGate.size;
  }

  clear(): T[] {
    const handles = [...this.byGate.values()].map((e) => e.handle);
    this.byGate.clear();
    return handles;
  }
}
