import { readFile, rename, writeFile } from 'node:fs/promises';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { Invoke } from './functions';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './net';

/**
 * Local mode's stand-in for the event source mapping of the audit export (lib/audit-stream.ts): it
 * reads the Audit table's stream on DynamoDB Local (its Streams API) and invokes the bundled
 * export-audit function with the Lambda `DynamoDBStreamEvent`, as on AWS: shard by shard (a child
 * after its parent), from the oldest record, batches of up to 100 in order, and a batch whose
 * function reports failed records is retried from the first of them (a bounded number of times,
 * then it is logged, where AWS writes to the failure queue). Not modelled: bisecting a batch when
 * the function itself fails (the whole batch is retried instead).
 *
 * With a data directory the position read up to is kept in `checkpointFile`, so a restart goes on
 * after the last exported record, as the mapping's checkpoint does.
 */
export interface AuditStreamOptions {
  dynamo: DynamoDBClient;
  endpoint: string;
  tableName: string;
  invoke: Invoke;
  checkpointFile?: string;
  /** How long to wait when the stream has nothing new. @default 250, as Lambda polls a shard four times a second */
  idleMs?: number;
  /** Retries of a batch with failed records before it is given up (logged). @default 10, as deployed */
  retryAttempts?: number;
}

export interface AuditStreamPoller {
  /** Finishes the batch in hand, then stops. */
  stop(): Promise<void>;
}

interface Checkpoint {
  streamArn: string;
  /** Last sequence number exported, by shard. */
  shards: Record<string, string>;
  finished: string[];
}

const BATCH_SIZE = 100;

export async function startAuditStream(options: AuditStreamOptions): Promise<AuditStreamPoller> {
  const { Table } = await options.dynamo.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn || !Table?.StreamSpecification?.StreamEnabled) throw new Error(`${options.tableName} has no stream to export from`);
  const streams = new DynamoDBStreamsClient({ endpoint: options.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const checkpoint = await readCheckpoint(options.checkpointFile, streamArn);
  const finished = new Set(checkpoint.finished);
  const iterators = new Map<string, string>();
  const idleMs = options.idleMs ?? 250;
  const retryAttempts = options.retryAttempts ?? 10;

  let stopped = false;
  let wake: () => void = () => {};
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const shardsToRead = async (): Promise<Shard[]> => {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    const known = new Set(shards.map((shard) => shard.ShardId));
    // A child shard only once its parent is read to its end (or trimmed away): order per key holds.
    return shards.filter(
      ({ ShardId, ParentShardId }) =>
        !finished.has(ShardId!) && (!ParentShardId || finished.has(ParentShardId) || !known.has(ParentShardId)),
    );
  };

  const iteratorOf = async (shardId: string): Promise<string | undefined> => {
    const after = checkpoint.shards[shardId];
    const get = (type: 'AFTER_SEQUENCE_NUMBER' | 'TRIM_HORIZON') =>
      streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: type,
          SequenceNumber: type === 'AFTER_SEQUENCE_NUMBER' ? after : undefined,
        }),
      );
    try {
      return (await get(after ? 'AFTER_SEQUENCE_NUMBER' : 'TRIM_HORIZON')).ShardIterator;
    } catch (error) {
      if ((error as Error).name !== 'TrimmedDataAccessException') throw error;
      console.error(`local mode: the audit stream no longer holds records after ${after} of ${shardId}; exporting from its oldest`);
      return (await get('TRIM_HORIZON')).ShardIterator;
    }
  };

  /** Invokes the export until it reports no failed record, retrying from the first failed one. */
  const deliver = async (records: DynamoDBRecord[]) => {
    let pending = records;
    for (let attempt = 0; ; attempt++) {
      const response = await options
        .invoke({ Records: pending })
        .then((value) => value as DynamoDBBatchResponse | undefined)
        .catch((error: unknown) => {
          console.error(`local mode: the audit export failed: ${String(error)}`);
          return { batchItemFailures: [{ itemIdentifier: pending[0]!.dynamodb!.SequenceNumber! }] };
        });
      const failed = (response?.batchItemFailures ?? []).map((failure) => BigInt(failure.itemIdentifier));
      if (!failed.length) return;
      // Sequence numbers are decimal strings longer than a double holds: compared as BigInts.
      let first = failed[0]!;
      for (const sequence of failed) if (sequence < first) first = sequence;
      pending = pending.filter((record) => BigInt(record.dynamodb!.SequenceNumber!) >= first);
      if (attempt >= retryAttempts || stopped) {
        const range = `${pending[0]?.dynamodb?.SequenceNumber}…${pending.at(-1)?.dynamodb?.SequenceNumber}`;
        console.error(
          `local mode: the audit export gave up on ${pending.length} stream record(s) ${range} (on AWS: its failure queue); the Audit table still holds them`,
        );
        return;
      }
      await pause(Math.min(100 * 2 ** attempt, 2_000));
    }
  };

  /** Reads what the shard has now; true when it returned records. */
  const readShard = async (shardId: string): Promise<boolean> => {
    let iterator = iterators.get(shardId) ?? (await iteratorOf(shardId));
    let read = false;
    while (iterator && !stopped) {
      let page: GetRecordsCommandOutput;
      try {
        page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: BATCH_SIZE }));
      } catch (error) {
        // An iterator past its 15 minutes, or (DynamoDB Local, on a shard with no record yet) one
        // it calls past the oldest record: a new one next round, from the checkpoint.
        const name = (error as Error).name;
        if (name !== 'ExpiredIteratorException' && name !== 'TrimmedDataAccessException') throw error;
        iterators.delete(shardId);
        return read;
      }
      const records = page.Records ?? [];
      if (records.length) {
        read = true;
        await deliver(records.map((record) => lambdaRecord(record, streamArn)));
        checkpoint.shards[shardId] = records.at(-1)!.dynamodb!.SequenceNumber!;
      }
      iterator = page.NextShardIterator;
      if (!iterator) {
        finished.add(shardId);
        iterators.delete(shardId);
      } else iterators.set(shardId, iterator);
      if (records.length) await saveCheckpoint(options.checkpointFile, { ...checkpoint, finished: [...finished] });
      if (!records.length) break;
    }
    return read;
  };

  const loop = (async () => {
    let shards: Shard[] = [];
    while (!stopped) {
      try {
        if (!shards.length || shards.some(({ ShardId }) => finished.has(ShardId!))) shards = await shardsToRead();
        let read = false;
        for (const { ShardId } of shards) if (!stopped) read = (await readShard(ShardId!)) || read;
        if (!read && !stopped) await pause(idleMs);
      } catch (error) {
        if (stopped) break;
        console.error(`local mode: reading the audit stream failed: ${String(error)}`);
        iterators.clear();
        shards = [];
        await pause(1_000);
      }
    }
  })();

  return {
    stop: async () => {
      stopped = true;
      wake();
      await loop;
      streams.destroy();
    },
  };
}

/** A Streams API record as Lambda's event source mapping hands it to the function. */
function lambdaRecord(record: _Record, streamArn: string): DynamoDBRecord {
  const created = record.dynamodb?.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? LOCAL_REGION,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(record.dynamodb as DynamoDBRecord['dynamodb']),
      ApproximateCreationDateTime: created ? Math.floor(created.getTime() / 1000) : undefined,
    },
  };
}

async function readCheckpoint(file: string | undefined, streamArn: string): Promise<Checkpoint> {
  const saved = file ? await readFile(file, 'utf8').catch(() => undefined) : undefined;
  const parsed = saved ? (JSON.parse(saved) as Checkpoint) : undefined;
  return parsed?.streamArn === streamArn ? parsed : { streamArn, shards: {}, finished: [] };
}

async function saveCheckpoint(file: string | undefined, checkpoint: Checkpoint): Promise<void> {
  if (!file) return;
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(checkpoint));
  await rename(temporary, file);
}
