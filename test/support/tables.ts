import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** The tables of docs/architecture.md, named with a prefix. */
export function tableDefinitions(prefix: string): { names: { requests: string; tenants: string; audit: string; grants: string }; inputs: CreateTableCommandInput[] } {
  const names = { requests: `${prefix}-Requests`, tenants: `${prefix}-Tenants`, audit: `${prefix}-Audit`, grants: `${prefix}-Grants` };
  const S = 'S' as const;
  const N = 'N' as const;
  const all = { ProjectionType: 'ALL' as const };
  return {
    names,
    inputs: [
      {
        TableName: names.requests,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'requestId', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'requestId', AttributeType: S },
          { AttributeName: 'tenantId', AttributeType: S },
          { AttributeName: 'createdAt', AttributeType: S },
          { AttributeName: 'status', AttributeType: S },
          { AttributeName: 'activeGrant', AttributeType: S },
          { AttributeName: 'activeUntil', AttributeType: N },
        ],
        GlobalSecondaryIndexes: [
          { IndexName: 'byTenant', KeySchema: [{ AttributeName: 'tenantId', KeyType: 'HASH' }, { AttributeName: 'createdAt', KeyType: 'RANGE' }], Projection: all },
          { IndexName: 'byStatus', KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'createdAt', KeyType: 'RANGE' }], Projection: all },
          { IndexName: 'byActiveUntil', KeySchema: [{ AttributeName: 'activeGrant', KeyType: 'HASH' }, { AttributeName: 'activeUntil', KeyType: 'RANGE' }], Projection: all },
        ],
      },
      { TableName: names.tenants, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'tenantId', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'tenantId', AttributeType: S }] },
      {
        TableName: names.audit,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'tenantId', KeyType: 'HASH' }, { AttributeName: 'seq', KeyType: 'RANGE' }],
        AttributeDefinitions: [{ AttributeName: 'tenantId', AttributeType: S }, { AttributeName: 'seq', AttributeType: N }],
      },
      { TableName: names.grants, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'requestId', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'requestId', AttributeType: S }] },
    ],
  };
}
