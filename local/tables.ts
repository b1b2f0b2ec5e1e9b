import type { CreateTableCommandInput, StreamViewType } from '@aws-sdk/client-dynamodb';

/**
 * The tables of local mode. Requests, Tenants and Audit come from the synthesized CDK template
 * (`tablesFromTemplate`), so the local schema is the deployed schema; only the Grants table of the
 * `local` access provider, which exists in local mode alone, is defined here.
 */
export const TABLE_ROLES = ['Requests', 'Tenants', 'Audit'] as const;
export type TableRole = (typeof TABLE_ROLES)[number];

/** Local table names (DynamoDB Local refuses names under 3 characters; these are plain and readable). */
export const LOCAL_TABLE_NAMES: Record<TableRole | 'Grants', string> = {
  Requests: 'lockbox-requests',
  Tenants: 'lockbox-tenants',
  Audit: 'lockbox-audit',
  Grants: 'lockbox-grants',
};

export const GRANTS_TABLE: CreateTableCommandInput = {
  TableName: LOCAL_TABLE_NAMES.Grants,
  BillingMode: 'PAY_PER_REQUEST',
  KeySchema: [{ AttributeName: 'requestId', KeyType: 'HASH' }],
  AttributeDefinitions: [{ AttributeName: 'requestId', AttributeType: 'S' }],
};

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}
export interface CloudFormationTemplate {
  Resources?: Record<string, TemplateResource>;
}

type Input = CreateTableCommandInput;

/**
 * CreateTable inputs for the tables of a synthesized template. A table is recognized by the end of
 * its construct path (`.../Requests/Resource`). Kept: key schema, attribute definitions, global
 * and local secondary indexes, billing mode, provisioned throughput and the stream (the Audit
 * table's feeds the audit export: local/audit-stream.ts). Dropped, because DynamoDB Local ignores or
 * refuses them: encryption, point-in-time recovery, deletion protection, TTL, tags, contributor
 * insights, table class, resource policies.
 */
export function tablesFromTemplate(template: CloudFormationTemplate): Input[] {
  const found = new Map<TableRole, Input>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::DynamoDB::Table') continue;
    const path = String(resource.Metadata?.['aws:cdk:path'] ?? '');
    const role = TABLE_ROLES.find((candidate) => path.endsWith(`/${candidate}/Resource`));
    if (!role) continue;
    if (found.has(role)) throw new Error(`The template has two ${role} tables (${logicalId})`);
    found.set(role, createTableInput(role, resource.Properties ?? {}));
  }
  const missing = TABLE_ROLES.filter((role) => !found.has(role));
  if (missing.length)
    throw new Error(`The synthesized template has no table for ${missing.join(', ')} (construct ids Requests, Tenants, Audit)`);
  return TABLE_ROLES.map((role) => found.get(role)!);
}

function createTableInput(role: TableRole, properties: Record<string, unknown>): Input {
  const billingMode = (properties.BillingMode as Input['BillingMode']) ?? 'PROVISIONED';
  const provisioned = billingMode === 'PROVISIONED';
  const throughput = (value: unknown) =>
    provisioned ? ((value as Input['ProvisionedThroughput']) ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 }) : undefined;
  const indexes = (properties.GlobalSecondaryIndexes as Record<string, unknown>[] | undefined)?.map((index) => ({
    IndexName: index.IndexName as string,
    KeySchema: index.KeySchema as Input['KeySchema'],
    Projection: index.Projection as NonNullable<Input['GlobalSecondaryIndexes']>[number]['Projection'],
    ProvisionedThroughput: throughput(index.ProvisionedThroughput),
  }));
  const localIndexes = (properties.LocalSecondaryIndexes as Record<string, unknown>[] | undefined)?.map((index) => ({
    IndexName: index.IndexName as string,
    KeySchema: index.KeySchema as Input['KeySchema'],
    Projection: index.Projection as NonNullable<Input['LocalSecondaryIndexes']>[number]['Projection'],
  }));
  const stream = (properties.StreamSpecification as { StreamViewType?: string } | undefined)?.StreamViewType;
  return {
    TableName: LOCAL_TABLE_NAMES[role],
    KeySchema: properties.KeySchema as Input['KeySchema'],
    AttributeDefinitions: properties.AttributeDefinitions as Input['AttributeDefinitions'],
    BillingMode: billingMode,
    ProvisionedThroughput: throughput(properties.ProvisionedThroughput),
    GlobalSecondaryIndexes: indexes?.length ? indexes : undefined,
    LocalSecondaryIndexes: localIndexes?.length ? localIndexes : undefined,
    StreamSpecification: stream ? { StreamEnabled: true, StreamViewType: stream as StreamViewType } : undefined,
  };
}
