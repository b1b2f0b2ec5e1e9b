import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditEvent } from '../../lambdas/core/domain/audit';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lambdas/core/domain/errors';
import { issueLinkToken, linkTokenHash } from '../../lambdas/core/domain/link-token';
import type { Directory } from '../../lambdas/core/domain/principals';
import type { Tenant } from '../../lambdas/core/domain/tenant';
import { createRequestBody, tenantBody } from '../../lambdas/core/http/schemas';
import { cancelRequest, decideAsCustomer, decideAsManager } from '../../lambdas/core/usecases/decisions';
import { decideByLink } from '../../lambdas/core/usecases/links';
import { createRequest, getRequest } from '../../lambdas/core/usecases/requests';
import { getTenant, listAudit, revokeAccess, settingsView, updateTenant } from '../../lambdas/core/usecases/tenants';
import { grantAccess, openStage } from '../../lambdas/core/usecases/workflow-steps';
import { ALICE, BOB, CAROL, DAVE, DIRECTORY, demoTenant, ERIN } from '../support/fixtures';
import { dynamoDbLocalPerFile, type TableNames } from '../support/tables';
import { type Harness, linkIn } from '../support/use-case-deps';

/**
 * People, not principals (docs/design.md §3a), and the authorization threats T-5.x of the security notes,
 * on the real use cases and real DynamoDB Local tables. Each test names the threat it covers.
 */
jest.setTimeout(60_000);

const db = dynamoDbLocalPerFile();
let h: Harness;
let tableNames: TableNames;

beforeEach(async () => {
  ({ h, tables: tableNames } = await db.fresh('p', demoTenant()));
});

const body = { tenantId: 'demo', ticketId: 'T-9', justification: 'Look at the failing job', accessLevel: 'ReadOnly', duration: 'PT1H' };
const stored = async (requestId: string) =>
  (await db.doc.send(new GetCommand({ TableName: tableNames.requests, Key: { requestId } }))).Item!;

/** Mallory holds two principals of the provider: an IdP-named engineer session and a manager session. */
const MALLORY_ENGINEER = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_SupportEngineer_0123456789abcdef/mallory';
const MALLORY_MANAGER = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_SupportManager_fedcba9876543210/mallory';
/** The same person through a role declared "session name set by the IdP", session named by email. */
const MALLORY_SAML_ENGINEER = 'arn:aws:sts::111111111111:assumed-role/SupportEngineerSaml/mallory@provider.example';
const MALLORY_SAML_MANAGER = 'arn:aws:sts::111111111111:assumed-role/SupportManager/mallory';

const withMallory = (): Directory => ({
  engineers: [
    ...DIRECTORY.engineers,
    { principal: 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_SupportEngineer_0123456789abcdef/*' },
    { principal: 'arn:aws:sts::111111111111:assumed-role/SupportEngineerSaml/*', sessionNameSetBy: 'idp' },
  ],
  managers: [
    ...DIRECTORY.managers,
    { principal: MALLORY_MANAGER, email: 'mallory.m@provider.example' },
    { principal: MALLORY_SAML_MANAGER, email: 'mallory@provider.example' },
  ],
});

async function managerStage(principal = ALICE) {
  const { request } = await createRequest(h.deps, { principal }, body);
  await openStage(h.deps, request.requestId, 'manager', 'tt-manager');
  return request.requestId;
}

async function customerStage(principal = ALICE, manager = BOB) {
  const requestId = await managerStage(principal);
  await decideAsManager(h.deps, { principal: manager }, requestId, { decision: 'APPROVE' });
  await openStage(h.deps, requestId, 'customer', 'tt-customer');
  return requestId;
}

async function auditOf(): Promise<AuditEvent[]> {
  return (await listAudit(h.deps, { principal: CAROL }, 'demo', { limit: 100 })).items;
}

const settingsOf = async () => {
  const { tenantId: _id, ...settings } = settingsView((await h.deps.tenants.get('demo'))!);
  return settings as Omit<Tenant, 'tenantId' | 'auditSeq' | 'auditHead'>;
};

/**
 * A link for `email` at the request's open stage, signed with the deployment's key and made valid
 * for the stage as if it had been sent. Lockbox never sends one to a party of the request; this
 * proves the decision's own conditional write refuses it anyway.
 */
async function linkAsIfSent(requestId: string, stage: 'manager' | 'customer', email: string): Promise<string> {
  const item = await stored(requestId);
  const token = await issueLinkToken(h.deps.signer, { requestId, stage, email, expiresAtMs: item.approvalDeadlineMs });
  await db.doc.send(
    new UpdateCommand({
      TableName: tableNames.requests,
      Key: { requestId },
      UpdateExpression: 'SET linkHashes = list_append(linkHashes, :h)',
      ExpressionAttributeValues: { ':h': [linkTokenHash(token)] },
    }),
  );
  return token;
}

describe('T-5.1 the requester approves their own request', () => {
  it('is refused at the manager stage by API; no link is sent to them; a link made for them is refused too', async () => {
    h.deps.directory = { ...DIRECTORY, managers: [...DIRECTORY.managers, { principal: ALICE, email: 'alice@provider.example' }] };
    const requestId = await managerStage();
    await expect(decideAsManager(h.deps, { principal: ALICE }, requestId, { decision: 'APPROVE' })).rejects.toThrow(ForbiddenError);
    expect(h.outbox.map((email) => email.to[0])).toEqual(['bob@provider.example']);
    const link = await linkAsIfSent(requestId, 'manager', 'alice@provider.example');
    await expect(decideByLink(h.deps, link, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'not-allowed' });
    expect((await stored(requestId)).status).toBe('PENDING_MANAGER_APPROVAL');
    expect((await auditOf()).at(-1)).toMatchObject({ type: 'LinkRefused', requestId });
  });

  it('is refused at the customer stage by API and by link, even with the requester stored as an approver by hand', async () => {
    await h.seedTenant(demoTenant({ approvers: [...demoTenant().approvers, { email: 'alice@provider.example', principal: ALICE }] }));
    const requestId = await customerStage();
    await expect(decideAsCustomer(h.deps, { principal: ALICE }, requestId, { decision: 'APPROVE' })).rejects.toThrow(ForbiddenError);
    expect(h.outbox.filter((email) => email.to[0] === 'alice@provider.example' && email.text.includes('/approvals/'))).toHaveLength(0);
    const link = await linkAsIfSent(requestId, 'customer', 'alice@provider.example');
    await expect(decideByLink(h.deps, link, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'not-allowed' });
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
  });
});

describe('T-5.2 the same person is manager and customer approver', () => {
  it('is refused by API and by link when a manager was stored as an approver by hand', async () => {
    await h.seedTenant(demoTenant({ approvers: [{ email: 'bob@provider.example', principal: BOB }, ...demoTenant().approvers] }));
    const requestId = await customerStage();
    await expect(decideAsCustomer(h.deps, { principal: BOB }, requestId, { decision: 'APPROVE' })).rejects.toThrow(ForbiddenError);
    const link = await linkAsIfSent(requestId, 'customer', 'bob@provider.example');
    await expect(decideByLink(h.deps, link, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'not-allowed' });
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
  });

  it('cannot be set up through PUT /tenants (see T-5.10)', async () => {
    const settings = await settingsOf();
    await expect(
      updateTenant(h.deps, { principal: CAROL }, 'demo', {
        ...settings,
        approvers: [...settings.approvers, { email: 'approver3@demo.example', principal: BOB }],
      }),
    ).rejects.toThrow(ValidationError);
  });
});

describe('T-5.3 step skipping: the customer stage before the manager stage', () => {
  it('is refused by API, and no customer link exists before the manager approved', async () => {
    const requestId = await managerStage();
    await expect(decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' })).rejects.toThrow(ConflictError);
    expect(h.outbox.every((email) => email.to[0] === 'bob@provider.example')).toBe(true);
    // Even a write that skipped the use case's check names the status it expects.
    const request = (await h.deps.requests.get(requestId))!;
    await expect(
      h.deps.requests.transition({
        request: { ...request, status: 'PENDING_CUSTOMER_APPROVAL' },
        action: 'customerApprove',
        set: {},
        audit: { type: 'CustomerApproved', actor: { kind: 'approver', id: CAROL } },
        nowMs: h.clock.now().getTime(),
      }),
    ).rejects.toThrow(ConflictError);
    expect((await stored(requestId)).status).toBe('PENDING_MANAGER_APPROVAL');
  });

  it('a manager link used at the customer stage is refused (cross-stage)', async () => {
    const requestId = await managerStage();
    const managerLink = linkIn(h.outbox[0]);
    await decideAsManager(h.deps, { principal: BOB }, requestId, { decision: 'APPROVE' });
    await openStage(h.deps, requestId, 'customer', 'tt-customer');
    await expect(decideByLink(h.deps, managerLink, { decision: 'APPROVE' })).resolves.toMatchObject({ ok: false });
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
  });
});

describe("T-5.4 IDOR: an approver acts on another tenant's request", () => {
  it('is refused for decisions, revoke and reads; their own link cannot be pointed at another request', async () => {
    await h.seedTenant(
      demoTenant({
        tenantId: 'other',
        approvers: [{ email: 'ops@other.example', principal: 'arn:aws:iam::333333333333:user/olga' }],
        admins: ['arn:aws:iam::333333333333:user/olga'],
        accessTarget: { accountId: '333333333333' },
      }),
    );
    const demoRequest = await customerStage();
    const { request: otherRequest } = await createRequest(h.deps, { principal: DAVE }, { ...body, tenantId: 'other' });

    await expect(decideAsCustomer(h.deps, { principal: CAROL }, otherRequest.requestId, { decision: 'APPROVE' })).rejects.toThrow(
      ForbiddenError,
    );
    await expect(getRequest(h.deps, { principal: CAROL }, otherRequest.requestId)).rejects.toThrow(ForbiddenError);
    await expect(getTenant(h.deps, { principal: CAROL }, 'other')).rejects.toThrow(ForbiddenError);
    await expect(revokeAccess(h.deps, { principal: CAROL }, otherRequest.requestId, {})).rejects.toThrow(ForbiddenError);

    // Carol's genuine link for the demo request, with the request id swapped: the MAC no longer verifies.
    const carolLink = linkIn(h.outbox.find((email) => email.to[0] === 'approver@demo.example')!);
    const [payload, mac] = carolLink.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const swapped = `${Buffer.from(JSON.stringify({ ...claims, rid: otherRequest.requestId })).toString('base64url')}.${mac}`;
    await expect(decideByLink(h.deps, swapped, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'invalid' });
    expect((await stored(otherRequest.requestId)).customerDecision).toBeUndefined();
    expect((await stored(demoRequest)).status).toBe('PENDING_CUSTOMER_APPROVAL');
  });

  it('an unknown request id is NOT_FOUND, not a hint', async () => {
    await expect(
      decideAsCustomer(h.deps, { principal: CAROL }, 'req-00000000000000000000000000000000', { decision: 'APPROVE' }),
    ).rejects.toThrow(NotFoundError);
  });
});

describe('T-5.5 mass assignment', () => {
  it.each([
    ['status', { status: 'ACTIVE' }],
    ['approver', { approver: CAROL }],
    ['expiry', { expiry: '2030-01-01T00:00:00Z' }],
    ['durationHours', { durationHours: 24 }],
    ['requester', { requester: DAVE }],
    ['requestedBy', { requestedBy: DAVE }],
    ['parties', { parties: [] }],
  ])('a create body setting %s is refused', (_field, extra) => {
    expect(createRequestBody.safeParse({ ...body, ...extra }).success).toBe(false);
  });

  it('a tenant body setting the chain head, id or version of another tenant is refused', () => {
    const settings = { ...settingsView(demoTenant()), tenantId: undefined };
    for (const extra of [{ auditSeq: 0 }, { auditHead: '0'.repeat(64) }, { tenantId: 'other' }]) {
      expect(tenantBody.safeParse({ ...settings, ...extra }).success).toBe(false);
    }
  });

  it('the stored request takes its requester, status and window from the server, never the body', async () => {
    const { request } = await createRequest(
      h.deps,
      { principal: ALICE },
      { ...body, ...({ status: 'ACTIVE', requestedBy: DAVE } as object) },
    );
    expect(await stored(request.requestId)).toMatchObject({ status: 'PENDING_MANAGER_APPROVAL', requestedBy: ALICE });
  });
});

describe('T-5.7 an approver removed after the email went out', () => {
  it('is refused by link and by API; the remaining approver still decides', async () => {
    const requestId = await customerStage();
    const erinLink = linkIn(h.outbox.find((email) => email.to[0] === 'approver2@demo.example')!);
    const settings = await settingsOf();
    await updateTenant(h.deps, { principal: CAROL }, 'demo', {
      ...settings,
      approvers: [{ email: 'approver@demo.example', principal: CAROL }],
    });
    await expect(decideByLink(h.deps, erinLink, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'not-allowed' });
    await expect(decideAsCustomer(h.deps, { principal: ERIN }, requestId, { decision: 'APPROVE' })).rejects.toThrow(ForbiddenError);
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
    await expect(decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' })).resolves.toMatchObject({
      status: 'APPROVED',
    });
  });

  it('a provider person left in a tenant item from before the rule is refused at decision time and sent no link', async () => {
    await h.seedTenant(demoTenant({ approvers: [{ email: 'dave@provider.example', principal: DAVE }, ...demoTenant().approvers] }));
    const requestId = await customerStage();
    expect(h.outbox.filter((email) => email.to[0] === 'dave@provider.example')).toHaveLength(0);
    await expect(decideAsCustomer(h.deps, { principal: DAVE }, requestId, { decision: 'APPROVE' })).rejects.toThrow(
      "Only the customer's own people may decide",
    );
  });
});

describe('T-5.9 one person, two principals', () => {
  beforeEach(() => {
    h.deps.directory = withMallory();
  });

  it('requester and manager through two IAM Identity Center roles (same session name): refused by API', async () => {
    const requestId = await managerStage(MALLORY_ENGINEER);
    await expect(decideAsManager(h.deps, { principal: MALLORY_MANAGER }, requestId, { decision: 'APPROVE' })).rejects.toThrow(
      'Separation of duties: you already acted on this request',
    );
    expect((await stored(requestId)).status).toBe('PENDING_MANAGER_APPROVAL');
    await expect(decideAsManager(h.deps, { principal: BOB }, requestId, { decision: 'APPROVE' })).resolves.toMatchObject({
      status: 'PENDING_CUSTOMER_APPROVAL',
    });
  });

  it('requester and manager: no link is sent to her manager self, and one made for it is refused', async () => {
    const requestId = await managerStage(MALLORY_ENGINEER);
    expect(h.outbox.map((email) => email.to[0]).sort()).toEqual(['bob@provider.example', 'mallory@provider.example']);
    const link = await linkAsIfSent(requestId, 'manager', 'mallory.m@provider.example');
    await expect(decideByLink(h.deps, link, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'not-allowed' });
    expect((await stored(requestId)).status).toBe('PENDING_MANAGER_APPROVAL');
  });

  it('requester through an IdP-named session (her email), manager through the entry that carries that email: refused by API and link', async () => {
    const requestId = await managerStage(MALLORY_SAML_ENGINEER);
    await expect(decideAsManager(h.deps, { principal: MALLORY_SAML_MANAGER }, requestId, { decision: 'APPROVE' })).rejects.toThrow(
      ForbiddenError,
    );
    expect(h.outbox.map((email) => email.to[0]).sort()).toEqual(['bob@provider.example', 'mallory.m@provider.example']);
    const link = await linkAsIfSent(requestId, 'manager', 'mallory@provider.example');
    await expect(decideByLink(h.deps, link, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'not-allowed' });
    expect((await stored(requestId)).status).toBe('PENDING_MANAGER_APPROVAL');
  });

  it('manager and customer approver: the manager signs in as an approver of the customer (same verified email); refused by API and link', async () => {
    // A contractor who is the customer's approver and holds a provider manager session named by her IdP.
    const contractor = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_SupportManager_fedcba9876543210/kim@demo.example';
    h.deps.directory = {
      ...withMallory(),
      managers: [...withMallory().managers, { principal: contractor, email: 'kim.provider@provider.example' }],
    };
    const settings = await settingsOf();
    await updateTenant(h.deps, { principal: CAROL }, 'demo', {
      ...settings,
      approvers: [...settings.approvers, { email: 'kim@demo.example', principal: 'arn:aws:iam::222222222222:user/kim' }],
    });
    const requestId = await customerStage(ALICE, contractor);
    expect(h.outbox.filter((email) => email.to[0] === 'kim@demo.example')).toHaveLength(0);
    await expect(
      decideAsCustomer(h.deps, { principal: 'arn:aws:iam::222222222222:user/kim' }, requestId, { decision: 'APPROVE' }),
    ).rejects.toThrow(ForbiddenError);
    await expect(
      decideAsCustomer(
        h.deps,
        { principal: 'console', signIn: { issuer: 'https://idp.demo.example', subject: 'kim', email: 'KIM@demo.example', groups: [] } },
        requestId,
        { decision: 'APPROVE' },
      ),
    ).rejects.toThrow(ForbiddenError);
    const link = await linkAsIfSent(requestId, 'customer', 'kim@demo.example');
    await expect(decideByLink(h.deps, link, { decision: 'APPROVE' })).resolves.toEqual({ ok: false, refusal: 'not-allowed' });
    expect((await stored(requestId)).status).toBe('PENDING_CUSTOMER_APPROVAL');
  });

  it('audit actors carry the person key, the same for both principals of one person', async () => {
    const requestId = await managerStage(MALLORY_SAML_ENGINEER);
    await decideAsManager(h.deps, { principal: BOB }, requestId, { decision: 'APPROVE' });
    await openStage(h.deps, requestId, 'customer', 'tt-customer');
    await decideAsCustomer(h.deps, { principal: CAROL }, requestId, { decision: 'APPROVE' });
    await grantAccess(h.deps, requestId);
    await revokeAccess(h.deps, { principal: ERIN }, requestId, {});
    const actors = Object.fromEntries((await auditOf()).map((event) => [event.type, event.actor]));
    expect(actors.RequestCreated).toEqual({ kind: 'engineer', id: MALLORY_SAML_ENGINEER, person: 'email:mallory@provider.example' });
    expect(actors.ManagerApproved).toEqual({ kind: 'manager', id: BOB, person: 'email:bob@provider.example' });
    expect(actors.CustomerApproved).toEqual({ kind: 'approver', id: CAROL, person: 'email:approver@demo.example' });
    expect(actors.AccessRevoked).toEqual({ kind: 'approver', id: ERIN, person: 'email:approver2@demo.example' });
    expect((await stored(requestId)).parties).toEqual(
      expect.arrayContaining([
        'email:mallory@provider.example',
        `principal:${MALLORY_SAML_ENGINEER}`,
        'email:bob@provider.example',
        'email:approver@demo.example',
      ]),
    );
  });

  it('cancel is still the requesting principal only', async () => {
    const requestId = await managerStage(MALLORY_ENGINEER);
    await expect(cancelRequest(h.deps, { principal: MALLORY_MANAGER }, requestId)).rejects.toThrow(ForbiddenError);
    await expect(cancelRequest(h.deps, { principal: MALLORY_ENGINEER }, requestId)).resolves.toMatchObject({ status: 'CANCELLED' });
    expect((await auditOf()).at(-1)?.actor).toEqual({ kind: 'engineer', id: MALLORY_ENGINEER, person: 'idp-user:mallory' });
  });
});

describe('T-5.10 a provider principal made a customer approver, admin or auditor through tenant settings', () => {
  const refusedWith = async (change: (settings: Awaited<ReturnType<typeof settingsOf>>) => object, field: string) => {
    const settings = await settingsOf();
    const error = await updateTenant(h.deps, { principal: CAROL }, 'demo', { ...settings, ...change(settings) } as never).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).toJSON()).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    expect((error as ValidationError).statusCode).toBe(400);
    expect((await h.deps.tenants.get('demo'))?.version).toBe(settings.version);
  };

  it.each([
    [
      'an engineer principal as approver',
      (s: any) => ({ approvers: [...s.approvers, { email: 'x@demo.example', principal: ALICE }] }),
      'approvers[2].principal',
    ],
    ['a manager email as approver', (s: any) => ({ approvers: [{ email: 'BOB@provider.example' }, ...s.approvers] }), 'approvers[0].email'],
    [
      'a principal of the provider account as approver',
      (s: any) => ({ approvers: [...s.approvers, { email: 'y@demo.example', principal: 'arn:aws:iam::111111111111:user/yves' }] }),
      'approvers[2].principal',
    ],
    ['an engineer as admin', (s: any) => ({ admins: [...s.admins, DAVE] }), 'admins[1]'],
    ['a manager as auditor', (_s: any) => ({ auditors: [BOB] }), 'auditors[0]'],
    ['an engineer sign-in email as auditor', (_s: any) => ({ auditors: ['alice@provider.example'] }), 'auditors[0]'],
    [
      "a principal of an account that is not the tenant's",
      (_s: any) => ({ auditors: ['arn:aws:iam::333333333333:user/olga'] }),
      'auditors[0]',
    ],
    [
      'the provider account named as a customer account',
      (_s: any) => ({ customerAccounts: ['111111111111', '222222222222'], auditors: ['arn:aws:iam::111111111111:user/yves'] }),
      'auditors[0]',
    ],
  ])('refuses %s with 400 VALIDATION_FAILED naming the field, changing nothing', async (_case, change, field) => {
    await refusedWith(change, field);
    expect((await auditOf()).filter((event) => event.type === 'TenantUpdated')).toHaveLength(0);
  });

  it('accepts customer principals of its accounts and sign-in emails, which then act', async () => {
    const settings = await settingsOf();
    await updateTenant(h.deps, { principal: CAROL }, 'demo', {
      ...settings,
      customerAccounts: ['222222222222', '444444444444'],
      approvers: [...settings.approvers, { email: 'sam@demo.example', principal: 'arn:aws:sts::444444444444:assumed-role/Approver/sam' }],
      auditors: ['audit@demo.example'],
      admins: [...settings.admins, 'admin@demo.example'],
    });
    const signedIn = (email: string) => ({
      principal: 'console',
      signIn: { issuer: 'https://idp.demo.example', subject: email, email, groups: [] },
    });
    await expect(listAudit(h.deps, signedIn('Audit@demo.example'), 'demo', { limit: 5 })).resolves.toMatchObject({
      items: expect.any(Array),
    });
    await expect(getTenant(h.deps, signedIn('admin@demo.example'), 'demo')).resolves.toMatchObject({ tenantId: 'demo' });
    await expect(getTenant(h.deps, signedIn('audit@demo.example'), 'demo')).rejects.toThrow(ForbiddenError);
    const requestId = await customerStage();
    await expect(
      decideAsCustomer(h.deps, { principal: 'arn:aws:sts::444444444444:assumed-role/Approver/sam' }, requestId, { decision: 'APPROVE' }),
    ).resolves.toMatchObject({ status: 'APPROVED' });
  });
});
