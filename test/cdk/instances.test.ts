import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { Lockbox, type LockboxProps } from '../../lib/lockbox';

/** Two Lockbox instances in one stack, in the China partition: one with defaults, one with every option. */
const people: LockboxProps = {
  providerAccount: '111111111111',
  engineers: [{ principal: 'arn:aws-cn:sts::111111111111:assumed-role/SupportEngineer/erin', email: 'erin@provider.example' }],
  managers: [{ principal: 'arn:aws-cn:iam::111111111111:user/mallory', email: 'mallory@provider.example' }],
  email: { sender: 'lockbox@provider.example' },
  tenants: [
    {
      tenantId: 'acme',
      displayName: 'Acme',
      approvers: [{ email: 'alice@acme.example' }],
      admins: ['arn:aws-cn:iam::222222222222:user/bob'],
      customerAccounts: ['222222222222'],
      accessLevels: { 'read-only': { managedPolicyArns: ['arn:aws-cn:iam::aws:policy/ReadOnlyAccess'] } },
    },
  ],
};
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new Stack(app, 'Shared');
const dataKey = new kms.Key(stack, 'MyDataKey', { enableKeyRotation: true });
const logKey = new kms.Key(stack, 'MyLogKey', { enableKeyRotation: true });
const pager = new sns.Topic(stack, 'Pager', { masterKey: dataKey, enforceSSL: true });
const first = new Lockbox(stack, 'TeamA', people);
const second = new Lockbox(stack, 'TeamB', {
  ...people,
  prefix: 'team-b',
  encryptionKey: dataKey,
  logEncryptionKey: logKey,
  alarmTopic: pager,
  logRetentionDays: 30,
  memorySize: 1024,
  timeouts: { api: 20, workflow: 120, reconciler: 200 },
  removalPolicy: 'destroy',
  tags: { 'cost-center': 'support' },
});
let template: Template;
let resources: Record<string, { Type: string; Properties: any; DeletionPolicy?: string }>;

beforeAll(() => {
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, 120_000);

const logicalId = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const propertiesOf = (construct: IConstruct) => resources[logicalId(construct)].Properties;
const ofType = (type: string) => Object.values(resources).filter((resource) => resource.Type === type);
/** A name as text, with each reference standing in as `{}`. */
const text = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '{}')).join('');

describe('two Lockbox instances in one stack', () => {
  it.each([
    ['AWS::StepFunctions::StateMachine', 'StateMachineName'],
    ['AWS::IAM::ManagedPolicy', 'ManagedPolicyName'],
    ['AWS::CloudWatch::Alarm', 'AlarmName'],
    ['AWS::Logs::LogGroup', 'LogGroupName'],
  ])('give every %s its own %s', (type, property) => {
    const names = ofType(type).map((resource) => text(resource.Properties[property]));
    expect(names.length).toBeGreaterThan(1);
    expect(new Set(names).size).toBe(names.length);
  });

  it('derive default names from the construct path, and use the prefix when given', () => {
    expect(first.prefix).toMatch(/^Shared-TeamA-[0-9A-F]{8}$/);
    expect(propertiesOf(first.stateMachine).StateMachineName).toBe(`${first.prefix}-AccessRequest`);
    expect(propertiesOf(second.stateMachine).StateMachineName).toBe('team-b-AccessRequest');
    expect(propertiesOf(second.accessBoundary.policy).ManagedPolicyName).toBe('team-b-AccessBoundary');
  });

  it('make no account-wide API Gateway settings unless asked to', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('write no partition into the template: every ARN they build uses AWS::Partition', () => {
    expect(JSON.stringify(template.toJSON())).not.toMatch(/arn:aws:/);
  });

  it('need no cdk-nag acknowledgement beyond those they make', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});

describe('the options of a Lockbox', () => {
  it('encrypts the tables with the key it is given, and creates none of its own', () => {
    for (const table of [second.requestsTable, second.tenantsTable, second.auditTable]) {
      expect(propertiesOf(table).SSESpecification.KMSMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalId(dataKey), 'Arn'] });
    }
    expect(second.data.node.tryFindChild('DataKey')).toBeUndefined();
  });

  it('encrypts every log group of the instance with the log key, which CloudWatch Logs may use', () => {
    const groups = ofType('AWS::Logs::LogGroup').filter((group) => text(group.Properties.LogGroupName).includes('team-b'));
    expect(groups.length).toBeGreaterThanOrEqual(11);
    for (const group of groups) expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalId(logKey), 'Arn'] });
    expect(JSON.stringify(propertiesOf(logKey).KeyPolicy)).toContain('logs.');
  });

  it('keeps logs for the retention it is given', () => {
    const groups = ofType('AWS::Logs::LogGroup').filter((group) => text(group.Properties.LogGroupName).includes('team-b'));
    expect(new Set(groups.map((group) => group.Properties.RetentionInDays))).toEqual(new Set([30]));
  });

  it('gives every function the memory, and each kind of function the timeout, it is given', () => {
    const fns = second.functions;
    expect(Object.values(fns).map((fn) => propertiesOf(fn.fn).MemorySize)).toEqual(Array(Object.keys(fns).length).fill(1024));
    expect([fns.apiRequests, fns.notify, fns.reconcile].map((fn) => propertiesOf(fn.fn).Timeout)).toEqual([20, 120, 200]);
  });

  it('lets a test deployment be destroyed: tables without deletion protection, deleted with the stack', () => {
    const table = resources[logicalId(second.requestsTable)];
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    expect(resources[logicalId(first.requestsTable)].DeletionPolicy).toBe('Retain');
  });

  it('sends alarms to the topic it is given', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'team-b-ExecutionsFailed',
      AlarmActions: [{ Ref: logicalId(pager) }],
    });
  });

  it('tags what it creates', () => {
    expect(propertiesOf(second.requestsTable).Tags).toEqual([{ Key: 'cost-center', Value: 'support' }]);
    expect(propertiesOf(second.functions.grant.fn).Tags).toEqual(expect.arrayContaining([{ Key: 'cost-center', Value: 'support' }]));
    expect(propertiesOf(first.requestsTable).Tags).toBeUndefined();
  });
});

describe('the API Gateway CloudWatch role, opted in', () => {
  it('is created only when apiGatewayCloudWatchRole is true', () => {
    const other = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'OptIn');
    new Lockbox(other, 'Lockbox', { ...people, apiGatewayCloudWatchRole: true });
    Template.fromStack(other).resourceCountIs('AWS::ApiGateway::Account', 1);
  }, 60_000);
});
