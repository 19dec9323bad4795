// The shapes Coco's bridge sends and expects (docs/protocol.md, docs/approvals.md of the repository).
// Only what the extension reads is typed; everything else passes through as `unknown`.

export type OptionKind = 'allowOnce' | 'allowSession' | 'allowAlways' | 'deny' | 'cancel';
export type GateKind = 'command' | 'fileChange' | 'permissions' | 'elicitation' | 'userInput';

export interface ApprovalOption {
  id: string;
  label: string;
  kind: OptionKind;
  isDefault?: boolean;
}

/**
 * One entry of a file-change prompt's `changes`: oldText is the file on disk when the gate opened
 * (null for an add), newText its content after the change (null for a delete), diff a unified diff
 * with ---/+++ headers. With textsOmitted (too big, unreadable, changed on disk) only the diff comes,
 * and omittedReason says why.
 */
export interface ProposedChange {
  path: string;
  kind: 'add' | 'delete' | 'update' | string;
  movePath?: string;
  oldText?: string | null;
  newText?: string | null;
  diff?: string;
  textsOmitted?: boolean;
  omittedReason?: string;
}

export interface UserInputQuestion {
  id: string;
  header?: string;
  question?: string;
  isOther?: boolean;
  isSecret?: boolean;
  options?: { label: string; description?: string }[] | null;
}

/** The params of `coco/approval/request`. */
export interface ApprovalPrompt {
  gateId: string;
  kind: GateKind;
  method: string;
  threadId?: string;
  turnId?: string;
  itemId?: string;
  title: string;
  detail: string;
  command?: string;
  cwd?: string;
  reason?: string;
  changes?: ProposedChange[];
  permissions?: unknown;
  questions?: UserInputQuestion[];
  url?: string;
  serverName?: string;
  message?: string;
  mode?: string;
  requestedSchema?: { properties?: Record<string, { type?: string; title?: string; description?: string }>; required?: string[] };
  options: ApprovalOption[];
}

/** The result of `coco/approval/request`. */
export interface ApprovalAnswer {
  optionId: string;
  feedback?: string;
  answers?: Record<string, unknown>;
}

export interface ApprovalResolved {
  gateId: string;
  optionId?: string;
  decision?: unknown;
  by: string;
}

export interface AnswerRejected {
  gateId: string;
  reason: string;
  willAskAgain: boolean;
}

export interface CocoInitializeInfo {
  version?: string;
  codexVersion?: string;
  pinnedCodexVersion?: string;
  taskId?: string;
  taskDir?: string;
  capabilities?: { methods?: string[] };
}

export interface InitializeResult {
  userAgent?: string;
  coco?: CocoInitializeInfo;
}

export interface ExecCompleted {
  agentId: string;
  status: 'completed' | 'failed' | 'cancelled' | 'timedOut' | string;
  reason?: string;
  final?: unknown;
  durationMs?: number;
}

export interface TaskSummary {
  id: string;
  dir: string;
  title?: string;
  status?: string;
  created?: string;
  updated?: string;
  cwd?: string;
}

/**
 * The error a client answers to a request the bridge withdrew with `$/cancelRequest` (LSP's
 * RequestCancelled): the bridge takes it as the acknowledgement, not as a late answer.
 */
export const REQUEST_CANCELLED = -32800;

export const Methods = {
  approvalRequest: 'coco/approval/request',
  approvalResolved: 'coco/approval/resolved',
  approvalAnswerRejected: 'coco/approval/answerRejected',
  approvalList: 'coco/approval/list',
  approvalAnswer: 'coco/approval/answer',
  upstreamExited: 'coco/upstream/exited',
  upstreamRestarted: 'coco/upstream/restarted',
  execSpawn: 'coco/exec/spawn',
  execEvent: 'coco/exec/event',
  execCompleted: 'coco/exec/completed',
  taskJoin: 'coco/task/join',
} as const;
