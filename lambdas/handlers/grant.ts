import * as z from 'zod';
import { deps } from '../core/container';
import { requestId, stepHandler } from '../core/http/step';
import { grantAccess } from '../core/usecases/workflow-steps';

/** Grants access for an approved request; returns the window's end for the Wait state. */
export const handler = stepHandler(z.object({ requestId }), async ({ requestId }) => {
  const result = await grantAccess(deps, requestId);
  // The state machine reads both fields; null keeps the path present when nothing was granted.
  return { status: result.status, accessExpiresAt: result.accessExpiresAt ?? null };
});
