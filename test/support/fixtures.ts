import { personKeys } from '../../lambdas/core/domain/principals';
import type { AccessRequest } from '../../lambdas/core/domain/request';
import type { Tenant } from '../../lambdas/core/domain/tenant';

/** The personas of local mode, shared by tests. */
export const ALICE = 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/alice';
export const DAVE = 'arn:aws:sts::111111111111:assumed-role/SupportEngineer/dave';
export const BOB = 'arn:aws:sts::111111111111:assumed-role/SupportManager/bob';
export const CAROL = 'arn:aws:iam::222222222222:user/carol';
export const ERIN = 'arn:aws:iam::222222222222:user/erin';

export const DIRECTORY = {
  engineers: [
    { principal: ALICE, email: 'alice@provider.example', sessionNameSetBy: 'idp' as const },
    { principal: DAVE, email: 'dave@provider.example', sessionNameSetBy: 'idp' as const },
  ],
  managers: [{ principal: BOB, email: 'bob@provider.example', sessionNameSetBy: 'idp' as const }],
};

export const demoTenant = (over: Partial<Tenant> = {}): Tenant => ({
  tenantId: 'demo',
  displayName: 'Demo Corp',
  lockboxEnabled: true,
  approvers: [
    { email: 'approver@demo.example', principal: CAROL },
    { email: 'approver2@demo.example', principal: ERIN },
  ],
  admins: [CAROL],
  auditors: [],
  maxAccessDuration: 'PT4H',
  approvalTimeout: 'PT12H',
  accessLevels: { ReadOnly: { description: 'Read-only' } },
  accessTarget: { accountId: '222222222222' },
  version: 1,
  ...over,
});

export const pendingRequest = (over: Partial<AccessRequest> = {}): AccessRequest => ({
  requestId: 'req-0123456789abcdef0123456789abcdef',
  tenantId: 'demo',
  ticketId: 'T-42',
  justification: 'Investigate failing backups',
  accessLevel: 'ReadOnly',
  duration: 'PT1H',
  requestedBy: ALICE,
  status: 'PENDING_MANAGER_APPROVAL',
  createdAt: '2026-11-29T10:00:00.000Z',
  version: 1,
  parties: personKeys({ principal: ALICE, emails: ['alice@provider.example'], entry: { sessionNameSetBy: 'idp' } }),
  timeouts: { managerSeconds: 43200, customerSeconds: 43200 },
  ...over,
});

/** The audit events of a request that ran its whole course to COMPLETED, in order. */
export const COMPLETED_LIFECYCLE_EVENTS = [
  'RequestCreated',
  'ManagersNotified',
  'ManagerApproved',
  'CustomerNotified',
  'CustomerApproved',
  'AccessGranted',
  'AccessRevoked',
];
