import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { build } from 'esbuild';
import { DIRECTORY } from './seed';
import { type CloudFormationTemplate, tablesFromTemplate } from './tables';

/**
 * What local mode takes from the deployment, read from the CDK app: `LockboxStack` is synthesized
 * in process with bundling skipped; its `AWS::DynamoDB::Table` resources become CreateTable inputs
 * and its `AWS::Lambda::Function` resources give each function's timeout and the names of the
 * environment variables it is given.
 *
 * Loading aws-cdk-lib and synthesizing costs seconds, so the result is cached in `.lockbox-local/`
 * under a hash of every source file the stack module imports (found by esbuild) and the lock file
 * (the aws-cdk-lib version): changing any of them synthesizes again.
 */
const CACHE_FILE = join('.lockbox-local', 'deployment.json');
const STACK_FILE = join('lib', 'lockbox-stack.ts');
const CACHE_VERSION = 3;

export interface DeployedFunction {
  timeoutSeconds: number;
  /** Names of the variables the deployment sets for the function. */
  environment: string[];
}

export interface Deployment {
  tables: CreateTableCommandInput[];
  /** By handler name (`api-requests`, `notify`...). */
  functions: Record<string, DeployedFunction>;
  /** 'cache' when the previous synthesis still matched the sources. */
  source: 'synth' | 'cache';
}

export async function deployment(root: string): Promise<Deployment> {
  const key = `${CACHE_VERSION}:${await sourcesHash(root)}`;
  const cacheFile = join(root, CACHE_FILE);
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as Omit<Deployment, 'source'> & { key: string };
    if (cached.key === key) return { tables: cached.tables, functions: cached.functions, source: 'cache' };
  } catch {
    // no cache yet, or unreadable: synthesize
  }
  const template = await synthesize(root);
  const found = { tables: tablesFromTemplate(template), functions: functionsFromTemplate(template) };
  await mkdir(join(root, '.lockbox-local'), { recursive: true });
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify({ key, ...found }, null, 2));
  await rename(temporary, cacheFile);
  return { ...found, source: 'synth' };
}

/** `Lockbox/Lockbox/ApiRequests/Function/Resource` → `api-requests`, the handler file's name. */
function functionsFromTemplate(template: CloudFormationTemplate): Record<string, DeployedFunction> {
  const functions: Record<string, DeployedFunction> = {};
  for (const resource of Object.values(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const match = /\/([A-Za-z0-9]+)\/Function\/Resource$/.exec(String(resource.Metadata?.['aws:cdk:path'] ?? ''));
    if (!match) continue;
    const handler = match[1].replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase();
    const properties = resource.Properties ?? {};
    const variables = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    functions[handler] = { timeoutSeconds: Number(properties.Timeout ?? 3), environment: Object.keys(variables).sort() };
  }
  return functions;
}

async function synthesize(root: string): Promise<CloudFormationTemplate> {
  const stackFile = join(root, STACK_FILE);
  if (!existsSync(stackFile)) throw new Error(`${STACK_FILE} not found: local mode creates its tables from the CDK stack`);
  // Required by path so that aws-cdk-lib is loaded only on a cache miss.
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { LockboxStack } = require(stackFile) as {
    LockboxStack: new (scope: unknown, id: string, props: unknown) => { stackName: string };
  };
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
    hash
      .update(file)
      .update('\0')
      .update(await readFile(join(root, file)).catch(() => Buffer.alloc(0)))
      .update('\0');
  }
  return hash.digest('hex');
}
