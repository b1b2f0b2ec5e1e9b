import { readFile } from 'node:fs/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  type SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalPage, PlainResponse } from './gateway';
import { PRINCIPAL_HEADER } from './gateway';
import { PERSONAS } from './seed';
import type { OutboxMail } from './ses';

/**
 * The pages under `/_local`: what a developer (and the end-to-end tests) can see of the machinery
 * that is invisible on AWS — the mail that was sent, the grants of the local access provider, the
 * exported audit events, the workflow executions, the task tokens that were issued.
 * They exist only in local mode.
 */
export interface AdminSources {
  /** Base URL of the gateway. */
  url: string;
  outbox: () => Promise<OutboxMail[]>;
  dynamo: DynamoDBClient;
  grantsTable: string;
  auditLogFile: string;
  sfn: SFNClient;
  stateMachineArn: string;
  issuedTokens: () => string[];
}

export interface GrantView {
  requestId: string;
  tenantId?: string;
  principal: string;
  accessLevel?: string;
  grantedAt: string;
  expiresAt: string;
  revokedAt?: string;
}

export function adminPages(sources: AdminSources): Record<string, LocalPage> {
  const doc = DynamoDBDocumentClient.from(sources.dynamo);
  return {
    '/_local': async () => html('Lockbox local mode', indexPage(sources.url)),
    '/_local/health': async () => json({ ok: true }),
    '/_local/outbox': async ({ query, headers }) => {
      const mails = await sources.outbox();
      const wantsHtml = query.get('format') !== 'json' && String(headers.accept ?? '').includes('text/html');
      return wantsHtml ? html('Outbox', outboxPage(mails)) : json(mails);
    },
    '/_local/grants': async () => {
      const items: GrantView[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(new ScanCommand({ TableName: sources.grantsTable, ConsistentRead: true, ExclusiveStartKey: start }));
        items.push(...((page.Items ?? []) as GrantView[]));
        start = page.LastEvaluatedKey;
      } while (start);
      return json(items.sort((a, b) => a.grantedAt.localeCompare(b.grantedAt)));
    },
    '/_local/events': async () => {
      const text = await readFile(sources.auditLogFile, 'utf8').catch(() => '');
      return json(
        text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as unknown),
      );
    },
    '/_local/executions': async ({ query }) => {
      const executions = [];
      let nextToken: string | undefined;
      const status = query.get('status') ?? undefined;
      do {
        const page = await sources.sfn.send(
          new ListExecutionsCommand({ stateMachineArn: sources.stateMachineArn, nextToken, statusFilter: status as never }),
        );
        executions.push(
          ...(page.executions ?? []).map((execution) => ({
            name: execution.name,
            status: execution.status,
            startDate: execution.startDate,
            stopDate: execution.stopDate,
            executionArn: execution.executionArn,
          })),
        );
        nextToken = page.nextToken;
      } while (nextToken);
      return json(executions);
    },
    '/_local/executions/*': async ({ path, method }) => {
      const stop = path.endsWith('/stop');
      const name = decodeURIComponent(path.slice('/_local/executions/'.length, stop ? -'/stop'.length : undefined));
      const executionArn = `${sources.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      // POST …/<request id>/stop: stops the execution as an operator would (strands its request on purpose).
      if (stop !== (method === 'POST'))
        return json({ message: 'POST /_local/executions/<request id>/stop, or GET /_local/executions/<request id>' }, 405);
      try {
        if (stop) {
          await sources.sfn.send(new StopExecutionCommand({ executionArn }));
          return json({ stopped: name });
        }
        const execution = await sources.sfn.send(new DescribeExecutionCommand({ executionArn }));
        const history = [];
        let nextToken: string | undefined;
        do {
          const page = await sources.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken }));
          history.push(...(page.events ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        const { $metadata: _metadata, ...described } = execution;
        return json({ ...described, history });
      } catch (error) {
        if ((error as Error).name === 'ExecutionDoesNotExist') return json({ message: `No execution named ${name}` }, 404);
        throw error;
      }
    },
    '/_local/task-tokens': async () => json({ tokens: sources.issuedTokens() }),
  };
}

const json = (body: unknown, status = 200): PlainResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body, null, 2),
});

const escape = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function html(title: string, body: string): PlainResponse {
  return {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'",
    },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Lockbox local</title>
<style>body{font-family:system-ui,Arial,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.45;color:#1a1a1a}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
code,pre{background:#f4f4f4;padding:.1rem .3rem;overflow-wrap:anywhere;white-space:pre-wrap}.warn{border-left:4px solid #b45309;background:#fff7ed;padding:.5rem 1rem}
article{border:1px solid #ddd;border-radius:4px;padding:.5rem 1rem;margin:1rem 0}iframe{width:100%;height:22rem;border:1px solid #eee}</style></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`,
  };
}

function indexPage(url: string): string {
  const rows = Object.entries(PERSONAS)
    .map(
      ([name, persona]) =>
        `<tr><td>${escape(name)}</td><td>${escape(persona.role)}</td><td><code>${escape(persona.principal)}</code></td><td>${escape(persona.email)}</td></tr>`,
    )
    .join('');
  return `<p class="warn">Local mode is for development and demos, never for production: the caller is whoever the
<code>${PRINCIPAL_HEADER}</code> header names, and nothing here is real AWS.</p>
<h2>Personas</h2><table><tr><th>who</th><th>role</th><th>principal (<code>${PRINCIPAL_HEADER}</code>)</th><th>email</th></tr>${rows}</table>
<h2>Look inside</h2><ul>
<li><a href="/_local/outbox">Outbox</a> — every email sent (approval links open the confirmation page)</li>
<li><a href="/_local/grants">Grants</a> — the local access provider's grants</li>
<li><a href="/_local/events">Audit events</a> — as exported (the "event bus")</li>
<li><a href="/_local/executions">Executions</a> — the workflow of each request; <code>/_local/executions/&lt;request id&gt;</code> for its history</li>
</ul>
<h2>Try it</h2><pre>curl -s -X POST ${escape(url)}/requests \\
  -H '${PRINCIPAL_HEADER}: ${PERSONAS.alice.principal}' -H 'content-type: application/json' \\
  -d '{"tenantId":"demo","ticketId":"T-1","justification":"Look at failing backups","accessLevel":"ReadOnly","duration":"PT2M"}'</pre>
<p>or run <code>npm run demo</code>.</p>`;
}

function outboxPage(mails: OutboxMail[]): string {
  if (mails.length === 0) return '<p>No mail yet.</p>';
  const linkify = (text: string) => escape(text).replace(/(https?:\/\/[^\s<]+)/g, (url) => `<a href="${url}">${url}</a>`);
  return mails
    .slice()
    .reverse()
    .map(
      (mail) => `<article><p><strong>${escape(mail.subject)}</strong><br>to ${escape(mail.to.join(', '))} · ${escape(mail.at)}</p>
<details><summary>HTML</summary><iframe sandbox srcdoc="${escape(mail.html)}"></iframe></details><pre>${linkify(mail.text)}</pre></article>`,
    )
    .join('');
}
