import { type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { tenantItem, toItem } from './lockbox-helpers';
import type { TenantSeedProps } from './lockbox-props';

export interface TenantSeedConstructProps {
  readonly tenants: readonly TenantSeedProps[];
  /** The Tenants table; its key encrypts it. */
  readonly table: dynamodb.ITable;
  /** Settings of a seeded tenant that sets none. */
  readonly defaults: { readonly maxAccessDuration: string; readonly approvalTimeout: string };
  readonly logGroupName: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Encrypts the log group. @default - CloudWatch Logs' own encryption */
  readonly logEncryptionKey?: kms.IKey;
  /** Of the log group. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** Creates each configured tenant once (PutItem if absent); later changes go through the API. */
export class TenantSeed extends Construct {
  constructor(scope: Construct, id: string, props: TenantSeedConstructProps) {
    super(scope, id);
    const { table } = props;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.logRemovalPolicy,
    });
    const statements = [new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [table.tableArn] })];
    if (table.encryptionKey) {
      statements.push(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [table.encryptionKey.keyArn],
        }),
      );
    }
    const policy = cr.AwsCustomResourcePolicy.fromStatements(statements);
    for (const tenant of props.tenants) {
      new cr.AwsCustomResource(this, tenant.tenantId, {
        onCreate: {
          service: 'DynamoDB',
          action: 'PutItem',
          parameters: {
            TableName: table.tableName,
            Item: toItem(tenantItem(tenant, props.defaults)),
            ConditionExpression: 'attribute_not_exists(tenantId)',
          },
          physicalResourceId: cr.PhysicalResourceId.of(`lockbox-tenant-${tenant.tenantId}`),
          // Already there (seeded before, or created through the API): leave it as it is.
          ignoreErrorCodesMatching: 'ConditionalCheckFailedException',
        },
        policy,
        logGroup,
        installLatestAwsSdk: false,
      });
    }
    const provider = Stack.of(this).node.findChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: "The CDK's AwsCustomResource provider (tenant seeding at deployment) writes its logs with AWS's basic execution policy.",
    });
  }
}
