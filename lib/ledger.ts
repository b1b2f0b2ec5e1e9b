import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { LEDGER_INDEXES } from '../lambdas/core/adapters/dynamo-ledger';
import { ENV } from '../lambdas/core/config';
import type { LockboxFunction } from './lockbox-function';
import { InvokeUnqualified } from './reconciler';

/**
 * The audit ledger's part of the data (docs/design.md §3): the Audit table's keys (`chainId`, `seq`: one
 * chain per request, `tenant:<id>` for a tenant's settings chain, `digests:<id>` for its signed
 * digests), the by-time index of a tenant's events (digests have no `timeKey`, so they are not in
 * it), and the sparse index of requests whose chain advanced since the last digest.
 */
export const LEDGER_KEYS: [dynamodb.Attribute, dynamodb.Attribute] = [
  { name: 'chainId', type: dynamodb.AttributeType.STRING },
  { name: 'seq', type: dynamodb.AttributeType.NUMBER },
];

export function addLedgerIndexes(requests: dynamodb.Table, audit: dynamodb.Table) {
  audit.addGlobalSecondaryIndex({
    indexName: LEDGER_INDEXES.byTenantTime,
    partitionKey: { name: 'tenantId', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'timeKey', type: dynamodb.AttributeType.STRING },
  });
  // The sealer reads only the heads, so only they are projected.
  requests.addGlobalSecondaryIndex({
    indexName: LEDGER_INDEXES.unsealedChains,
    partitionKey: { name: 'sealTenant', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: ['auditSeq', 'auditHead'],
  });
}

/** How often every tenant gets a digest, and how often the whole ledger is verified. */
export const SEAL_EVERY = Duration.minutes(5);
export const VERIFY_EVERY = Duration.hours(1);

export interface LedgerDigestsProps {
  /** The seal-digests function: the only principal that may sign. */
  readonly sealer: LockboxFunction;
  /** Functions that publish the public key (the API's /tenants routes). */
  readonly publishers: readonly LockboxFunction[];
  readonly alarmTopic: sns.ITopic;
  readonly alarmNamePrefix: string;
}

/**
 * Signed tenant digests (DESIGN §3): an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) whose key
 * policy lets only the sealer's role `kms:Sign` — an explicit deny for every other principal,
 * the account's administrators included; EventBridge Scheduler runs the sealer every 5 minutes
 * and the verification every hour; an alarm fires when a verification finds a broken ledger or a
 * digest could not be sealed.
 */
export class LedgerDigests extends Construct {
  readonly signingKey: kms.Key;
  readonly sealSchedule: scheduler.Schedule;
  readonly verifySchedule: scheduler.Schedule;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: LedgerDigestsProps) {
    super(scope, id);
    const sealerRole = props.sealer.role;
    const account = new iam.AccountRootPrincipal();
    this.signingKey = new kms.Key(this, 'SigningKey', {
      description: 'Lockbox: signs the tenant audit digests (only the sealer may Sign)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Old digests must stay verifiable: the key is kept.
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new iam.PolicyDocument({
        statements: [
          // The account administers the key (IAM policies decide who), but may not sign with it.
          new iam.PolicyStatement({
            sid: 'AccountAdministersButDoesNotSign',
            principals: [account],
            notActions: ['kms:Sign'],
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            sid: 'OnlyTheSealerSigns',
            principals: [new iam.ArnPrincipal(sealerRole.roleArn)],
            actions: ['kms:Sign'],
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            sid: 'NoOneElseSigns',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ['kms:Sign'],
            resources: ['*'],
            conditions: { ArnNotEquals: { 'aws:PrincipalArn': sealerRole.roleArn } },
          }),
        ],
      }),
    });
    const settings = { [ENV.digestSigner]: 'kms', [ENV.digestKmsKey]: this.signingKey.keyArn };
    props.sealer.useSettings(settings);
    sealerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Sign', 'kms:GetPublicKey'], resources: [this.signingKey.keyArn] }),
    );
    for (const fn of props.publishers) {
      fn.useSettings(settings);
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GetPublicKey'], resources: [this.signingKey.keyArn] }));
    }

    const schedule = (scheduleId: string, description: string, every: Duration, input: Record<string, unknown>) =>
      new scheduler.Schedule(this, scheduleId, {
        description,
        schedule: scheduler.ScheduleExpression.rate(every),
        target: new InvokeUnqualified(props.sealer.fn, {
          input: scheduler.ScheduleTargetInput.fromObject(input),
          retryAttempts: 2,
          maxEventAge: every,
        }),
      });
    this.sealSchedule = schedule('SealSchedule', 'Lockbox ledger: one signed digest per tenant', SEAL_EVERY, {});
    this.verifySchedule = schedule('VerifySchedule', "Lockbox ledger: verify every tenant's chains and digests", VERIFY_EVERY, {
      verify: true,
    });

    const action = new cwActions.SnsAction(props.alarmTopic);
    const alarm = (alarmId: string, metricName: string, period: Duration, description: string) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `${props.alarmNamePrefix}-${alarmId}`,
        alarmDescription: description,
        metric: new cloudwatch.Metric({ namespace: 'Lockbox', metricName, statistic: 'Sum', period }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      return created;
    };
    this.alarms = [
      alarm(
        'LedgerVerificationFailed',
        'LockboxLedgerVerificationFailures',
        VERIFY_EVERY,
        "A tenant's audit ledger did not verify: GET /tenants/{id}/audit/verify names the first broken place.",
      ),
      alarm('DigestSealFailed', 'LockboxDigestSealFailures', SEAL_EVERY, 'A tenant digest could not be sealed: see the seal-digests log.'),
    ];
  }
}
