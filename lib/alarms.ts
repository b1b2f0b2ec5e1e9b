import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../lambdas/core/telemetry';

export interface LockboxAlarmsProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly api: apigw.RestApi;
  /** Each function by its construct id (`ApiRequests`) with its handler's name (`api-requests`). */
  readonly functions: readonly { readonly id: string; readonly handler: string; readonly fn: lambda.IFunction }[];
  readonly reconcilerDeadLetterQueue: sqs.IQueue;
  /** Encrypts the alarm topic this construct creates. */
  readonly topicKey: kms.IKey;
  /**
   * Every alarm is named `<alarmNamePrefix>-<what>`, so the access boundary can deny them all
   * with one pattern.
   */
  readonly alarmNamePrefix: string;
  /** The SNS topic to send alarms to. @default - a new topic encrypted with `topicKey` */
  readonly topic?: sns.ITopic;
  /** An email address to subscribe to the topic. @default - none */
  readonly email?: string;
}

/**
 * What needs a person: failed, timed-out or stopped executions, API 5xx, function errors and
 * throttles, undelivered reconciler runs, and repairs the reconciler had to make.
 */
export class LockboxAlarms extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: LockboxAlarmsProps) {
    super(scope, id);
    this.topic = props.topic ?? this.createTopic(props.topicKey);
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));

    const action = new cwActions.SnsAction(this.topic);
    const period = Duration.minutes(5);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `${props.alarmNamePrefix}-${alarmId}`,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      return created;
    };
    const { stateMachine, api } = props;
    this.alarms = [
      // The revoke path ends in a Fail state ("Access could not be revoked"), so this covers it.
      alarm(
        'ExecutionsFailed',
        stateMachine.metricFailed({ period }),
        'An access-request execution failed. If it ended in "Access could not be revoked", check the request\'s IAM role now.',
      ),
      alarm('ExecutionsTimedOut', stateMachine.metricTimedOut({ period }), 'An access-request execution timed out.'),
      alarm(
        'ExecutionsAborted',
        stateMachine.metricAborted({ period }),
        'An access-request execution was stopped by hand: access it granted may still need revoking.',
      ),
      alarm('ApiServerErrors', api.metricServerError({ period }), 'The Lockbox API answered with 5xx errors.'),
      ...props.functions.flatMap(({ id: fnId, handler, fn }) => [
        alarm(`${fnId}Errors`, fn.metricErrors({ period }), `The ${handler} function failed.`),
        alarm(`${fnId}Throttles`, fn.metricThrottles({ period }), `The ${handler} function was throttled.`),
      ]),
      // The only asynchronous invocation is the reconciler's schedule, so its queue is the only DLQ.
      alarm(
        'ReconcilerDeadLetters',
        props.reconcilerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        'The scheduler could not invoke the reconciler: check the messages in its dead-letter queue.',
      ),
      alarm(
        'ReconcilerActions',
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: METRIC.reconcilerRepairs,
          dimensionsMap: { service: SERVICE_NAME },
          statistic: 'Sum',
          period,
        }),
        'The reconciler had to repair requests the workflow missed (overdue grants, left-over roles, undelivered decisions): find out why in its log.',
      ),
    ];
  }

  private createTopic(key: kms.IKey): sns.Topic {
    const topic = new sns.Topic(this, 'Topic', { displayName: 'Lockbox alarms', masterKey: key, enforceSSL: true });
    // CloudWatch publishes to the encrypted topic: it needs the key.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
    return topic;
  }
}
