import * as z from 'zod';
import { deps } from '../core/container';
import { requestId, stage, stepHandler } from '../core/http/step';
import { openStage } from '../core/usecases/workflow-steps';

/** Opens an approval stage: stores the task token, emails each approver a signed link. */
export const handler = stepHandler(
  z.object({ requestId, stage, taskToken: z.string().min(1), enteredAt: z.iso.datetime().optional() }),
  ({ requestId, stage, taskToken, enteredAt }) => openStage(deps, requestId, stage, taskToken, enteredAt),
);
