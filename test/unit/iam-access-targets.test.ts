import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { IamAccessProvider, type RevokeStep, type StepOutcome } from '../../lambdas/core/adapters/iam-access';
import { ALICE, demoTenant, pendingRequest } from '../support/fixtures';

/** The iam provider across accounts: Lockbox in 111111111111, a member account 333333333333 with a LockboxTarget. */
const HOME = '111111111111';
const MEMBER = '333333333333';
const TARGET_ROLE = `arn:aws:iam::${MEMBER}:role/lockbox-target/Lockbox-AccessTarget`;
const BOUNDARY = `arn:aws:iam::${HOME}:policy/lockbox/Lockbox-AccessBoundary`;
const REQUEST_ID = 'req-0123456789abcdef0123456789abcdef';
const ROLE_NAME = `lockbox-${REQUEST_ID}`;
const NOW = new Date('2026-11-29T10:00:00.250Z');

const homeIam = new IAMClient({ region: 'us-east-1' });
const memberIam = new IAMClient({ region: 'us-east-1' });
const home = mockClient(homeIam);
const member = mockClient(memberIam);
let assumed: string[];

const provider = () =>
  new IamAccessProvider(homeIam, {
    boundaryArn: () => BOUNDARY,
    now: () => NOW,
    sleep: async () => undefined,
    targets: () => ({ [MEMBER]: TARGET_ROLE }),
    clientAs: (roleArn) => {
      assumed.push(roleArn);
      return memberIam;
    },
  });

const request = pendingRequest({ requestId: REQUEST_ID, status: 'APPROVED', requestedBy: ALICE, accessLevel: 'ReadOnly' });
const tenantIn = (accountId: string) =>
  demoTenant({
    accessTarget: { accountId, externalId: 'ext-demo-7f3e' },
    accessLevels: { ReadOnly: { managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] } },
  });
const grant = (accountId: string) =>
  provider().grant({
    request,
    tenant: tenantIn(accountId),
    accessStartsAt: '2026-11-29T10:00:00.250Z',
    accessExpiresAt: '2026-11-29T12:00:00.250Z',
  });
const gone = () => new NoSuchEntityException({ message: 'gone', $metadata: {} });
const sent = (mock: typeof home) => mock.calls().map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''));

/** Every revoke call answers "already gone". */
const nothingThere = (mock: typeof home) => {
  mock.on(UpdateAssumeRolePolicyCommand).rejects(gone());
  mock.on(PutRolePolicyCommand).rejects(gone());
  mock.on(DeleteRoleCommand).rejects(gone());
  mock.on(ListAttachedRolePoliciesCommand).rejects(gone());
  mock.on(ListRolePoliciesCommand).rejects(gone());
};

beforeEach(() => {
  home.reset();
  member.reset();
  assumed = [];
});

describe('IamAccessProvider across accounts', () => {
  it('creates the role of a member-account tenant in that account, through its target role, with the boundary there', async () => {
    member.on(CreateRoleCommand).resolves({
      Role: {
        Arn: `arn:aws:iam::${MEMBER}:role/lockbox/${ROLE_NAME}`,
        RoleName: ROLE_NAME,
        Path: '/lockbox/',
        RoleId: 'AROA1',
        CreateDate: NOW,
      },
    });
    member.on(PutRolePolicyCommand).resolves({});
    member.on(AttachRolePolicyCommand).resolves({});
    const details = await grant(MEMBER);
    expect(assumed).toEqual([TARGET_ROLE]);
    expect(sent(home)).toEqual([]);
    expect(member.commandCalls(CreateRoleCommand)[0].args[0].input.PermissionsBoundary).toBe(
      `arn:aws:iam::${MEMBER}:policy/lockbox/Lockbox-AccessBoundary`,
    );
    expect(details.roleArn).toBe(`arn:aws:iam::${MEMBER}:role/lockbox/${ROLE_NAME}`);
  });

  it('keeps a tenant of Lockbox’s own account in that account, assuming nothing', async () => {
    home.on(CreateRoleCommand).resolves({
      Role: {
        Arn: `arn:aws:iam::${HOME}:role/lockbox/${ROLE_NAME}`,
        RoleName: ROLE_NAME,
        Path: '/lockbox/',
        RoleId: 'AROA1',
        CreateDate: NOW,
      },
    });
    home.on(PutRolePolicyCommand).resolves({});
    home.on(AttachRolePolicyCommand).resolves({});
    await grant(HOME);
    expect(assumed).toEqual([]);
    expect(home.commandCalls(CreateRoleCommand)[0].args[0].input.PermissionsBoundary).toBe(BOUNDARY);
    expect(sent(member)).toEqual([]);
  });

  it('assumes a target role once per account, however many calls follow', async () => {
    nothingThere(member);
    const once = provider();
    const granted = { ...request, access: { roleArn: `arn:aws:iam::${MEMBER}:role/lockbox/${ROLE_NAME}` } };
    await once.revoke(granted);
    await once.revoke(granted);
    expect(assumed).toEqual([TARGET_ROLE]);
  });

  it('revokes a granted role in the account of its ARN only', async () => {
    member.on(UpdateAssumeRolePolicyCommand).resolves({});
    member.on(PutRolePolicyCommand).resolves({});
    member.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }] });
    member.on(DetachRolePolicyCommand).resolves({});
    member.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    member.on(DeleteRoleCommand).resolves({});
    await provider().revoke({ ...request, access: { roleArn: `arn:aws:iam::${MEMBER}:role/lockbox/${ROLE_NAME}` } });
    expect(sent(member)).toEqual([
      'UpdateAssumeRolePolicy',
      'PutRolePolicy',
      'ListAttachedRolePolicies',
      'DetachRolePolicy',
      'ListRolePolicies',
      'DeleteRole',
    ]);
    expect(sent(home)).toEqual([]);
  });

  it('revokes a grant that failed before recording its role in every account, a step done where it was done', async () => {
    nothingThere(home);
    member.on(UpdateAssumeRolePolicyCommand).resolves({});
    member.on(PutRolePolicyCommand).resolves({});
    member.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    member.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
    member.on(DeleteRoleCommand).resolves({});
    const steps: [RevokeStep, StepOutcome][] = [];
    await provider().revoke(request, (step, outcome) => steps.push([step, outcome]));
    expect(sent(home)).toContain('DeleteRole');
    expect(sent(member)).toContain('DeleteRole');
    expect(steps).toEqual([
      ['deny-trust', 'done'],
      ['revoke-sessions', 'done'],
      ['detach-managed-policies', 'already-done'],
      ['delete-inline-policies', 'already-done'],
      ['delete-role', 'done'],
    ]);
  });

  it('sweeps Lockbox’s account and every member account for roles past their window', async () => {
    const role = (name: string) => ({
      RoleName: name,
      Path: '/lockbox/',
      Arn: `arn:aws:iam::x:role/lockbox/${name}`,
      RoleId: 'AROA1',
      CreateDate: NOW,
    });
    const tags = (requestId: string, expiresAt: string) => ({
      Tags: [
        { Key: 'lockbox:request-id', Value: requestId },
        { Key: 'lockbox:expires-at', Value: expiresAt },
      ],
    });
    home.on(ListRolesCommand).resolves({ Roles: [role('lockbox-home')] });
    home.on(ListRoleTagsCommand).resolves(tags('home', '2026-11-29T09:00:00Z'));
    member.on(ListRolesCommand).resolves({ Roles: [role('lockbox-member'), role('lockbox-live')] });
    member.on(ListRoleTagsCommand, { RoleName: 'lockbox-member' }).resolves(tags('member', '2026-11-29T09:59:00Z'));
    member.on(ListRoleTagsCommand, { RoleName: 'lockbox-live' }).resolves(tags('live', '2026-11-29T11:00:00Z'));
    expect((await provider().listExpired(NOW.getTime())).sort()).toEqual(['home', 'member']);
    expect(member.commandCalls(ListRolesCommand)[0].args[0].input.PathPrefix).toBe('/lockbox/');
  });
});
