import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** How often the reconciler sweeps (R-3.9: at most every 5 minutes). */
export const RECONCILE_EVERY = Duration.minutes(5);

/** A schedule target that may invoke the function itself only (CDK's grantInvoke adds every version, `:*`). */
export class InvokeUnqualified extends schedulerTargets.LambdaInvoke {
  constructor(
    private readonly target: lambda.IFunction,
    props: schedulerTargets.ScheduleTargetBaseProps,
  ) {
    super(target, props);
  }

  protected override addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.target.functionArn] }));
  }
}

export interface ReconcilerProps {
  /** The reconcile function. */
  readonly function: lambda.IFunction;
}

/**
 * EventBridge Scheduler runs the reconciler every 5 minutes (it is independent of the workflow
 * it repairs). Invocations the scheduler cannot deliver land in a dead-letter queue.
 */
export class Reconciler extends Construct {
  readonly schedule: scheduler.Schedule;
  /** Invocations the scheduler could not deliver. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue IS a dead-letter queue: the reconciler schedule's (EventBridge Scheduler), which cdk-nag does not recognise as one.",
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Lockbox reconciler: ends overdue grants, revokes left-over access, re-delivers stranded decisions',
      schedule: scheduler.ScheduleExpression.rate(RECONCILE_EVERY),
      target: new InvokeUnqualified(props.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: RECONCILE_EVERY,
      }),
    });
  }
}
