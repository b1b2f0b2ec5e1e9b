import { wire } from '../core/container';
import { requestId, stepHandler } from '../core/http/step';
import { countMetric } from '../core/observability';
import { METRIC } from '../core/telemetry';
import { grantAccess } from '../core/usecases/workflow-steps';
import { access } from '../core/wiring/access';
import { mailer } from '../core/wiring/mailer';
import { stores } from '../core/wiring/stores';
import * as z from '../core/zod';

const deps = wire({ ...stores, access, mailer });

/** Nothing granted: the hold step completes its task at once, long before this timer. */
const NOT_HELD_SECONDS = 60;

/** Grants access for an approved request; returns the window's end and the hold task's timer. */
export const handler = stepHandler(z.object({ requestId }), async ({ requestId }) => {
  const result = await grantAccess(deps, requestId);
  if (result.status === 'ACTIVE') countMetric(METRIC.grants);
  // The state machine reads every field, so each is present (a valid timestamp) even when nothing was granted.
  return {
    status: result.status,
    accessExpiresAt: result.accessExpiresAt ?? new Date().toISOString(),
    holdSeconds: result.holdSeconds ?? NOT_HELD_SECONDS,
  };
});
