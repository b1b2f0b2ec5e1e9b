import { wire } from '../core/container';
import { requestId, stage, stepHandler } from '../core/http/step';
import { expireStage } from '../core/usecases/workflow-steps';
import { stores } from '../core/wiring/stores';
import * as z from '../core/zod';

const deps = wire(stores);

/** A stage's callback timed out: expire the request, unless a decision won the race. */
export const handler = stepHandler(z.object({ requestId, stage }), ({ requestId, stage }) => expireStage(deps, requestId, stage));
