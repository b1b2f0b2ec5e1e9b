import { SESClient } from '@aws-sdk/client-ses';
import { SesMailer } from '../adapters/ses-mailer';
import { config } from '../config';
import { traced } from '../observability';
import { once } from './once';

/**
 * Email through SES, from the configured sender. Only workflow steps and the reconciler send email
 * (never an API route), so the function's timeout bounds a send: the SDK's default client lets a
 * burst of emails wait their turn instead of failing them after the API's short timeouts (`BOUNDED`).
 */
export const mailer = once(() => new SesMailer(traced(new SESClient({})), config.senderEmail()));
