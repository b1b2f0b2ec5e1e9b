import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Lockbox } from './lockbox';
import type { LockboxConfig } from './lockbox-props';

export interface LockboxStackProps extends StackProps {
  /** The validated configuration (`lib/config.ts`). */
  readonly config: LockboxConfig;
}

/** One Lockbox and the values an operator needs after `cdk deploy`. */
export class LockboxStack extends Stack {
  readonly lockbox: Lockbox;

  constructor(scope: Construct, id: string, props: LockboxStackProps) {
    super(scope, id, props);
    // The app's names keep the stack's name (`<stack>-AccessBoundary`, `<stack>-*` alarms), and it
    // sets up API Gateway's account logging role unless the configuration says otherwise.
    this.lockbox = new Lockbox(this, 'Lockbox', {
      prefix: this.stackName,
      apiGatewayCloudWatchRole: true,
      ...props.config,
    });

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
