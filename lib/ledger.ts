import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { LEDGER_INDEXES } from '../lambdas/core/adapters/dynamo-ledger';

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
