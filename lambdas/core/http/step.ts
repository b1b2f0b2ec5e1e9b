import middy from '@middy/core';
import * as z from 'zod';

/**
 * A workflow Lambda: validates the state machine's payload, runs one step, returns its result.
 * Errors are thrown on, so Step Functions' Retry and Catch see them.
 */
export function stepHandler<S extends z.ZodType, R>(schema: S, step: (input: z.infer<S>) => Promise<R>) {
  return middy<unknown, R>().handler(async (event) => step(schema.parse(event)));
}

export const stage = z.enum(['manager', 'customer']);
export const requestId = z.string().min(1).max(80);
