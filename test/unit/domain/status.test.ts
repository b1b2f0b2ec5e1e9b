import {
  type Action,
  canApply,
  isTerminal,
  STATUSES,
  type Status,
  TERMINAL_STATUSES,
  TRANSITIONS,
} from '../../../lambdas/core/domain/status';

const ALLOWED: Record<Action, Status[]> = {
  managerApprove: ['PENDING_MANAGER_APPROVAL'],
  managerReject: ['PENDING_MANAGER_APPROVAL'],
  customerApprove: ['PENDING_CUSTOMER_APPROVAL'],
  customerDeny: ['PENDING_CUSTOMER_APPROVAL'],
  expire: ['PENDING_MANAGER_APPROVAL', 'PENDING_CUSTOMER_APPROVAL'],
  cancel: ['PENDING_MANAGER_APPROVAL', 'PENDING_CUSTOMER_APPROVAL', 'APPROVED'],
  grant: ['APPROVED'],
  complete: ['ACTIVE'],
  revoke: ['ACTIVE'],
  fail: ['PENDING_MANAGER_APPROVAL', 'PENDING_CUSTOMER_APPROVAL', 'APPROVED'],
};

describe('status transitions', () => {
  const cases = (Object.keys(ALLOWED) as Action[]).flatMap((action) =>
    STATUSES.map((status) => [action, status, ALLOWED[action].includes(status)] as const),
  );

  it.each(cases)('%s from %s allowed: %s', (action, status, allowed) => {
    expect(canApply(action, status)).toBe(allowed);
  });

  it('never leaves a terminal status', () => {
    for (const status of TERMINAL_STATUSES) {
      for (const action of Object.keys(TRANSITIONS) as Action[]) expect(canApply(action, status)).toBe(false);
    }
  });

  it('leads from DENIED, EXPIRED or CANCELLED nowhere, so never to ACTIVE', () => {
    const reachable = (from: Status): Set<Status> => {
      const seen = new Set<Status>();
      const walk = (status: Status) => {
        for (const action of Object.keys(TRANSITIONS) as Action[]) {
          const to = TRANSITIONS[action].to;
          if (canApply(action, status) && !seen.has(to)) {
            seen.add(to);
            walk(to);
          }
        }
      };
      walk(from);
      return seen;
    };
    for (const status of ['DENIED', 'EXPIRED', 'CANCELLED'] as Status[]) expect(reachable(status).has('ACTIVE')).toBe(false);
    expect(reachable('PENDING_MANAGER_APPROVAL').has('ACTIVE')).toBe(true);
  });

  it('names exactly the terminal statuses of docs/design.md §1', () => {
    expect(STATUSES.filter(isTerminal).sort()).toEqual(['CANCELLED', 'COMPLETED', 'DENIED', 'EXPIRED', 'FAILED', 'REJECTED', 'REVOKED']);
  });
});
