import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ENV } from '../../lambdas/core/config';
import { parseConfig } from '../../lib/config';
import { LockboxStack } from '../../lib/lockbox-stack';

/** The optional settings: existing alarm topic, WAF, custom link URL, created domain identity, key rotation, no tenants. */
const config = parseConfig(
  {
    providerAccount: '111111111111',
    engineers: [{ principal: 'arn:aws:iam::111111111111:user/erin' }],
    managers: [{ principal: 'arn:aws:iam::111111111111:user/mallory', email: 'mallory@provider.example' }],
    email: { sender: 'lockbox@provider.example', identity: 'provider.example', createIdentity: true },
    alarms: { topicArn: 'arn:aws:sns:eu-west-1:111111111111:pager', email: 'oncall@provider.example' },
    linkBaseUrl: 'https://lockbox.provider.example',
    linkKeyIds: ['k1', 'k2'],
    apiPrincipals: ['arn:aws:iam::333333333333:role/CustomerApprover'],
    webAclArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/lockbox/0123',
  },
  'test',
);
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new LockboxStack(app, 'Options', { config });
const { lockbox } = stack;
let template: Template;

beforeAll(() => {
  template = Template.fromStack(stack);
}, 120_000);

const logicalId = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const environmentOf = (construct: IConstruct): Record<string, unknown> =>
  template.toJSON().Resources[logicalId(construct)].Properties.Environment.Variables;

describe('Lockbox with its optional settings', () => {
  it('signs new links with the last key id and still verifies with every listed key', () => {
    const { notify, apiApprovals } = lockbox.functions;
    expect(environmentOf(notify.fn)[ENV.linkCurrentKey]).toBe('k2');
    expect(JSON.stringify(environmentOf(notify.fn)[ENV.linkKmsKeys])).not.toContain(logicalId(lockbox.linkKeys.k1));
    const verifying = JSON.stringify(environmentOf(apiApprovals.fn)[ENV.linkKmsKeys]);
    expect(verifying).toContain(logicalId(lockbox.linkKeys.k1));
    expect(verifying).toContain(logicalId(lockbox.linkKeys.k2));
  });

  it('uses the configured public base URL for approval links', () => {
    expect(environmentOf(lockbox.functions.notify.fn)[ENV.linkBaseUrl]).toBe('https://lockbox.provider.example');
  });

  it('sends alarms to the existing topic, subscribing the email to it', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      AlarmActions: ['arn:aws:sns:eu-west-1:111111111111:pager'],
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: 'arn:aws:sns:eu-west-1:111111111111:pager',
      Endpoint: 'oncall@provider.example',
    });
  });

  it('associates the web ACL with the API stage', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/lockbox/0123',
    });
  });

  it('creates the SES domain identity when asked to', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'provider.example' });
  });

  it('lets the extra API principals through the resource policy', () => {
    const policy = JSON.stringify(template.toJSON().Resources[logicalId(lockbox.api)].Properties.Policy);
    expect(policy).toContain('arn:aws:iam::333333333333:role/CustomerApprover');
  });

  it('seeds nothing when no tenants are configured', () => {
    template.resourceCountIs('Custom::AWS', 0);
  });

  it('needs no cdk-nag acknowledgement beyond those it makes', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});
