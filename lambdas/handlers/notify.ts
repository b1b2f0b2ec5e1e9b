import { wire } from '../core/container';
import { requestId, stage, stepHandler } from '../core/http/step';
import { holdAccess, openStage } from '../core/usecases/workflow-steps';
import { mailer } from '../core/wiring/mailer';
import { signer } from '../core/wiring/signer';
import { stores } from '../core/wiring/stores';
import { workflow } from '../core/wiring/workflow';
import * as z from '../core/zod';

const deps = wire({ ...stores, signer, mailer, workflow });

/**
 * Attaches the waiting task's token to the request: an approval stage (and emails each approver
 * a signed link), or the hold while access is granted (`access`).
 */
export const handler = stepHandler(
  z.object({
    requestId,
    stage: z.union([stage, z.literal('access')]),
    taskToken: z.string().check(z.minLength(1)),
    enteredAt: z.optional(z.iso.datetime()),
  }),
  ({ requestId, stage, taskToken }) =>
    stage === 'access' ? holdAccess(deps, requestId, taskToken) : openStage(deps, requestId, stage, taskToken),
);
