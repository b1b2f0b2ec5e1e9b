import { resolve } from 'node:path';
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Tenant } from '../../lambdas/core/domain/tenant';
import { type DynamoDbLocal, ensureTables, startDynamoDbLocal } from '../../local/dynamodb';
import { deployment } from '../../local/schema';
import { GRANTS_TABLE, LOCAL_TABLE_NAMES } from '../../local/tables';
import { type Harness, harness } from './use-case-deps';

export interface TableNames {
  requests: string;
  tenants: string;
  audit: string;
  grants: string;
}

/**
 * A fresh set of the deployed tables (as the CDK stack defines them, read the way local mode reads
 * them) plus local mode's Grants table, every name prefixed so each test starts empty.
 */
let deployed: ReturnType<typeof deployment> | undefined;

export async function freshTables(client: DynamoDBClient, prefix: string): Promise<TableNames> {
  deployed ??= deployment(resolve(__dirname, '../..'));
  const { tables } = await deployed;
  const renamed = (table: CreateTableCommandInput): CreateTableCommandInput => ({ ...table, TableName: `${prefix}-${table.TableName}` });
  await ensureTables(client, [...tables, GRANTS_TABLE].map(renamed));
  return {
    requests: `${prefix}-${LOCAL_TABLE_NAMES.Requests}`,
    tenants: `${prefix}-${LOCAL_TABLE_NAMES.Tenants}`,
    audit: `${prefix}-${LOCAL_TABLE_NAMES.Audit}`,
    grants: `${prefix}-${LOCAL_TABLE_NAMES.Grants}`,
  };
}

export interface TestDynamo {
  /** Drops undefined values, as the adapters' own clients do. */
  readonly doc: DynamoDBDocumentClient;
  /** Fresh tables (`prefix` and a count), a use-case harness on them, and `tenant` seeded. */
  fresh(prefix: string, tenant: Tenant): Promise<{ h: Harness; tables: TableNames }>;
}

/** One DynamoDB Local for the test file: started before its first test, stopped after its last. */
export function dynamoDbLocalPerFile(): TestDynamo {
  let dynamo: DynamoDbLocal | undefined;
  let doc: DynamoDBDocumentClient | undefined;
  let count = 0;
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('DynamoDB Local is started in beforeAll: use it in a test or a hook');
    return value;
  };
  beforeAll(async () => {
    dynamo = await startDynamoDbLocal({});
    await dynamo.ready;
    doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  });
  afterAll(async () => dynamo?.stop());
  return {
    get doc() {
      return started(doc);
    },
    async fresh(prefix, tenant) {
      const tables = await freshTables(started(dynamo).client, `${prefix}${++count}`);
      const h = harness(started(doc), tables);
      await h.seedTenant(tenant);
      return { h, tables };
    },
  };
}
