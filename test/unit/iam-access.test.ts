import {
  AttachRolePolicyCommand,
  ConcurrentModificationException,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  IAMServiceException,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  ServiceFailureException,
  type Tag,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { IamAccessProvider, type RevokeStep, type StepOutcome } from '../../lambdas/core/adapters/iam-access';
import { config, ENV, resetConfig } from '../../lambdas/core/config';
import { ValidationError } from '../../lambdas/core/domain/errors';
import type { PolicyDocument } from '../../lambdas/core/domain/iam-policies';
import type { GrantInput } from '../../lambdas/core/ports';
import { ALICE, CAROL, demoTenant, pendingRequest } from '../support/fixtures';

const iam = mockClient(IAMClient);

const ACCOUNT = '111111111111';
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/lockbox/LockboxAccessBoundary`;
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const SUPPORT = 'arn:aws:iam::aws:policy/AWSSupportAccess';
const REQUEST_ID = 'req-0123456789abcdef0123456789abcdef';
const ROLE_NAME = `lockbox-${REQUEST_ID}`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/lockbox/${ROLE_NAME}`;
const NOW = new Date('2026-11-29T10:00:00.250Z');
const STARTS = '2026-11-29T10:00:00.250Z';
const EXPIRES = '2026-11-29T12:00:00.250Z';

const request = pendingRequest({ status: 'APPROVED', requestedBy: ALICE, accessLevel: 'ReadOnly' });
const tenant = demoTenant({
  accessTarget: { accountId: ACCOUNT, externalId: 'ext-demo-7f3e' },
  accessLevels: { ReadOnly: { managedPolicyArns: [READ_ONLY, SUPPORT] }, Empty: { managedPolicyArns: [] } },
});
const grantInput = (over: Partial<GrantInput> = {}): GrantInput => ({
  request,
  tenant,
  accessStartsAt: STARTS,
  accessExpiresAt: EXPIRES,
  ...over,
});

let sleeps: number[];
let now: Date;
const provider = (retry?: { attempts: number; baseDelayMs: number; maxDelayMs: number }) =>
  new IamAccessProvider(new IAMClient({ region: 'us-east-1' }), {
    boundaryArn: () => BOUNDARY,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    retry,
  });

const gone = () => new NoSuchEntityException({ message: `The role with name ${ROLE_NAME} cannot be found.`, $metadata: {} });
const busy = () => new ConcurrentModificationException({ message: 'Rate of concurrent modifications exceeded', $metadata: {} });
const invalidPrincipal = () =>
  new MalformedPolicyDocumentException({
    message: 'Invalid principal in policy: "AWS":"arn:aws:iam::111111111111:role/SupportEngineer"',
    $metadata: {},
  });
const throttled = () => new IAMServiceException({ name: 'Throttling', $fault: 'client', message: 'Rate exceeded', $metadata: {} });

/** The command names sent to IAM, in order. */
const sent = () => iam.calls().map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''));
const parsed = (document: string | undefined) => JSON.parse(document ?? 'null') as PolicyDocument;

beforeEach(() => {
  iam.reset();
  sleeps = [];
  now = NOW;
});

describe('IamAccessProvider.grant — a new role', () => {
  beforeEach(() => {
    iam
      .on(CreateRoleCommand)
      .resolves({ Role: { Arn: ROLE_ARN, RoleName: ROLE_NAME, Path: '/lockbox/', RoleId: 'AROA1', CreateDate: NOW } });
    iam.on(PutRolePolicyCommand).resolves({});
    iam.on(AttachRolePolicyCommand).resolves({});
  });

  it('creates the role, then the expiry deny, then attaches the level’s policies — in that order', async () => {
    await provider().grant(grantInput());
    expect(sent()).toEqual(['CreateRole', 'PutRolePolicy', 'AttachRolePolicy', 'AttachRolePolicy']);
  });

  it('creates lockbox-<requestId> under /lockbox/ with the boundary, a one-hour session cap and the tags', async () => {
    await provider().grant(grantInput());
    const [create] = iam.commandCalls(CreateRoleCommand);
    const input = create.args[0].input;
    expect(input.RoleName).toBe(ROLE_NAME);
    expect(input.Path).toBe('/lockbox/');
    expect(input.PermissionsBoundary).toBe(BOUNDARY);
    expect(input.MaxSessionDuration).toBe(3600);
    expect(input.Tags).toEqual([
      { Key: 'lockbox:request-id', Value: REQUEST_ID },
      { Key: 'lockbox:tenant', Value: 'demo' },
      { Key: 'lockbox:expires-at', Value: '2026-11-29T12:00:00Z' },
    ]);
  });

  it('writes a trust policy for the engineer role only, pinned condition by condition', async () => {
    await provider().grant(grantInput());
    const trust = parsed(iam.commandCalls(CreateRoleCommand)[0].args[0].input.AssumeRolePolicyDocument);
    expect(trust.Version).toBe('2012-10-17');
    expect(trust.Statement).toHaveLength(1);
    const [statement] = trust.Statement;
    expect(statement.Effect).toBe('Allow');
    expect(statement.Principal).toEqual({ AWS: `arn:aws:iam::${ACCOUNT}:role/SupportEngineer` });
    expect(statement.Action).toEqual(['sts:AssumeRole', 'sts:SetSourceIdentity']);
    const condition = statement.Condition ?? {};
    expect(Object.keys(condition)).toEqual(['StringEquals', 'DateGreaterThan', 'DateLessThan']);
    expect(condition.StringEquals['aws:PrincipalArn']).toBe(`arn:aws:iam::${ACCOUNT}:role/SupportEngineer`);
    expect(condition.StringEquals['sts:ExternalId']).toBe('ext-demo-7f3e');
    expect(condition.StringEquals['sts:SourceIdentity']).toBe('alice');
    expect(condition.StringEquals['sts:RoleSessionName']).toBe(REQUEST_ID);
    expect(Object.keys(condition.StringEquals)).toHaveLength(4);
    expect(condition.DateGreaterThan).toEqual({ 'aws:CurrentTime': '2026-11-29T10:00:01Z' });
    expect(condition.DateLessThan).toEqual({ 'aws:CurrentTime': '2026-11-29T12:00:00Z' });
  });

  it('trusts an IAM user requester by the user ARN itself', async () => {
    await provider().grant(grantInput({ request: { ...request, requestedBy: CAROL } }));
    const [statement] = parsed(iam.commandCalls(CreateRoleCommand)[0].args[0].input.AssumeRolePolicyDocument).Statement;
    expect(statement.Principal).toEqual({ AWS: CAROL });
    expect(statement.Condition?.StringEquals['aws:PrincipalArn']).toBe(CAROL);
    expect(statement.Condition?.StringEquals['sts:SourceIdentity']).toBe('carol');
  });

  it('puts an inline deny-all for any time after the window', async () => {
    await provider().grant(grantInput());
    const [put] = iam.commandCalls(PutRolePolicyCommand);
    expect(put.args[0].input.RoleName).toBe(ROLE_NAME);
    expect(put.args[0].input.PolicyName).toBe('lockbox-deny-after-expiry');
    const deny = parsed(put.args[0].input.PolicyDocument);
    expect(deny.Statement).toEqual([
      {
        Sid: 'DenyAllAfterAccessWindow',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateGreaterThan: { 'aws:CurrentTime': '2026-11-29T12:00:00Z' } },
      },
    ]);
  });

  it('attaches exactly the managed policies of the requested access level', async () => {
    await provider().grant(grantInput());
    expect(iam.commandCalls(AttachRolePolicyCommand).map((call) => call.args[0].input)).toEqual([
      { RoleName: ROLE_NAME, PolicyArn: READ_ONLY },
      { RoleName: ROLE_NAME, PolicyArn: SUPPORT },
    ]);
  });

  it('returns what the engineer needs, with an assume-role command for a one-hour session', async () => {
    const details = await provider().grant(grantInput());
    expect(details).toEqual({
      provider: 'iam',
      roleArn: ROLE_ARN,
      externalId: 'ext-demo-7f3e',
      roleSessionName: REQUEST_ID,
      sourceIdentity: 'alice',
      accessStartsAt: STARTS,
      accessExpiresAt: EXPIRES,
      maxSessionSeconds: 3600,
      assumeRoleCommand:
        `aws sts assume-role --role-arn ${ROLE_ARN} --role-session-name ${REQUEST_ID} --source-identity alice` +
        ' --external-id ext-demo-7f3e --duration-seconds 3600',
    });
  });

  it('asks for no longer a session than the window has left', async () => {
    const details = await provider().grant(grantInput({ accessExpiresAt: '2026-11-29T10:30:00.250Z' }));
    expect(details.assumeRoleCommand).toMatch(/--duration-seconds 1800$/);
  });
});

describe('IamAccessProvider.grant — refusals before any IAM call', () => {
  it.each([
    ['the tenant has no access target', { ...tenant, accessTarget: undefined }],
    ['the tenant has no external id', { ...tenant, accessTarget: { accountId: ACCOUNT } }],
    ['the external id is empty', { ...tenant, accessTarget: { accountId: ACCOUNT, externalId: '' } }],
  ])('refuses when %s', async (_why, withoutExternalId) => {
    await expect(provider().grant(grantInput({ tenant: withoutExternalId }))).rejects.toThrow(/external id/);
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses an access level with no managed policies, and an unknown one', async () => {
    await expect(provider().grant(grantInput({ request: { ...request, accessLevel: 'Empty' } }))).rejects.toThrow(ValidationError);
    await expect(provider().grant(grantInput({ request: { ...request, accessLevel: 'Admin' } }))).rejects.toThrow(ValidationError);
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses a requester that is no single IAM principal', async () => {
    const root = { ...request, requestedBy: `arn:aws:iam::${ACCOUNT}:root` };
    await expect(provider().grant(grantInput({ request: root }))).rejects.toThrow(ValidationError);
    expect(iam.calls()).toHaveLength(0);
  });

  it('refuses an empty window and a non-UTC timestamp', async () => {
    await expect(provider().grant(grantInput({ accessExpiresAt: STARTS }))).rejects.toThrow(ValidationError);
    await expect(provider().grant(grantInput({ accessExpiresAt: '2026-11-29T14:00:00+02:00' }))).rejects.toThrow(ValidationError);
    expect(iam.calls()).toHaveLength(0);
  });
});

describe('IamAccessProvider.grant — the role exists already', () => {
  beforeEach(() => {
    iam.on(CreateRoleCommand).rejects(new EntityAlreadyExistsException({ message: 'Role exists', $metadata: {} }));
    iam.on(GetRoleCommand).resolves({ Role: { Arn: ROLE_ARN, RoleName: ROLE_NAME, Path: '/lockbox/', RoleId: 'AROA1', CreateDate: NOW } });
    iam.on(GetRolePolicyCommand).rejects(new NoSuchEntityException({ message: 'no such policy', $metadata: {} }));
  });

  it('converges: same trust, boundary, session cap, tags, expiry deny and attachments', async () => {
    const details = await provider().grant(grantInput());
    expect(sent()).toEqual([
      'CreateRole',
      'GetRole',
      'GetRolePolicy',
      'UpdateAssumeRolePolicy',
      'PutRolePermissionsBoundary',
      'UpdateRole',
      'TagRole',
      'PutRolePolicy',
      'AttachRolePolicy',
      'AttachRolePolicy',
    ]);
    const created = iam.commandCalls(CreateRoleCommand)[0].args[0].input;
    expect(parsed(iam.commandCalls(UpdateAssumeRolePolicyCommand)[0].args[0].input.PolicyDocument)).toEqual(
      parsed(created.AssumeRolePolicyDocument),
    );
    expect(iam.commandCalls(GetRolePolicyCommand)[0].args[0].input.PolicyName).toBe('lockbox-deny-sessions-before-revoke');
    expect(iam.commandCalls(PutRolePermissionsBoundaryCommand)[0].args[0].input).toEqual({
      RoleName: ROLE_NAME,
      PermissionsBoundary: BOUNDARY,
    });
    expect(iam.commandCalls(UpdateRoleCommand)[0].args[0].input.MaxSessionDuration).toBe(3600);
    expect(iam.commandCalls(TagRoleCommand)[0].args[0].input.Tags).toEqual(created.Tags);
    expect(iam.commandCalls(PutRolePolicyCommand)[0].args[0].input.PolicyName).toBe('lockbox-deny-after-expiry');
    expect(details.roleArn).toBe(ROLE_ARN);
  });

  it('never reopens a role that a revoke has touched', async () => {
    iam.on(GetRolePolicyCommand).resolves({ RoleName: ROLE_NAME, PolicyName: 'lockbox-deny-sessions-before-revoke', PolicyDocument: '{}' });
    await expect(provider().grant(grantInput())).rejects.toThrow(/revoked/);
    expect(iam.commandCalls(UpdateAssumeRolePolicyCommand)).toHaveLength(0);
    expect(iam.commandCalls(AttachRolePolicyCommand)).toHaveLength(0);
  });
});

describe('IamAccessProvider.grant — wrong account', () => {
  it('stops before the role gets any permission when the credentials are not in the tenant’s account', async () => {
    iam.on(CreateRoleCommand).resolves({
      Role: { Arn: ROLE_ARN.replace(ACCOUNT, '999999999999'), RoleName: ROLE_NAME, Path: '/lockbox/', RoleId: 'AROA1', CreateDate: NOW },
    });
    await expect(provider().grant(grantInput())).rejects.toThrow(/account 111111111111.*account 999999999999/);
    expect(sent()).toEqual(['CreateRole']);
  });
});

describe('IamAccessProvider — eventual consistency retries', () => {
  beforeEach(() => {
    iam.on(PutRolePolicyCommand).resolves({});
    iam.on(AttachRolePolicyCommand).resolves({});
  });

  it('retries CreateRole while the new principal is not yet visible, with the very same trust policy', async () => {
    iam
      .on(CreateRoleCommand)
      .rejectsOnce(invalidPrincipal())
      .rejectsOnce(invalidPrincipal())
      .resolves({ Role: { Arn: ROLE_ARN, RoleName: ROLE_NAME, Path: '/lockbox/', RoleId: 'AROA1', CreateDate: NOW } });
    await provider().grant(grantInput());
    const documents = iam.commandCalls(CreateRoleCommand).map((call) => call.args[0].input.AssumeRolePolicyDocument);
    expect(documents).toHaveLength(3);
    expect(new Set(documents).size).toBe(1);
    expect(sleeps).toEqual([500, 1000]);
  });

  it('retries ConcurrentModification and throttling', async () => {
    iam
      .on(CreateRoleCommand)
      .resolves({ Role: { Arn: ROLE_ARN, RoleName: ROLE_NAME, Path: '/lockbox/', RoleId: 'AROA1', CreateDate: NOW } });
    iam.on(PutRolePolicyCommand).rejectsOnce(busy()).resolves({});
    iam.on(AttachRolePolicyCommand).rejectsOnce(throttled()).resolves({});
    await provider().grant(grantInput());
    expect(sent()).toEqual(['CreateRole', 'PutRolePolicy', 'PutRolePolicy', 'AttachRolePolicy', 'AttachRolePolicy', 'AttachRolePolicy']);
    expect(sleeps).toEqual([500, 500]);
  });

  it('gives up after the configured number of tries and throws the last error', async () => {
    iam.on(CreateRoleCommand).rejects(invalidPrincipal());
    await expect(provider().grant(grantInput())).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    expect(iam.commandCalls(CreateRoleCommand)).toHaveLength(6);
    expect(sleeps).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it('caps the delay and honours a custom bound', async () => {
    iam.on(CreateRoleCommand).rejects(busy());
    await expect(provider({ attempts: 4, baseDelayMs: 100, maxDelayMs: 250 }).grant(grantInput())).rejects.toBeInstanceOf(
      ConcurrentModificationException,
    );
    expect(iam.commandCalls(CreateRoleCommand)).toHaveLength(4);
    expect(sleeps).toEqual([100, 200, 250]);
  });

  it('does not retry a policy IAM rejects for another reason', async () => {
    iam.on(CreateRoleCommand).rejects(new MalformedPolicyDocumentException({ message: 'Syntax errors in policy.', $metadata: {} }));
    await expect(provider().grant(grantInput())).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    expect(iam.commandCalls(CreateRoleCommand)).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('retries revoke steps too, bounded', async () => {
    iam.on(UpdateAssumeRolePolicyCommand).rejects(busy());
    await expect(provider().revoke(request)).rejects.toBeInstanceOf(ConcurrentModificationException);
    expect(iam.commandCalls(UpdateAssumeRolePolicyCommand)).toHaveLength(6);
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });
});

describe('IamAccessProvider.revoke — the steps', () => {
  let steps: [RevokeStep, StepOutcome][];
  const record = (step: RevokeStep, outcome: StepOutcome) => steps.push([step, outcome]);

  beforeEach(() => {
    steps = [];
    iam.on(UpdateAssumeRolePolicyCommand).resolves({});
    iam.on(PutRolePolicyCommand).resolves({});
    iam.on(ListAttachedRolePoliciesCommand).resolves({
      AttachedPolicies: [
        { PolicyArn: READ_ONLY, PolicyName: 'ReadOnlyAccess' },
        { PolicyArn: SUPPORT, PolicyName: 'AWSSupportAccess' },
      ],
    });
    iam.on(DetachRolePolicyCommand).resolves({});
    iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: ['lockbox-deny-after-expiry', 'lockbox-deny-sessions-before-revoke'] });
    iam.on(DeleteRolePolicyCommand).resolves({});
    iam.on(DeleteRoleCommand).resolves({});
  });

  it('closes the trust, kills sessions, detaches, deletes inline policies, deletes the role — in that order', async () => {
    await provider().revoke(request, record);
    expect(sent()).toEqual([
      'UpdateAssumeRolePolicy',
      'PutRolePolicy',
      'ListAttachedRolePolicies',
      'DetachRolePolicy',
      'DetachRolePolicy',
      'ListRolePolicies',
      'DeleteRolePolicy',
      'DeleteRolePolicy',
      'DeleteRole',
    ]);
    expect(steps).toEqual([
      ['deny-trust', 'done'],
      ['revoke-sessions', 'done'],
      ['detach-managed-policies', 'done'],
      ['delete-inline-policies', 'done'],
      ['delete-role', 'done'],
    ]);
  });

  it('replaces the trust with a deny-all', async () => {
    await provider().revoke(request);
    const update = iam.commandCalls(UpdateAssumeRolePolicyCommand)[0].args[0].input;
    expect(update.RoleName).toBe(ROLE_NAME);
    const trust = parsed(update.PolicyDocument);
    expect(trust.Statement.filter((statement) => statement.Effect === 'Allow')).toEqual([]);
    expect(trust.Statement).toEqual([
      {
        Sid: 'AccessRevoked',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
      },
    ]);
  });

  it('denies every session issued up to the revoke', async () => {
    now = new Date('2026-11-29T11:15:30.400Z');
    await provider().revoke(request);
    const put = iam.commandCalls(PutRolePolicyCommand)[0].args[0].input;
    expect(put.PolicyName).toBe('lockbox-deny-sessions-before-revoke');
    expect(parsed(put.PolicyDocument).Statement).toEqual([
      {
        Sid: 'DenySessionsIssuedBeforeRevoke',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': '2026-11-29T11:15:31Z' } },
      },
    ]);
  });

  it('detaches and deletes exactly what IAM lists, across pages', async () => {
    iam
      .on(ListAttachedRolePoliciesCommand)
      .resolvesOnce({ AttachedPolicies: [{ PolicyArn: READ_ONLY }], IsTruncated: true, Marker: 'page-2' })
      .resolvesOnce({ AttachedPolicies: [{ PolicyArn: SUPPORT }], IsTruncated: false });
    await provider().revoke(request);
    expect(iam.commandCalls(ListAttachedRolePoliciesCommand).map((call) => call.args[0].input.Marker)).toEqual([undefined, 'page-2']);
    expect(iam.commandCalls(DetachRolePolicyCommand).map((call) => call.args[0].input.PolicyArn)).toEqual([READ_ONLY, SUPPORT]);
    expect(iam.commandCalls(DeleteRolePolicyCommand).map((call) => call.args[0].input.PolicyName)).toEqual([
      'lockbox-deny-after-expiry',
      'lockbox-deny-sessions-before-revoke',
    ]);
  });

  it.each<[string, () => void, RevokeStep]>([
    ['UpdateAssumeRolePolicy', () => iam.on(UpdateAssumeRolePolicyCommand).rejects(gone()), 'deny-trust'],
    ['PutRolePolicy', () => iam.on(PutRolePolicyCommand).rejects(gone()), 'revoke-sessions'],
    ['ListAttachedRolePolicies', () => iam.on(ListAttachedRolePoliciesCommand).rejects(gone()), 'detach-managed-policies'],
    ['ListRolePolicies', () => iam.on(ListRolePoliciesCommand).rejects(gone()), 'delete-inline-policies'],
    ['DeleteRole', () => iam.on(DeleteRoleCommand).rejects(gone()), 'delete-role'],
  ])('takes NoSuchEntity from %s as done already and goes on', async (_command, arrange, step) => {
    arrange();
    await provider().revoke(request, record);
    expect(steps.map(([name]) => name)).toEqual([
      'deny-trust',
      'revoke-sessions',
      'detach-managed-policies',
      'delete-inline-policies',
      'delete-role',
    ]);
    expect(steps.find(([name]) => name === step)).toEqual([step, 'already-done']);
    expect(steps.filter(([name]) => name !== step).every(([, outcome]) => outcome === 'done')).toBe(true);
  });

  it('goes on when one policy is already detached or deleted', async () => {
    iam.on(DetachRolePolicyCommand, { PolicyArn: READ_ONLY }).rejects(gone());
    iam.on(DeleteRolePolicyCommand, { PolicyName: 'lockbox-deny-after-expiry' }).rejects(gone());
    await provider().revoke(request, record);
    expect(iam.commandCalls(DetachRolePolicyCommand)).toHaveLength(2);
    expect(iam.commandCalls(DeleteRolePolicyCommand)).toHaveLength(2);
    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(1);
  });

  it('reports every step as already done when the role never existed', async () => {
    iam.reset();
    iam.onAnyCommand().rejects(gone());
    await provider().revoke(request, record);
    expect(steps).toEqual([
      ['deny-trust', 'already-done'],
      ['revoke-sessions', 'already-done'],
      ['detach-managed-policies', 'already-done'],
      ['delete-inline-policies', 'already-done'],
      ['delete-role', 'already-done'],
    ]);
    expect(iam.commandCalls(DetachRolePolicyCommand)).toHaveLength(0);
    expect(iam.commandCalls(DeleteRolePolicyCommand)).toHaveLength(0);
  });

  it('throws a real failure as IAM raised it, after reporting the steps that completed', async () => {
    iam.on(ListAttachedRolePoliciesCommand).rejects(new ServiceFailureException({ message: 'internal', $metadata: {} }));
    await expect(provider().revoke(request, record)).rejects.toBeInstanceOf(ServiceFailureException);
    expect(steps).toEqual([
      ['deny-trust', 'done'],
      ['revoke-sessions', 'done'],
    ]);
    expect(iam.commandCalls(DeleteRoleCommand)).toHaveLength(0);
  });
});

/**
 * A small in-memory IAM holding one account's roles, so repeats and partial failures are checked
 * against the state they leave, not only against the calls made.
 */
class FakeIam {
  readonly roles = new Map<string, { trust: string; boundary?: string; tags: Tag[]; attached: Set<string>; inline: Map<string, string> }>();
  private readonly failures = new Map<string, Error>();

  failOnce(command: string, error: Error) {
    this.failures.set(command, error);
  }

  install() {
    // Each call first fails if a failure was planted for it, then acts on the state.
    const guard =
      <I>(name: string, run: (input: I) => unknown) =>
      async (input: I) => {
        const failure = this.failures.get(name);
        if (failure) {
          this.failures.delete(name);
          throw failure;
        }
        return run(input);
      };
    const role = (name: string | undefined) => {
      const found = this.roles.get(name ?? '');
      if (!found) throw gone();
      return found;
    };
    const arn = (name: string | undefined) => `arn:aws:iam::${ACCOUNT}:role/lockbox/${name}`;

    iam.on(CreateRoleCommand).callsFake(
      guard('CreateRole', (input: CreateRoleCommand['input']) => {
        const name = input.RoleName ?? '';
        if (this.roles.has(name)) throw new EntityAlreadyExistsException({ message: 'exists', $metadata: {} });
        this.roles.set(name, {
          trust: input.AssumeRolePolicyDocument ?? '',
          boundary: input.PermissionsBoundary,
          tags: input.Tags ?? [],
          attached: new Set(),
          inline: new Map(),
        });
        return { Role: { Arn: arn(input.RoleName), RoleName: input.RoleName } };
      }),
    );
    iam.on(GetRoleCommand).callsFake(
      guard('GetRole', (input: GetRoleCommand['input']) => {
        role(input.RoleName);
        return { Role: { Arn: arn(input.RoleName), RoleName: input.RoleName } };
      }),
    );
    iam.on(GetRolePolicyCommand).callsFake(
      guard('GetRolePolicy', (input: GetRolePolicyCommand['input']) => {
        const document = role(input.RoleName).inline.get(input.PolicyName ?? '');
        if (!document) throw gone();
        return { PolicyDocument: document };
      }),
    );
    iam.on(UpdateAssumeRolePolicyCommand).callsFake(
      guard('UpdateAssumeRolePolicy', (input: UpdateAssumeRolePolicyCommand['input']) => {
        role(input.RoleName).trust = input.PolicyDocument ?? '';
        return {};
      }),
    );
    iam.on(PutRolePermissionsBoundaryCommand).callsFake(
      guard('PutRolePermissionsBoundary', (input: PutRolePermissionsBoundaryCommand['input']) => {
        role(input.RoleName).boundary = input.PermissionsBoundary;
        return {};
      }),
    );
    iam.on(UpdateRoleCommand).callsFake(guard('UpdateRole', (input: UpdateRoleCommand['input']) => (role(input.RoleName), {})));
    iam.on(TagRoleCommand).callsFake(
      guard('TagRole', (input: TagRoleCommand['input']) => {
        role(input.RoleName).tags = input.Tags ?? [];
        return {};
      }),
    );
    iam.on(PutRolePolicyCommand).callsFake(
      guard('PutRolePolicy', (input: PutRolePolicyCommand['input']) => {
        role(input.RoleName).inline.set(input.PolicyName ?? '', input.PolicyDocument ?? '');
        return {};
      }),
    );
    iam.on(AttachRolePolicyCommand).callsFake(
      guard('AttachRolePolicy', (input: AttachRolePolicyCommand['input']) => {
        role(input.RoleName).attached.add(input.PolicyArn ?? '');
        return {};
      }),
    );
    iam.on(ListAttachedRolePoliciesCommand).callsFake(
      guard('ListAttachedRolePolicies', (input: ListAttachedRolePoliciesCommand['input']) => ({
        AttachedPolicies: [...role(input.RoleName).attached].map((PolicyArn) => ({ PolicyArn })),
      })),
    );
    iam.on(DetachRolePolicyCommand).callsFake(
      guard('DetachRolePolicy', (input: DetachRolePolicyCommand['input']) => {
        if (!role(input.RoleName).attached.delete(input.PolicyArn ?? '')) throw gone();
        return {};
      }),
    );
    iam
      .on(ListRolePoliciesCommand)
      .callsFake(
        guard('ListRolePolicies', (input: ListRolePoliciesCommand['input']) => ({ PolicyNames: [...role(input.RoleName).inline.keys()] })),
      );
    iam.on(DeleteRolePolicyCommand).callsFake(
      guard('DeleteRolePolicy', (input: DeleteRolePolicyCommand['input']) => {
        if (!role(input.RoleName).inline.delete(input.PolicyName ?? '')) throw gone();
        return {};
      }),
    );
    iam.on(DeleteRoleCommand).callsFake(
      guard('DeleteRole', (input: DeleteRoleCommand['input']) => {
        const found = role(input.RoleName);
        // IAM refuses to delete a role that still has policies.
        if (found.attached.size > 0 || found.inline.size > 0) {
          throw new IAMServiceException({ name: 'DeleteConflict', $fault: 'client', message: 'must detach first', $metadata: {} });
        }
        this.roles.delete(input.RoleName ?? '');
        return {};
      }),
    );
  }
}

describe('IamAccessProvider — repeats and partial failures against IAM state', () => {
  let fake: FakeIam;
  let steps: [RevokeStep, StepOutcome][];
  const record = (step: RevokeStep, outcome: StepOutcome) => steps.push([step, outcome]);

  beforeEach(() => {
    fake = new FakeIam();
    fake.install();
    steps = [];
  });

  it('a repeated grant converges on one role with the same trust, boundary and policies', async () => {
    const first = await provider().grant(grantInput());
    const afterFirst = structuredClone(fake.roles.get(ROLE_NAME));
    const second = await provider().grant(grantInput());
    expect(second).toEqual(first);
    expect(fake.roles.size).toBe(1);
    expect(fake.roles.get(ROLE_NAME)).toEqual(afterFirst);
    expect([...(afterFirst?.attached ?? [])]).toEqual([READ_ONLY, SUPPORT]);
    expect([...(afterFirst?.inline.keys() ?? [])]).toEqual(['lockbox-deny-after-expiry']);
    expect(afterFirst?.boundary).toBe(BOUNDARY);
  });

  it('revokes without any boundary configuration (only grant reads it)', async () => {
    await provider().grant(grantInput());
    const revokeOnly = new IamAccessProvider(new IAMClient({ region: 'us-east-1' }), {
      boundaryArn: () => {
        throw new Error('ACCESS_BOUNDARY_ARN is not set');
      },
      now: () => now,
      sleep: async () => undefined,
    });
    await revokeOnly.revoke(request);
    expect(fake.roles.size).toBe(0);
  });

  it('revokes fully without a step callback too', async () => {
    await provider().grant(grantInput());
    await provider().revoke(request);
    expect(fake.roles.size).toBe(0);
  });

  it('grant then revoke leaves nothing; a second revoke finds everything done', async () => {
    await provider().grant(grantInput());
    await provider().revoke(request, record);
    expect(fake.roles.size).toBe(0);
    steps = [];
    await provider().revoke(request, record);
    expect(steps.every(([, outcome]) => outcome === 'already-done')).toBe(true);
    expect(steps).toHaveLength(5);
  });

  it.each([
    'UpdateAssumeRolePolicy',
    'PutRolePolicy',
    'ListAttachedRolePolicies',
    'DetachRolePolicy',
    'ListRolePolicies',
    'DeleteRolePolicy',
    'DeleteRole',
  ])('a revoke that failed at %s completes when run again', async (failing) => {
    await provider().grant(grantInput());
    fake.failOnce(failing, new ServiceFailureException({ message: 'internal', $metadata: {} }));
    await expect(provider().revoke(request)).rejects.toBeInstanceOf(ServiceFailureException);
    expect(fake.roles.has(ROLE_NAME)).toBe(true);

    await provider().revoke(request, record);
    expect(fake.roles.size).toBe(0);
    expect(steps.map(([step]) => step)).toEqual([
      'deny-trust',
      'revoke-sessions',
      'detach-managed-policies',
      'delete-inline-policies',
      'delete-role',
    ]);
  });

  it('a revoke that failed after step 2 left the role closed and every old session denied', async () => {
    await provider().grant(grantInput());
    fake.failOnce('ListAttachedRolePolicies', new ServiceFailureException({ message: 'internal', $metadata: {} }));
    await expect(provider().revoke(request, record)).rejects.toBeInstanceOf(ServiceFailureException);
    expect(steps).toEqual([
      ['deny-trust', 'done'],
      ['revoke-sessions', 'done'],
    ]);
    const left = fake.roles.get(ROLE_NAME);
    expect(parsed(left?.trust).Statement.every((statement) => statement.Effect === 'Deny')).toBe(true);
    expect(left?.inline.has('lockbox-deny-sessions-before-revoke')).toBe(true);
    expect(left?.inline.has('lockbox-deny-after-expiry')).toBe(true);

    steps = [];
    await provider().revoke(request, record);
    expect(fake.roles.size).toBe(0);
    expect(steps).toEqual([
      ['deny-trust', 'done'],
      ['revoke-sessions', 'done'],
      ['detach-managed-policies', 'done'],
      ['delete-inline-policies', 'done'],
      ['delete-role', 'done'],
    ]);
  });

  it('a grant retried after a partial revoke does not reopen the role', async () => {
    await provider().grant(grantInput());
    fake.failOnce('ListAttachedRolePolicies', new ServiceFailureException({ message: 'internal', $metadata: {} }));
    await expect(provider().revoke(request)).rejects.toBeInstanceOf(ServiceFailureException);
    const trustAfterRevoke = fake.roles.get(ROLE_NAME)?.trust;

    await expect(provider().grant(grantInput())).rejects.toThrow(/revoked/);
    expect(fake.roles.get(ROLE_NAME)?.trust).toBe(trustAfterRevoke);
  });

  it('a grant that failed half-way (after CreateRole) converges when run again', async () => {
    fake.failOnce('AttachRolePolicy', new ServiceFailureException({ message: 'internal', $metadata: {} }));
    await expect(provider().grant(grantInput())).rejects.toBeInstanceOf(ServiceFailureException);
    expect(fake.roles.get(ROLE_NAME)?.attached.size).toBe(0);

    await provider().grant(grantInput());
    expect([...(fake.roles.get(ROLE_NAME)?.attached ?? [])]).toEqual([READ_ONLY, SUPPORT]);
    expect([...(fake.roles.get(ROLE_NAME)?.inline.keys() ?? [])]).toEqual(['lockbox-deny-after-expiry']);
  });
});

describe('ACCESS_BOUNDARY_ARN', () => {
  afterEach(() => {
    delete process.env[ENV.accessBoundaryArn];
    resetConfig();
  });

  it('is read as an IAM policy ARN', () => {
    process.env[ENV.accessBoundaryArn] = BOUNDARY;
    expect(config.accessBoundaryArn()).toBe(BOUNDARY);
  });

  it('fails loudly when missing or not a policy ARN', () => {
    expect(() => config.accessBoundaryArn()).toThrow(/ACCESS_BOUNDARY_ARN is not set/);
    process.env[ENV.accessBoundaryArn] = `arn:aws:iam::${ACCOUNT}:role/NotAPolicy`;
    expect(() => config.accessBoundaryArn()).toThrow(/ACCESS_BOUNDARY_ARN is not valid/);
  });
});
