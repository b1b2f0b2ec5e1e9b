import { SESClient } from '@aws-sdk/client-ses';
import { SesMailer } from '../adapters/ses-mailer';
import { config } from '../config';
import { traced } from '../observability';
import { once } from './once';

/** Email through SES, from the configured sender. */
export const mailer = once(() => new SesMailer(traced(new SESClient({})), config.senderEmail()));
