import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_SERVER } from './net';

/**
 * SES on one machine: `aws-ses-v2-local` in this process. The handlers' SESv1 SendEmail reaches it
 * through `AWS_ENDPOINT_URL_SES`; what it captured is read back from its store over HTTP.
 * It checks no sender identity and sends nothing anywhere (real SES does both).
 */
export interface OutboxMail {
  messageId: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** When it was sent, ISO-8601 (the emulator keeps whole seconds). */
  at: string;
}

export interface LocalSes {
  endpoint: string;
  outbox(): Promise<OutboxMail[]>;
  stop(): Promise<void>;
}

interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to?: string[] };
  subject: string;
  body: { text?: string; html?: string };
  at: number;
}

export async function startSes(): Promise<LocalSes> {
  const { default: start } = (await import('aws-ses-v2-local')) as unknown as {
    default: (config: { host: string; port: number }) => Promise<Server>;
  };
  const server = await start({ host: '127.0.0.1', port: 0 });
  // Started by the emulator itself: only its keep-alive can be set (see LOCAL_SERVER).
  Object.assign(server, LOCAL_SERVER);
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    async outbox() {
      const response = await fetch(`${endpoint}/store`);
      if (!response.ok) throw new Error(`SES emulator store: HTTP ${response.status}`);
      const { emails } = (await response.json()) as { emails: StoredEmail[] };
      return emails.map((email) => ({
        messageId: email.messageId,
        from: email.from,
        to: email.destination.to ?? [],
        subject: email.subject,
        text: email.body.text ?? '',
        html: email.body.html ?? '',
        at: new Date(email.at * 1000).toISOString(),
      }));
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
