import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { REQUEST_INDEXES } from '../lambdas/core/adapters/dynamo-store';
import { addLedgerIndexes, LEDGER_KEYS } from './ledger';

/**
 * Lockbox's tables and the key that encrypts them. Local mode finds each table by the end of its
 * construct path (`…/Requests/Resource`), so the construct ids are part of the contract.
 */
export interface LockboxDataProps {
  /** Encrypts the tables. @default - a new key with rotation on */
  readonly encryptionKey?: kms.IKey;
  /**
   * Of the tables and the key this construct creates. Anything but RETAIN also turns the tables'
   * deletion protection off.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class LockboxData extends Construct {
  /** Encrypts the tables and the alarm topic: the one given, or a new one (rotation on). */
  readonly dataKey: kms.IKey;
  /** Access requests, with the indexes the store queries (`REQUEST_INDEXES`). */
  readonly requestsTable: dynamodb.Table;
  /** Tenant settings and the head of the tenant's settings chain (request chains: on the request). */
  readonly tenantsTable: dynamodb.Table;
  /** Append-only: every function role is explicitly denied changing or deleting its items. Streams NEW_IMAGE. */
  readonly auditTable: dynamodb.Table;

  private readonly removalPolicy: RemovalPolicy;

  constructor(scope: Construct, id: string, props: LockboxDataProps = {}) {
    super(scope, id);
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.dataKey =
      props.encryptionKey ??
      new kms.Key(this, 'DataKey', {
        description: 'Lockbox: tables and alarm topic',
        enableKeyRotation: true,
        removalPolicy: this.removalPolicy,
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
    // No TTL on Audit: the record is kept for good. Keys and the ledger's indexes: ./ledger.ts.
    // Its stream (new images) feeds the export to the audit bus, off the API path (lib/audit-stream.ts).
    this.auditTable = this.table('Audit', ...LEDGER_KEYS, dynamodb.StreamViewType.NEW_IMAGE);
    addLedgerIndexes(this.requestsTable, this.auditTable);
  }

  /** The tables, for grants and denies that cover all of them. */
  get tables(): readonly dynamodb.Table[] {
    return [this.requestsTable, this.tenantsTable, this.auditTable];
  }

  private table(
    id: string,
    partitionKey: dynamodb.Attribute,
    sortKey?: dynamodb.Attribute,
    stream?: dynamodb.StreamViewType,
  ): dynamodb.Table {
    return new dynamodb.Table(this, id, {
      partitionKey,
      sortKey,
      stream,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: this.removalPolicy === RemovalPolicy.RETAIN,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      removalPolicy: this.removalPolicy,
    });
  }
}
