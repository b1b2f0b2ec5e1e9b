import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type Command, Option } from 'commander';
import type { AuditEvent } from '../../lambdas/core/domain/audit';
import type { Digest } from '../../lambdas/core/domain/digest';
import { verifyLedger } from '../../lambdas/core/domain/ledger-verify';
import type { Api } from '../client';
import { action, type Context } from '../context';
import { CliError, EXIT } from '../errors';
import { isoTime } from '../time';
import { who } from '../views';
import { collectItems, positiveInt } from './requests';
import { tenantPath } from './tenants';

/** Auditors (and the tenant's approvers and admins): `audit list|export|verify|digests`. */
export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description("a tenant's tamper-evident audit log: read, export, verify (auditors, approvers, admins)");
  const range = (command: Command) =>
    command
      .requiredOption('-t, --tenant <id>', 'the tenant')
      .option('--from <time>', 'events at or after this time (2026-12-01 or an ISO time)')
      .option('--to <time>', 'events at or before this time');

  range(audit.command('list').description('audit events in order'))
    .option('--request <requestId>', 'only the events of this request')
    .option('-n, --limit <n>', 'at most this many', positiveInt('--limit'), 100)
    .option('--all', 'every event, page after page')
    .action(
      action(async (context: Context<RangeFlags & { request?: string; limit: number; all?: boolean }>) => {
        const events = await collectItems(
          filtered(eventsOf(await context.api(), context.flags), context.flags.request),
          context.flags.all ? Infinity : context.flags.limit,
        );
        context.out.result({ items: events }, () =>
          context.out.table(
            ['AT', 'TYPE', 'CHAIN', 'SEQ', 'BY', 'FROM'],
            events.map((event) => [
              event.at,
              event.type,
              event.chainId,
              String(event.seq),
              `${event.actor.kind} ${who(event.actor.id)}`,
              event.sourceIp ?? '',
            ]),
          ),
        );
      }),
    );

  range(audit.command('export').description('every event of the range as JSON Lines or CSV, streamed page by page'))
    .addOption(
      new Option('--format <format>', 'jsonl: one event per line; csv: one row per event').choices(['jsonl', 'csv']).default('jsonl'),
    )
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(
      action(async (context: Context<RangeFlags & { format: 'jsonl' | 'csv'; output?: string }>) => {
        const stream = context.flags.output ? createWriteStream(context.flags.output) : process.stdout;
        const write = async (text: string) => {
          if (!stream.write(text)) await once(stream, 'drain');
        };
        let count = 0;
        if (context.flags.format === 'csv') await write(`${CSV_COLUMNS.join(',')}\r\n`);
        for await (const event of eventsOf(await context.api(), context.flags)) {
          await write(context.flags.format === 'csv' ? `${csvRow(event)}\r\n` : `${JSON.stringify(event)}\n`);
          count++;
        }
        if (stream !== process.stdout) {
          await new Promise<void>((resolve, reject) => {
            stream.once('error', reject);
            stream.end(() => resolve());
          });
        }
        context.out.note(`exported ${count} event(s)${context.flags.output ? ` to ${context.flags.output}` : ''}`);
      }),
    );

  audit
    .command('verify')
    .description('fetch every event and digest and recompute every hash chain and signature here (trusts nothing the server says)')
    .requiredOption('-t, --tenant <id>', 'the tenant')
    .addHelpText('after', '\nExit codes: 0 when everything verifies, 6 when something was changed, removed or inserted.')
    .action(
      action(async (context: Context<{ tenant: string }>) => {
        const api = await context.api();
        const events = await collectItems(eventsOf(api, { tenant: context.flags.tenant }), Infinity);
        const { digests, publicKey, latest, served } = await digestsOf(api, context.flags.tenant);
        // The ledger's own pure verifier, run here on what was fetched; the server's verify is never asked.
        const report = verifyLedger({ events, digests, publicKeyPem: publicKey?.pem ?? '', keyId: publicKey?.keyId, latestDigest: latest });
        const v = report.verified;
        const broken = report.firstBroken;
        context.out.result({ ...report, digestsServed: served }, () =>
          report.ok
            ? `${context.out.out.green('OK')}: ${v.events} event(s) in ${v.chains} chain(s) of ${context.flags.tenant} recomputed; ${
                served
                  ? `${v.digests} signed digest(s) verified${v.lastDigestAt ? `, sealed up to ${v.lastDigestAt} (${v.sealedEvents} event(s))` : ''}`
                  : 'this deployment serves no signed digests (chains only)'
              }`
            : `${context.out.out.red('BROKEN')} at ${broken?.kind}${broken?.chainId ? ` ${broken.chainId}` : ''}${broken?.seq !== undefined ? ` seq ${broken.seq}` : ''}${broken?.digestSeq !== undefined ? ` digest ${broken.digestSeq}` : ''}: ${broken?.message}`,
        );
        if (!report.ok)
          throw new CliError(EXIT.tampered, `the audit log of ${context.flags.tenant} does not verify: ${report.firstBroken?.message}`);
      }),
    );

  range(audit.command('digests').description('the signed digests of the tenant (and the public key they are signed with)')).action(
    action(async (context: Context<RangeFlags>) => {
      const { digests, publicKey } = await digestsOf(await context.api(), context.flags.tenant, context.flags);
      context.out.result({ items: digests, publicKey }, () =>
        context.out.table(
          ['SEQ', 'PERIOD END', 'CHAINS', 'KEY'],
          digests.map((digest) => [String(digest.seq), digest.periodEnd, String(digest.chains.length), digest.keyId]),
        ),
      );
    }),
  );
}

interface RangeFlags {
  tenant: string;
  from?: string;
  to?: string;
}

function eventsOf(api: Api, flags: RangeFlags): AsyncGenerator<AuditEvent> {
  return api.items<AuditEvent>(`/tenants/${tenantPath(flags.tenant)}/audit`, {
    from: flags.from && isoTime(flags.from, '--from'),
    to: flags.to && isoTime(flags.to, '--to'),
    limit: '100',
  });
}

async function* filtered(events: AsyncGenerator<AuditEvent>, requestId: string | undefined): AsyncGenerator<AuditEvent> {
  for await (const event of events) if (!requestId || event.requestId === requestId) yield event;
}

/**
 * Every digest, the public key and the last digest the ledger recorded sealing (from the first
 * page, read before it); a deployment without the digests route has none to give.
 */
async function digestsOf(api: Api, tenantId: string, range: Partial<RangeFlags> = {}) {
  const digests: Digest[] = [];
  let publicKey: { keyId?: string; pem?: string } | undefined;
  let latest: { seq: number; hash: string } | undefined;
  let nextToken: string | undefined;
  try {
    do {
      const { body } = await api.call<{
        items: Digest[];
        publicKey?: { keyId?: string; pem?: string };
        latest?: { seq: number; hash: string };
        nextToken?: string;
      }>('GET', `/tenants/${tenantPath(tenantId)}/audit/digests`, {
        query: { from: range.from && isoTime(range.from, '--from'), to: range.to && isoTime(range.to, '--to'), limit: '100', nextToken },
      });
      digests.push(...(body.items ?? []));
      publicKey = body.publicKey ?? publicKey;
      if (!nextToken) latest = body.latest;
      nextToken = body.nextToken;
    } while (nextToken);
  } catch (error) {
    // A deployment without the digests route (API Gateway answers 401 for an unknown route, after
    // the events were read with the same credentials): nothing signed to check, and it says so.
    if (!(error instanceof CliError) || !/MissingAuthenticationToken|NOT_FOUND|UNAUTHENTICATED/.test(error.message)) throw error;
    return { digests, publicKey, latest, served: false };
  }
  return { digests, publicKey, latest, served: true };
}

const CSV_COLUMNS = [
  'eventId',
  'seq',
  'chainId',
  'at',
  'type',
  'tenantId',
  'requestId',
  'actorKind',
  'actorId',
  'actorPerson',
  'sourceIp',
  'details',
  'prevHash',
  'hash',
];

function csvRow(event: AuditEvent): string {
  const e = event as AuditEvent & { chainId?: string; actor: { person?: string } };
  const cells = [
    e.eventId,
    e.seq,
    e.chainId,
    e.at,
    e.type,
    e.tenantId,
    e.requestId,
    e.actor?.kind,
    e.actor?.id,
    e.actor?.person,
    e.sourceIp,
    e.details === undefined ? '' : JSON.stringify(e.details),
    e.prevHash,
    e.hash,
  ];
  return cells.map(csvCell).join(',');
}

/** RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. A leading = + - @ is prefixed with ' so spreadsheets do not run it. */
function csvCell(value: unknown): string {
  let text = value === undefined || value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
