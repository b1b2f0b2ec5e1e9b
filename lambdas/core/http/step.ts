import { log, logKeys, observed } from '../observability';
import * as z from '../zod';

/**
 * A workflow Lambda: validates the state machine's payload, runs one step, returns its result.
 * Errors are thrown on, so Step Functions' Retry and Catch see them.
 */
export function stepHandler<S extends z.ZodMiniType, R>(schema: S, step: (input: z.infer<S>) => Promise<R>) {
  return observed<unknown, R>().handler(async (event) => {
    const input = schema.parse(event);
    const requestId = (input as { requestId?: unknown }).requestId;
    logKeys({ callerKind: 'workflow', requestId: typeof requestId === 'string' ? requestId : undefined });
    const result = await step(input);
    log.info('step done');
    return result;
  });
}

export const stage = z.enum(['manager', 'customer']);
export const requestId = z.string().check(z.minLength(1), z.maxLength(80));
