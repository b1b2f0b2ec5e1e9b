import * as z from 'zod';
import { deps } from '../core/container';
import { requestId, stepHandler } from '../core/http/step';
import { endAccess } from '../core/usecases/workflow-steps';

/** The access window ended: revoke (idempotent; an early revoke already did it). */
export const handler = stepHandler(z.object({ requestId }), async ({ requestId }) => {
  const request = await endAccess(deps, requestId, { reason: 'window-ended' });
  return { status: request.status };
});
