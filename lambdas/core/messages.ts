import type { AccessRequest } from './domain/request';
import type { Stage } from './domain/status';
import type { Email } from './ports';

/**
 * The emails Lockbox sends. Plain text and HTML parts, no external images or scripts; every value
 * that comes from a request is escaped in the HTML part. Links carry a signed link token, never a
 * workflow task token.
 */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** "11 h 52 min", "40 s" — how long until `deadlineMs`. */
export function remaining(deadlineMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((deadlineMs - nowMs) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

const details = (request: AccessRequest): [string, string][] => [
  ['Tenant', request.tenantId],
  ['Ticket', request.ticketId],
  ['Requested by', request.requestedBy],
  ['Justification', request.justification],
  ['Access level', request.accessLevel],
  ['Duration', request.duration],
  ['Request id', request.requestId],
];

function render(subject: string, intro: string, rows: [string, string][], action?: { label: string; url: string }, outro?: string): Omit<Email, 'to'> {
  const text = [
    intro,
    '',
    ...rows.map(([label, value]) => `${label}: ${value}`),
    ...(action ? ['', `${action.label}: ${action.url}`] : []),
    ...(outro ? ['', outro] : []),
  ].join('\n');
  const table = rows
    .map(([label, value]) => `<tr><th align="left" style="padding:4px 12px 4px 0">${escapeHtml(label)}</th><td style="padding:4px 0">${escapeHtml(value)}</td></tr>`)
    .join('');
  const button = action
    ? `<p><a href="${escapeHtml(action.url)}" style="display:inline-block;padding:12px 20px;background:#0b5394;color:#ffffff;text-decoration:none;border-radius:4px">${escapeHtml(action.label)}</a></p>`
    : '';
  const html = `<!doctype html><html><body style="font-family:Arial,sans-serif;color:#1a1a1a;max-width:600px"><p>${escapeHtml(intro)}</p><table>${table}</table>${button}${outro ? `<p>${escapeHtml(outro)}</p>` : ''}</body></html>`;
  return { subject, text, html };
}

/** To a manager or a customer approver: a request awaits their decision. */
export function approvalRequestEmail(request: AccessRequest, stage: Stage, linkUrl: string, deadlineMs: number, nowMs: number): Omit<Email, 'to'> {
  const who = stage === 'manager' ? 'A support engineer asks for access to a customer tenant.' : 'A support engineer of your provider asks for access to your tenant.';
  const deadline = new Date(deadlineMs).toISOString();
  return render(
    `[${request.ticketId}] Access request awaits your ${stage === 'manager' ? 'manager ' : ''}approval`,
    `${who} Nothing is granted unless you approve.`,
    [...details(request), ['Decide by', `${deadline} (expires in ${remaining(deadlineMs, nowMs)})`]],
    { label: 'Review the request', url: linkUrl },
    'If you do not decide by then, the request expires and nothing is granted.',
  );
}

const OUTCOMES: Record<string, { title: string; says: string }> = {
  ACTIVE: { title: 'approved: access granted', says: 'Your access request was approved and access is granted.' },
  REJECTED: { title: 'rejected by the support manager', says: 'Your access request was rejected by a support manager.' },
  DENIED: { title: 'denied by the customer', says: "Your access request was denied by the customer's approver." },
  EXPIRED: { title: 'expired', says: 'Your access request expired: nobody decided in time. Nothing was granted.' },
  CANCELLED: { title: 'cancelled', says: 'Your access request was cancelled. Nothing was granted.' },
  FAILED: { title: 'failed', says: 'Access could not be granted. Nothing was left granted.' },
  REVOKED: { title: 'revoked early', says: 'The customer revoked your access before the window ended.' },
  COMPLETED: { title: 'access window ended', says: 'Your access window ended and access was revoked.' },
};

/** To the other recipients of a stage: someone already decided; their link no longer works. */
export function alreadyDecidedEmail(request: AccessRequest, decision: { by: string; byEmail?: string; decision: string; at: string }): Omit<Email, 'to'> {
  const verdict = decision.decision === 'APPROVE' ? 'approved' : decision.decision === 'REJECT' ? 'rejected' : 'denied';
  return render(
    `[${request.ticketId}] Access request already ${verdict}`,
    `${decision.byEmail ?? decision.by} already ${verdict} this access request. You need not do anything; your link no longer works.`,
    [...details(request), ['Decided at', decision.at]],
  );
}

/** To the engineer: what became of their request. */
export function outcomeEmail(request: AccessRequest): Omit<Email, 'to'> {
  const outcome = OUTCOMES[request.status] ?? { title: request.status.toLowerCase(), says: `Your access request is now ${request.status}.` };
  const reason = request.customerDecision?.reason ?? request.managerDecision?.reason ?? request.endReason;
  const rows: [string, string][] = [...details(request), ['Status', request.status]];
  if (reason) rows.push(['Reason', reason]);
  if (request.status === 'ACTIVE') {
    rows.push(['Access until', request.accessExpiresAt ?? '']);
    for (const [key, value] of Object.entries(request.access ?? {})) rows.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  return render(`[${request.ticketId}] Access request ${outcome.title}`, outcome.says, rows);
}
