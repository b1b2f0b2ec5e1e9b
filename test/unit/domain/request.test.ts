import { identityKeys, matchesPrincipal } from '../../../lambdas/core/domain/principals';
import { type AccessRequest, isSeparate, stageIsOpen, toView } from '../../../lambdas/core/domain/request';

const DEADLINE = Date.UTC(2026, 10, 29, 12, 0, 0);

const request = (over: Partial<AccessRequest> = {}): AccessRequest => ({
  requestId: 'req-1',
  tenantId: 'demo',
  ticketId: 'T-1',
  justification: 'fix it',
  accessLevel: 'ReadOnly',
  duration: 'PT1H',
  requestedBy: 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice',
  status: 'PENDING_CUSTOMER_APPROVAL',
  createdAt: '2026-11-29T00:00:00.000Z',
  version: 3,
  parties: identityKeys('arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice', 'alice@provider.example'),
  timeouts: { managerSeconds: 60, customerSeconds: 60 },
  openStage: 'customer',
  taskToken: 'secret-task-token',
  approvalDeadlineMs: DEADLINE,
  approvalDeadline: new Date(DEADLINE).toISOString(),
  linkHashes: ['abc'],
  access: { roleArn: 'arn:aws:iam::222222222222:role/lockbox/x' },
  ...over,
});

describe('approval deadlines', () => {
  it('is open 1 ms before the deadline and closed at it and after', () => {
    expect(stageIsOpen(request(), 'customer', DEADLINE - 1)).toBe(true);
    expect(stageIsOpen(request(), 'customer', DEADLINE)).toBe(false);
    expect(stageIsOpen(request(), 'customer', DEADLINE + 1)).toBe(false);
  });

  it('is open from the write that entered it, before the notify step attached a token; closed for the other stage', () => {
    expect(stageIsOpen(request({ taskToken: undefined }), 'customer', DEADLINE - 1000)).toBe(true);
    expect(stageIsOpen(request({ openStage: undefined }), 'customer', DEADLINE - 1000)).toBe(false);
    expect(stageIsOpen(request(), 'manager', DEADLINE - 1000)).toBe(false);
  });
});

describe('separation of duties', () => {
  it('refuses the requester by principal or by email, in any letter case', () => {
    expect(isSeparate(request(), identityKeys('arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice', undefined))).toBe(false);
    expect(isSeparate(request(), identityKeys(undefined, 'Alice@Provider.example'))).toBe(false);
  });

  it('accepts someone who has not acted', () => {
    expect(isSeparate(request(), identityKeys('arn:aws:iam::222222222222:user/carol', 'approver@demo.example'))).toBe(true);
  });
});

describe('principal patterns', () => {
  it('matches an exact ARN or a prefix ending in *', () => {
    const role = 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/*';
    expect(matchesPrincipal(role, 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice')).toBe(true);
    expect(matchesPrincipal(role, 'arn:aws:sts::111111111111:assumed-role/SupportManager/bob')).toBe(false);
    expect(matchesPrincipal('arn:aws:iam::1:user/a', 'arn:aws:iam::1:user/ab')).toBe(false);
  });
});

describe('the API view of a request', () => {
  it('never carries task tokens, link hashes or other server-only fields', () => {
    const view = toView(request({ activeUntil: 5 }), { isRequester: true }) as Record<string, unknown>;
    for (const key of [
      'taskToken',
      'linkHashes',
      'parties',
      'timeouts',
      'openStage',
      'approvalDeadlineMs',
      'activeUntil',
      'idempotencyKey',
    ]) {
      expect(view).not.toHaveProperty(key);
    }
    expect(JSON.stringify(view)).not.toContain('secret-task-token');
    expect(view.approvalDeadline).toBe(new Date(DEADLINE).toISOString());
  });

  it('shows the access details only to the requester', () => {
    expect(toView(request(), { isRequester: true })).toHaveProperty('access');
    expect(toView(request(), { isRequester: false })).not.toHaveProperty('access');
  });
});
