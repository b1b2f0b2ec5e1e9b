import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ENV } from '../../lambdas/core/config';
import { Lockbox } from '../../lib/lockbox';
import { LockboxTarget } from '../../lib/target';

/** Lockbox in account 111111111111 granting in member account 333333333333, which has a LockboxTarget. */
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const home = new Stack(app, 'Home', { env: { account: '111111111111', region: 'eu-west-1' } });
const memberStack = new Stack(app, 'Member', { env: { account: '333333333333', region: 'eu-west-1' } });
const lockbox = new Lockbox(home, 'Lockbox', {
  prefix: 'support',
  providerAccount: '222222222222',
  engineers: [{ principal: 'arn:aws:iam::222222222222:user/erin', email: 'erin@provider.example' }],
  managers: [{ principal: 'arn:aws:iam::222222222222:user/mallory', email: 'mallory@provider.example' }],
  email: { sender: 'lockbox@provider.example' },
  targetAccounts: ['333333333333'],
});
const target = new LockboxTarget(memberStack, 'Target', { lockboxAccount: '111111111111', prefix: lockbox.prefix });
let homeTemplate: Template;
let memberTemplate: Template;

beforeAll(() => {
  homeTemplate = Template.fromStack(home);
  memberTemplate = Template.fromStack(memberStack);
}, 120_000);

const logicalId = (stack: Stack, construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const homeResources = () => homeTemplate.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
const statementsOfRole = (roleId: string) =>
  Object.values(homeResources())
    .filter(
      (resource) => resource.Type === 'AWS::IAM::Policy' && resource.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
const assumes = (name: keyof typeof lockbox.functions) =>
  statementsOfRole(logicalId(home, lockbox.functions[name].role)).filter((statement) =>
    [statement.Action].flat().includes('sts:AssumeRole'),
  );

describe('LockboxTarget in a member account', () => {
  it('creates the boundary under the same name and path as in Lockbox’s account', () => {
    memberTemplate.hasResourceProperties('AWS::IAM::ManagedPolicy', { ManagedPolicyName: 'support-AccessBoundary', Path: '/lockbox/' });
  });

  it('lets only Lockbox’s account assume its role, and only roles tagged with the Lockbox’s prefix', () => {
    const trust = memberTemplate.toJSON().Resources[logicalId(memberStack, target.role)].Properties.AssumeRolePolicyDocument.Statement[0];
    expect(JSON.stringify(trust.Principal)).toContain(':iam::111111111111:root');
    expect(trust.Condition).toEqual({ StringEquals: { 'aws:PrincipalTag/lockbox:deployment': 'support' } });
  });

  it('lets its role create access roles only under /lockbox/, with the member account’s boundary and Lockbox’s tags', () => {
    memberTemplate.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'iam:CreateRole',
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::333333333333:role/lockbox/*']] },
            Condition: Match.objectLike({ StringEquals: { 'iam:PermissionsBoundary': memberStack.resolve(target.accessBoundary.arn) } }),
          }),
        ]),
      },
    });
  });

  it('keeps access roles away from its own role: the boundary denies it', () => {
    const boundary =
      memberTemplate.toJSON().Resources[logicalId(memberStack, target.accessBoundary.policy)].Properties.PolicyDocument.Statement;
    const denied = boundary.find((statement: { Sid: string }) => statement.Sid === 'DenyLockboxIamEntities');
    expect(JSON.stringify(denied.Resource)).toContain(':role/lockbox-target/support-AccessTarget');
  });

  it('needs no cdk-nag acknowledgement beyond those it makes', () => {
    expect(new AwsSolutionsChecks().validateScope(memberStack).violations).toEqual([]);
  });
});

describe('Lockbox with target accounts', () => {
  it('lets exactly its access-provider functions assume the target role, which they find in ACCESS_TARGETS', () => {
    for (const name of ['apiRequests', 'grant', 'revoke', 'close', 'reconcile'] as const) {
      expect(JSON.stringify(assumes(name))).toContain(':iam::333333333333:role/lockbox-target/support-AccessTarget');
      const variables = homeResources()[logicalId(home, lockbox.functions[name].fn)].Properties.Environment.Variables;
      expect(JSON.stringify(variables[ENV.accessTargets])).toContain('333333333333');
    }
    for (const name of ['apiTenants', 'apiApprovals', 'notify', 'expire'] as const) expect(assumes(name)).toEqual([]);
  });

  it('tags the access-provider roles with its prefix, which the target’s trust requires', () => {
    const tags = homeResources()[logicalId(home, lockbox.functions.grant.role)].Properties.Tags;
    expect(tags).toEqual(expect.arrayContaining([{ Key: 'lockbox:deployment', Value: 'support' }]));
    expect(homeResources()[logicalId(home, lockbox.functions.notify.role)].Properties.Tags).toBeUndefined();
  });

  it('needs no cdk-nag acknowledgement beyond those it makes, in a stack with a known account', () => {
    expect(new AwsSolutionsChecks().validateScope(home).violations).toEqual([]);
  });
});
