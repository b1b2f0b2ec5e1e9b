import { SESClient } from '@aws-sdk/client-ses';
import { SesMailer } from '../adapters/ses-mailer';
import { config } from '../config';
import { traced } from '../observability';
import { BOUNDED } from './bounded';
import { once } from './once';

/** Email through SES, from the configured sender; bounded like every call (a step never waits on a queue). */
export const mailer = once(() => new SesMailer(traced(new SESClient(BOUNDED)), config.senderEmail()));
