import { resolve } from 'node:path';
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTables } from '../../local/dynamodb';
import { deployment } from '../../local/schema';
import { GRANTS_TABLE, LOCAL_TABLE_NAMES } from '../../local/tables';

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
