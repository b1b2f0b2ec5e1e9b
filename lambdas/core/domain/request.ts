import { iso } from './clock';
import type { Stage, Status } from './status';

export type ManagerVerdict = 'APPROVE' | 'REJECT';
export type CustomerVerdict = 'APPROVE' | 'DENY';

export interface Decision<V extends string> {
  by: string;
  byEmail?: string;
  decision: V;
  reason?: string;
  at: string;
  via: 'link' | 'api' | 'console';
}

/** What an access provider returns on grant: what the engineer needs to use it (never secrets). */
export type AccessDetails = Record<string, unknown>;

/** The request as stored in the Requests table. Fields below the line never leave the server. */
export interface AccessRequest {
  requestId: string;
  tenantId: string;
  ticketId: string;
  justification: string;
  accessLevel: string;
  duration: string;
  requestedBy: string;
  status: Status;
  createdAt: string;
  version: number;
  approvalDeadline?: string;
  managerDecision?: Decision<ManagerVerdict>;
  customerDecision?: Decision<CustomerVerdict>;
  accessStartsAt?: string;
  accessExpiresAt?: string;
  endedAt?: string;
  endReason?: string;
  access?: AccessDetails;
  // ---- server-only ----
  idempotencyKey?: string;
  /** Separation of duties: identity keys of everyone who already acted (requester, manager). */
  parties: string[];
  /** Approval timeouts fixed at creation, in seconds; also the execution's callback timeouts. */
  timeouts: { managerSeconds: number; customerSeconds: number };
  /** Set by the write that enters a stage (creation, the manager's approval), removed when it closes. */
  openStage?: Stage;
  approvalDeadlineMs?: number;
  /** The workflow task waiting on this request, attached by the notify step: an approval stage, or the access window ('access'). */
  taskToken?: string;
  taskStage?: Stage | 'access';
  linkHashes?: string[];
  /** Hashes of the links that decided a stage, so a link's holder can be told "already decided by someone else". */
  usedLinkHashes?: string[];
  /** While access is granted: the window's end (epoch ms), key of the reconciler's sparse index. */
  activeUntil?: number;
  outcomeNotifiedAt?: string;
  /** The head of the request's audit chain (docs/design.md §3), moved by every audited write. */
  auditSeq?: number;
  auditHead?: string;
}

/** Fields the API never returns. */
const SERVER_ONLY = [
  'idempotencyKey',
  'parties',
  'timeouts',
  'openStage',
  'approvalDeadlineMs',
  'taskToken',
  'taskStage',
  'linkHashes',
  'usedLinkHashes',
  'activeUntil',
  'activeGrant',
  'outcomeNotifiedAt',
  'auditSeq',
  'auditHead',
] as const;

export type RequestView = Omit<AccessRequest, (typeof SERVER_ONLY)[number]>;

/** The request as the API returns it. `access` goes only to the requester. */
export function toView(request: AccessRequest, viewer: { isRequester: boolean }): RequestView {
  const view: Record<string, unknown> = { ...request };
  for (const key of SERVER_ONLY) delete view[key];
  if (!viewer.isRequester) delete view.access;
  return view as RequestView;
}

/** The end of the access window for a grant starting at `startMs`. */
export const accessWindow = (startMs: number, durationMs: number) => ({
  accessStartsAt: iso(startMs),
  accessExpiresAt: iso(startMs + durationMs),
  activeUntil: startMs + durationMs,
});

/**
 * True when a stage is open for decisions at `nowMs`: the write that entered it opened it and its
 * deadline is ahead. Whether the workflow's task token is attached yet does not matter.
 */
export const stageIsOpen = (request: AccessRequest, stage: Stage, nowMs: number): boolean =>
  request.openStage === stage && request.approvalDeadlineMs !== undefined && nowMs < request.approvalDeadlineMs;

/** The fields that open a stage for decisions until `deadlineMs`. */
export const openingOf = (stage: Stage, deadlineMs: number) => ({
  openStage: stage,
  approvalDeadline: iso(deadlineMs),
  approvalDeadlineMs: deadlineMs,
});

/** Separation of duties: none of the actor's identity keys may belong to someone who already acted. */
export const isSeparate = (request: Pick<AccessRequest, 'parties'>, actorKeys: readonly string[]): boolean =>
  !actorKeys.some((key) => request.parties.includes(key));
