import { randomUUID } from 'node:crypto';
import type { Capacity } from './capacity';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './net';

/**
 * The bundled handlers as in-process "Lambda functions": each is `require`d from its bundle (so the
 * process environment must be complete before `loadFunctions` runs: the handlers read their
 * configuration from it) and invoked with a Lambda-like context, whose remaining time lets middy's
 * early-timeout behave as on AWS.
 */
export type Invoke = (event: unknown) => Promise<unknown>;

export interface LocalFunctionInfo {
  name: string;
  arn: string;
  invoke: Invoke;
}

/** When the deployment names no timeout for a function (CDK's house default). */
const DEFAULT_TIMEOUT_SECONDS = 30;

export const functionName = (handler: string) => `lockbox-${handler}`;
export const functionArn = (handler: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName(handler)}`;

/**
 * `timeouts`: seconds per handler, as deployed; an invocation's context counts down from it.
 * `capacity` counts every invocation (see capacity.ts).
 */
export function loadFunctions(
  bundles: Record<string, string>,
  timeouts: Record<string, number>,
  capacity: Capacity,
): Record<string, LocalFunctionInfo> {
  return Object.fromEntries(
    Object.entries(bundles).map(([handler, file]) => {
      const loaded = require(file) as { handler?: (event: unknown, context: unknown) => Promise<unknown> };
      const entry = loaded.handler;
      if (typeof entry !== 'function') throw new Error(`${file} exports no handler`);
      const name = functionName(handler);
      const arn = functionArn(handler);
      const invoke: Invoke = (event) => {
        const deadline = Date.now() + (timeouts[handler] ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
        const requestId = randomUUID();
        const context = {
          callbackWaitsForEmptyEventLoop: true,
          functionName: name,
          functionVersion: '$LATEST',
          invokedFunctionArn: arn,
          memoryLimitInMB: '512',
          awsRequestId: requestId,
          logGroupName: `/aws/lambda/${name}`,
          logStreamName: `local/${requestId}`,
          getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
          done: () => undefined,
          fail: () => undefined,
          succeed: () => undefined,
        };
        return capacity.run(async () => {
          try {
            return await entry(event, context);
          } catch (error) {
            // What the Lambda runtime logs for a function that throws (a workflow step's error is
            // then Step Functions' to retry or catch); without it local mode's log would be silent.
            console.error(`local mode: ${name} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
            throw error;
          }
        });
      };
      return [handler, { name, arn, invoke }];
    }),
  );
}
