import { SFNClient } from '@aws-sdk/client-sfn';
import { SfnWorkflow } from '../adapters/sfn-workflow';
import { config } from '../config';
import { traced } from '../observability';
import { BOUNDED } from './bounded';
import { once } from './once';

/** The access-request state machine (Step Functions): start, and answer its callbacks. */
export const workflow = once(() => new SfnWorkflow(traced(new SFNClient(BOUNDED)), config.stateMachineArn));
