import type { AuditEvent } from '../../lambdas/core/domain/audit';

/**
 * Reading what `lockbox audit export` wrote, to compare it with the events the API serves: JSON
 * Lines back into events, and CSV rows (RFC 4180) into records by their header.
 */
export const jsonLines = (text: string): AuditEvent[] =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditEvent);

/**
 * The CSV row an event must export as, column by column in the documented order (docs/cli.md):
 * absent values empty, `details` as its JSON.
 */
export function csvRecordOf(event: AuditEvent): Record<string, string> {
  const e = event as AuditEvent & { actor: { person?: string } };
  return {
    eventId: e.eventId,
    seq: String(e.seq),
    chainId: e.chainId,
    at: e.at,
    type: e.type,
    tenantId: e.tenantId,
    requestId: e.requestId ?? '',
    actorKind: e.actor.kind,
    actorId: e.actor.id,
    actorPerson: e.actor.person ?? '',
    sourceIp: e.sourceIp ?? '',
    details: e.details === undefined ? '' : JSON.stringify(e.details),
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

/** The header row and the records of a CSV export (each row keyed by the header's names). */
export function csvRecords(text: string): { header: string[]; records: Record<string, string>[] } {
  const [header, ...rows] = parseCsv(text);
  return { header, records: rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]]))) };
}

/** RFC 4180, enough for the export: quoted fields with doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (quoted) {
      cell += c;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  return rows;
}
