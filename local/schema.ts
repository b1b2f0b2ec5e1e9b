import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { build } from 'esbuild';
import { DIRECTORY } from './seed';
import { tablesFromTemplate, type CloudFormationTemplate } from './tables';

/**
 * The deployed table schema, read from the CDK app: `LockboxStack` is synthesized in process with
 * bundling skipped, and its `AWS::DynamoDB::Table` resources become CreateTable inputs.
 *
 * Loading aws-cdk-lib and synthesizing costs seconds, so the result is cached in `.lockbox-local/`
 * under a hash of every source file the stack module imports (found by esbuild) and the lock file
 * (the aws-cdk-lib version): changing any of them synthesizes again.
 */
const CACHE_FILE = join('.lockbox-local', 'tables.json');
const STACK_FILE = join('lib', 'lockbox-stack.ts');

export interface TableSchema {
  tables: CreateTableCommandInput[];
  /** 'cache' when the previous synthesis still matched the sources. */
  source: 'synth' | 'cache';
}

export async function deployedTables(root: string): Promise<TableSchema> {
  const key = await sourcesHash(root);
  const cacheFile = join(root, CACHE_FILE);
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as { key: string; tables: CreateTableCommandInput[] };
    if (cached.key === key) return { tables: cached.tables, source: 'cache' };
  } catch {
    // no cache yet, or unreadable: synthesize
  }
  const tables = tablesFromTemplate(await synthesize(root));
  await mkdir(join(root, '.lockbox-local'), { recursive: true });
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify({ key, tables }, null, 2));
  await rename(temporary, cacheFile);
  return { tables, source: 'synth' };
}

async function synthesize(root: string): Promise<CloudFormationTemplate> {
  const stackFile = join(root, STACK_FILE);
  if (!existsSync(stackFile)) throw new Error(`${STACK_FILE} not found: local mode creates its tables from the CDK stack`);
  // Required by path so that aws-cdk-lib is loaded only on a cache miss.
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { LockboxStack } = require(stackFile) as { LockboxStack: new (scope: unknown, id: string, props: unknown) => { stackName: string } };
  const { parseConfig } = require(join(root, 'lib', 'config.ts')) as { parseConfig: (raw: unknown, source: string) => unknown };
  // Path metadata (on by default only under the CLI) names each table by its construct id.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
  const stack = new LockboxStack(app, 'Lockbox', { config: parseConfig(synthConfig(), 'local mode') });
  const assembly = app.synth();
  return assembly.getStackByName(stack.stackName).template as CloudFormationTemplate;
}

/** A deployment configuration for the local personas; the tables do not depend on it. */
const synthConfig = () => ({
  providerAccount: '111111111111',
  engineers: DIRECTORY.engineers,
  managers: DIRECTORY.managers,
  email: { sender: 'lockbox@provider.example' },
});

async function sourcesHash(root: string): Promise<string> {
  const hash = createHash('sha256');
  const files = ['package-lock.json'];
  if (existsSync(join(root, STACK_FILE))) {
    const { metafile } = await build({
      absWorkingDir: root,
      entryPoints: [STACK_FILE],
      bundle: true,
      packages: 'external',
      platform: 'node',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    files.push(...Object.keys(metafile.inputs));
  }
  for (const file of files.sort()) {
    hash.update(file).update('\0').update(await readFile(join(root, file)).catch(() => Buffer.alloc(0))).update('\0');
  }
  return hash.digest('hex');
}
