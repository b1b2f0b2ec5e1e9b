import { wire } from '../core/container';
import { requestId, stepHandler } from '../core/http/step';
import { closeRequest, failRequest, recordRevokeFailure } from '../core/usecases/workflow-steps';
import { access } from '../core/wiring/access';
import { mailer } from '../core/wiring/mailer';
import { stores } from '../core/wiring/stores';
import * as z from '../core/zod';

const deps = wire({ ...stores, access, mailer });

/** Step Functions' description of a caught error (`$.error` of a Catch). */
const caught = z.optional(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) }));
const describe = (error: z.infer<typeof caught>) => [error?.Error, error?.Cause].filter(Boolean).join(': ').slice(0, 500) || 'unknown';

/**
 * The ends of the workflow:
 * - `outcome`: the request is closed (rejected, denied, expired, cancelled, failed); tell the engineer;
 * - `failed`: a step kept failing before access was granted; take everything back, end FAILED, tell the engineer;
 * - `revoke-failed`: revoking kept failing; record it (the execution then fails and alarms).
 */
export const handler = stepHandler(
  z.object({ requestId, kind: z.enum(['outcome', 'failed', 'revoke-failed']), error: caught }),
  async ({ requestId, kind, error }) => {
    switch (kind) {
      case 'outcome':
        return closeRequest(deps, requestId);
      case 'failed':
        await failRequest(deps, requestId, 'RequestFailed', describe(error));
        return closeRequest(deps, requestId);
      case 'revoke-failed':
        await recordRevokeFailure(deps, requestId, describe(error));
        return { status: 'ACTIVE' };
    }
  },
);
