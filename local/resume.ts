import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { executionInput } from '../lambdas/core/adapters/sfn-workflow';
import type { AccessRequest } from '../lambdas/core/domain/request';
import type { LocalFunctionInfo } from './functions';
import { LOCAL_TABLE_NAMES } from './tables';

/**
 * Local mode only: picking up requests that were in flight when a data directory was last used.
 * On AWS an execution outlives any process; here executions live in memory, so after a restart:
 * - a request awaiting a decision gets a new execution (named by its id, as always): its stage
 *   opens again with a new deadline and new links (the old links no longer work);
 * - an approved request is granted, and active access is revoked when its window ends (at once if
 *   it ended while local mode was stopped) — by the same grant and revoke functions the workflow
 *   calls, so no grant outlives its window because local mode was stopped.
 */
export interface Resumed {
  requests: string[];
  stop(): Promise<void>;
}

export async function resumeInFlight(deps: {
  dynamo: DynamoDBClient;
  sfn: SFNClient;
  stateMachineArn: string;
  functions: Record<string, LocalFunctionInfo>;
}): Promise<Resumed> {
  const doc = DynamoDBDocumentClient.from(deps.dynamo);
  const inFlight: AccessRequest[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: LOCAL_TABLE_NAMES.Requests,
        ConsistentRead: true,
        FilterExpression: '#status IN (:m, :c, :a, :g)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':m': 'PENDING_MANAGER_APPROVAL',
          ':c': 'PENDING_CUSTOMER_APPROVAL',
          ':a': 'APPROVED',
          ':g': 'ACTIVE',
        },
        ExclusiveStartKey: start,
      }),
    );
    inFlight.push(...((page.Items ?? []) as AccessRequest[]));
    start = page.LastEvaluatedKey;
  } while (start);

  const timers = new Set<NodeJS.Timeout>();
  const revokeAt = (requestId: string, expiresAt: string | undefined) => {
    const revoke = async (attempt: number): Promise<void> => {
      try {
        await deps.functions.revoke!.invoke({ requestId });
      } catch (error) {
        console.error(`local mode: revoking ${requestId} failed (attempt ${attempt}): ${String(error)}`);
        if (attempt < 5) schedule(2 ** attempt * 1000, () => revoke(attempt + 1));
      }
    };
    schedule(Math.max(0, Date.parse(expiresAt ?? '') - Date.now() || 0), () => revoke(1));
  };
  const schedule = (ms: number, run: () => Promise<void>) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      void run();
    }, ms);
    timers.add(timer);
  };

  for (const request of inFlight) {
    switch (request.status) {
      case 'PENDING_MANAGER_APPROVAL':
      case 'PENDING_CUSTOMER_APPROVAL':
        await deps.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: deps.stateMachineArn,
            name: request.requestId,
            input: JSON.stringify(executionInput(request.requestId, request.timeouts)),
          }),
        );
        break;
      case 'APPROVED': {
        const granted = (await deps.functions.grant!.invoke({ requestId: request.requestId })) as {
          status: string;
          accessExpiresAt: string | null;
        };
        if (granted.status === 'ACTIVE') revokeAt(request.requestId, granted.accessExpiresAt ?? undefined);
        break;
      }
      case 'ACTIVE':
        revokeAt(request.requestId, request.accessExpiresAt);
        break;
      default:
        break;
    }
  }
  return {
    requests: inFlight.map((request) => request.requestId),
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
