/**
 * Request statuses and the transitions docs/design.md §1 allows. Every write of a status names its
 * expected current status, so a transition not listed here can never be committed.
 */
export const STATUSES = [
  'PENDING_MANAGER_APPROVAL',
  'PENDING_CUSTOMER_APPROVAL',
  'APPROVED',
  'ACTIVE',
  'COMPLETED',
  'REVOKED',
  'REJECTED',
  'DENIED',
  'EXPIRED',
  'CANCELLED',
  'FAILED',
] as const;
export type Status = (typeof STATUSES)[number];

export const TERMINAL_STATUSES: readonly Status[] = ['COMPLETED', 'REVOKED', 'REJECTED', 'DENIED', 'EXPIRED', 'CANCELLED', 'FAILED'];

/** What each action does to a status. The key is the action, so a use case names intent, not states. */
export const TRANSITIONS = {
  managerApprove: { from: ['PENDING_MANAGER_APPROVAL'], to: 'PENDING_CUSTOMER_APPROVAL' },
  managerReject: { from: ['PENDING_MANAGER_APPROVAL'], to: 'REJECTED' },
  customerApprove: { from: ['PENDING_CUSTOMER_APPROVAL'], to: 'APPROVED' },
  customerDeny: { from: ['PENDING_CUSTOMER_APPROVAL'], to: 'DENIED' },
  expire: { from: ['PENDING_MANAGER_APPROVAL', 'PENDING_CUSTOMER_APPROVAL'], to: 'EXPIRED' },
  cancel: { from: ['PENDING_MANAGER_APPROVAL', 'PENDING_CUSTOMER_APPROVAL', 'APPROVED'], to: 'CANCELLED' },
  grant: { from: ['APPROVED'], to: 'ACTIVE' },
  complete: { from: ['ACTIVE'], to: 'COMPLETED' },
  revoke: { from: ['ACTIVE'], to: 'REVOKED' },
  fail: { from: ['PENDING_MANAGER_APPROVAL', 'PENDING_CUSTOMER_APPROVAL', 'APPROVED'], to: 'FAILED' },
} as const satisfies Record<string, { from: readonly Status[]; to: Status }>;
export type Action = keyof typeof TRANSITIONS;

export const isTerminal = (status: Status): boolean => TERMINAL_STATUSES.includes(status);

export const canApply = (action: Action, status: Status): boolean => (TRANSITIONS[action].from as readonly Status[]).includes(status);

/** The approval stage a pending status waits on, if any. */
export type Stage = 'manager' | 'customer';
export const STAGE_STATUS: Record<Stage, Status> = {
  manager: 'PENDING_MANAGER_APPROVAL',
  customer: 'PENDING_CUSTOMER_APPROVAL',
};
