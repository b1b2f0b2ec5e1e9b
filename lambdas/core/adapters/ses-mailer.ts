import { type SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import type { Email, Mailer } from '../ports';

/** Email through SES (SESv1 SendEmail; in local mode the same call reaches aws-ses-v2-local). */
export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESClient,
    private readonly sender: string,
  ) {}

  async send(email: Email): Promise<void> {
    await this.ses.send(
      new SendEmailCommand({
        Source: this.sender,
        Destination: { ToAddresses: email.to },
        Message: {
          Subject: { Data: email.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: email.text, Charset: 'UTF-8' }, Html: { Data: email.html, Charset: 'UTF-8' } },
        },
      }),
    );
  }
}
