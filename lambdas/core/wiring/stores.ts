import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CachedTenantStore } from '../adapters/cached-tenants';
import { DynamoRefusalCounter } from '../adapters/dynamo-refusals';
import { DynamoAuditLog, DynamoRequestStore, DynamoTenantStore } from '../adapters/dynamo-store';
import { config } from '../config';
import { traced } from '../observability';
import { BOUNDED } from './bounded';
import { once } from './once';

/** DynamoDB (traced), shared by the stores and the local access provider. */
export const dynamo = once(() =>
  DynamoDBDocumentClient.from(traced(new DynamoDBClient(BOUNDED)), { marshallOptions: { removeUndefinedValues: true } }),
);

/** How long a process trusts the tenant settings it read (an approver removed can still decide this long). */
const TENANT_CACHE_MS = 5_000;

const audit = once(() => new DynamoAuditLog(dynamo(), config.tables(), { settleMs: config.auditSettleMs() }));

/** Requests, tenants, the audit log and the refused-link counter (on Requests): every function has these. */
export const stores = {
  requests: once(() => new DynamoRequestStore(dynamo(), config.tables(), audit())),
  tenants: once(() => new CachedTenantStore(new DynamoTenantStore(dynamo(), config.tables(), audit()), TENANT_CACHE_MS)),
  audit,
  refusals: once(() => new DynamoRefusalCounter(dynamo(), config.tables().requests)),
};
