import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { LockboxFunction } from './lockbox-function';

/** Retries of a batch the export could not publish, before its place goes to the failure queue. */
export const EXPORT_RETRY_ATTEMPTS = 10;

export interface AuditStreamProps {
  /** The Audit table, with its stream (NEW_IMAGE). */
  readonly table: dynamodb.ITable;
  /** The export-audit function (PutEvents on the bus; lib/functions.ts). */
  readonly exporter: LockboxFunction;
  readonly alarmTopic: sns.ITopic;
  readonly alarmNamePrefix: string;
}

/**
 * The audit export, off the API path (docs/adr/0014-audit-export-stream.md): an event source
 * mapping runs export-audit on the Audit table's stream from its oldest record, one batch per shard
 * at a time (order per chain kept). A batch whose events the bus refused is retried from the first
 * failed record (`reportBatchItemFailures`), split in halves when the function fails, and after
 * `EXPORT_RETRY_ATTEMPTS` its place in the stream (shard, sequence numbers) goes to an encrypted
 * queue, with an alarm: nothing is dropped silently; the Audit table stays the record, and the
 * events named there can be read from it.
 */
export class AuditStream extends Construct {
  /** Where the mapping records the batches it gave up on (14 days). */
  readonly failureQueue: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AuditStreamProps) {
    super(scope, id);
    this.failureQueue = new sqs.Queue(this, 'ExportFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "This queue IS a dead-letter queue: the audit export's on-failure destination, which cdk-nag does not recognise as one.",
    });
    props.exporter.fn.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        parallelizationFactor: 1,
        bisectBatchOnError: true,
        retryAttempts: EXPORT_RETRY_ATTEMPTS,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.failureQueue),
      }),
    );
    this.alarm = new cloudwatch.Alarm(this, 'ExportFailed', {
      alarmName: `${props.alarmNamePrefix}-AuditExportFailed`,
      alarmDescription:
        'Audit events could not be exported to the bus: the failure queue names the stream records; the Audit table still holds them.',
      metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
  }
}
