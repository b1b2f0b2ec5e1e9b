import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Lockbox, type LockboxProps } from './lockbox';

export interface LockboxStackProps extends StackProps {
  /** The validated configuration (`lib/config.ts`). */
  readonly config: LockboxProps;
}

/** One Lockbox and the values an operator needs after `cdk deploy`. */
export class LockboxStack extends Stack {
  readonly lockbox: Lockbox;

  constructor(scope: Construct, id: string, props: LockboxStackProps) {
    super(scope, id, props);
    this.lockbox = new Lockbox(this, 'Lockbox', props.config);

    new CfnOutput(this, 'ApiUrl', { value: this.lockbox.api.url, description: 'Base URL of the Lockbox API' });
    new CfnOutput(this, 'StateMachineArn', {
      value: this.lockbox.stateMachine.stateMachineArn,
      description: 'Access-request workflow; each execution is named after its request id',
    });
    new CfnOutput(this, 'AuditBusName', {
      value: this.lockbox.auditBus.eventBusName,
      description: 'EventBridge bus of audit events (source lockbox.audit, detail-type = event type)',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.lockbox.alarmTopic.topicArn, description: 'SNS topic of Lockbox alarms' });
  }
}
