import * as z from 'zod';
import { deps } from '../core/container';
import { requestId, stepHandler } from '../core/http/step';
import { grantAccess } from '../core/usecases/workflow-steps';

/** Nothing granted: the hold step completes its task at once, long before this timer. */
const NOT_HELD_SECONDS = 60;

/** Grants access for an approved request; returns the window's end and the hold task's timer. */
export const handler = stepHandler(z.object({ requestId }), async ({ requestId }) => {
  const result = await grantAccess(deps, requestId);
  // The state machine reads every field, so each is present (a valid timestamp) even when nothing was granted.
  return {
    status: result.status,
    accessExpiresAt: result.accessExpiresAt ?? new Date().toISOString(),
    holdSeconds: result.holdSeconds ?? NOT_HELD_SECONDS,
  };
});
