import { wire } from '../core/container';
import { requestId, stepHandler } from '../core/http/step';
import { countMetric } from '../core/observability';
import { METRIC } from '../core/telemetry';
import { endAccess } from '../core/usecases/workflow-steps';
import { access } from '../core/wiring/access';
import { mailer } from '../core/wiring/mailer';
import { stores } from '../core/wiring/stores';
import * as z from '../core/zod';

const deps = wire({ ...stores, access, mailer });

/** The access window ended: revoke (idempotent; an early revoke already did it). */
export const handler = stepHandler(z.object({ requestId }), async ({ requestId }) => {
  const request = await endAccess(deps, requestId, { reason: 'window-ended' });
  // Counted when the window's end closed it (a retry after a crash may count it again).
  if (request.status === 'COMPLETED' && request.endReason === 'window-ended') countMetric(METRIC.revokes, { reason: 'window-ended' });
  return { status: request.status };
});
