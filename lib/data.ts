import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { REQUEST_INDEXES } from '../lambdas/core/adapters/dynamo-store';

/**
 * Lockbox's tables and the key that encrypts them. Local mode finds each table by the end of its
 * construct path (`…/Requests/Resource`), so the construct ids are part of the contract.
 */
export class LockboxData extends Construct {
  /** Encrypts the tables and the alarm topic (rotation on, retained). */
  readonly dataKey: kms.Key;
  /** Access requests, with the indexes the store queries (`REQUEST_INDEXES`). */
  readonly requestsTable: dynamodb.Table;
  /** Tenant settings and the head of each audit chain. */
  readonly tenantsTable: dynamodb.Table;
  /** Append-only: every function role is explicitly denied changing or deleting its items. */
  readonly auditTable: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'Lockbox: tables and alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.requestsTable = this.table('Requests', { name: 'requestId', type: dynamodb.AttributeType.STRING });
    const byCreation = { name: 'createdAt', type: dynamodb.AttributeType.STRING };
    this.requestsTable.addGlobalSecondaryIndex({
      indexName: REQUEST_INDEXES.byTenant,
      partitionKey: { name: 'tenantId', type: dynamodb.AttributeType.STRING },
      sortKey: byCreation,
    });
    this.requestsTable.addGlobalSecondaryIndex({
      indexName: REQUEST_INDEXES.byStatus,
      partitionKey: { name: 'status', type: dynamodb.AttributeType.STRING },
      sortKey: byCreation,
    });
    this.requestsTable.addGlobalSecondaryIndex({
      indexName: REQUEST_INDEXES.byActiveUntil,
      partitionKey: { name: 'activeGrant', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'activeUntil', type: dynamodb.AttributeType.NUMBER },
    });
    this.tenantsTable = this.table('Tenants', { name: 'tenantId', type: dynamodb.AttributeType.STRING });
    // No TTL on Audit: the record is kept for good.
    this.auditTable = this.table(
      'Audit',
      { name: 'tenantId', type: dynamodb.AttributeType.STRING },
      { name: 'seq', type: dynamodb.AttributeType.NUMBER },
    );
  }

  /** The tables, for grants and denies that cover all of them. */
  get tables(): readonly dynamodb.Table[] {
    return [this.requestsTable, this.tenantsTable, this.auditTable];
  }

  private table(id: string, partitionKey: dynamodb.Attribute, sortKey?: dynamodb.Attribute): dynamodb.Table {
    return new dynamodb.Table(this, id, {
      partitionKey,
      sortKey,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
