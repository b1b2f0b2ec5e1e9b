import { App, Stack, Token } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ConfigError } from '../../lib/config';
import { Lockbox, type LockboxProps } from '../../lib/lockbox';

/** The least a Lockbox needs. */
const minimal: LockboxProps = {
  providerAccount: '111111111111',
  engineers: [{ principal: 'arn:aws:iam::111111111111:role/SupportEngineer' }],
  managers: [{ principal: 'arn:aws:iam::111111111111:user/mallory', email: 'mallory@provider.example' }],
  email: { sender: 'lockbox@provider.example' },
};

const newStack = () => new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Props');

/** The message `new Lockbox` throws for these props (and that it throws a ConfigError). */
function refusal(props: LockboxProps, stack = newStack()): string {
  try {
    new Lockbox(stack, 'Lockbox', props);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the props were accepted');
}

describe('Lockbox props validation', () => {
  it('refuses a duration cap beyond the limit, with the config file’s message naming the prop', () => {
    expect(refusal({ ...minimal, durations: { floor: 'PT5H', cap: 'PT99H' } })).toBe(
      'Lockbox props of Props/Lockbox are not valid:\n  - durations.cap: must be at most PT12H',
    );
  });

  it('refuses a floor longer than the cap', () => {
    expect(refusal({ ...minimal, durations: { floor: 'PT5H', cap: 'PT2H' } })).toContain(
      '  - durations.floor: must not be longer than durations.cap (PT2H)',
    );
  });

  it('lists every problem, each by its prop', () => {
    const message = refusal({ ...minimal, providerAccount: '42', memorySize: 64, timeouts: { api: 60 }, prefix: '9lives' });
    expect(message).toContain('  - providerAccount: must be a 12-digit AWS account id');
    expect(message).toContain('  - memorySize: must be at least 128');
    expect(message).toContain('  - timeouts.api: must be at most 29 (API Gateway waits at most 29 s)');
    expect(message).toContain('  - prefix: must start with a letter');
  });

  it('refuses a prop it does not know (a JavaScript caller’s typo)', () => {
    expect(refusal({ ...minimal, linkKeyId: ['k1'] } as LockboxProps)).toContain('  - linkKeyId: is not a known key');
  });

  it('refuses alarmTopic together with alarms.topicArn', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Pager');
    expect(refusal({ ...minimal, alarmTopic: topic, alarms: { topicArn: 'arn:aws:sns:eu-west-1:111111111111:pager' } }, stack)).toContain(
      '  - alarmTopic: give alarmTopic or alarms.topicArn, not both',
    );
  });

  it('refuses a retention CloudWatch Logs does not offer', () => {
    expect(refusal({ ...minimal, logRetentionDays: 42 })).toContain('  - logRetentionDays: must be one of 1, 3, 5');
  });

  it('accepts a token where a literal would be judged by its shape (known only at deployment)', () => {
    const stack = newStack();
    const webAclArn = Token.asString({ Ref: 'WebAclArnParameter' });
    expect(() => new Lockbox(stack, 'Lockbox', { ...minimal, webAclArn })).not.toThrow();
  });
});
