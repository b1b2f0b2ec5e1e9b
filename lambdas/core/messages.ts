import { parseDuration } from './domain/duration';
import type { AccessRequest, Decision } from './domain/request';
import type { Stage } from './domain/status';
import { wellFormed } from './domain/text';
import type { Email } from './ports';

/**
 * The emails Lockbox sends: to managers and customer approvers (a request awaits their decision),
 * to the other recipients of a stage (someone already decided), and to the engineer (the outcome).
 *
 * Every email has a plain-text and an HTML part that say the same thing. The HTML uses inline
 * styles and tables only (what mail clients render), loads no image, font or script, and escapes
 * every value that comes from a request — a justification is the engineer's free text. Subjects
 * start with the ticket id and say what happened; control characters are taken out of them.
 * Links carry a signed link token, never a workflow task token.
 */
export const escapeHtml = (text: string): string =>
  text
    .replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
    .replace(BIDI_CONTROLS, (char) => `<mark>${bidiCode(char).replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'))}</mark>`);

/**
 * Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) make text read in
 * another order than it is stored (a justification that hides what it asks for: T-1.10). Pages
 * and emails never pass them on: they show each one as its code, `<U+202E>` — highlighted
 * (`<mark>`) in HTML.
 */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const bidiCode = (char: string): string => `<U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`;
/** Plain text with every bidi control shown as its code. */
export const showBidiControls = (text: string): string => text.replace(BIDI_CONTROLS, bidiCode);

/** "11 h 52 min", "3 min", "40 s" — how long until `deadlineMs` (never negative). */
export function remaining(deadlineMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((deadlineMs - nowMs) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

/** "2026-11-01 14:05:37 UTC": a time nobody can misread as local time. */
export function utc(time: number | string): string {
  const ms = typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(ms)) return String(time);
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "2 h (PT2H)", "1 h 30 min (PT90M)"; a value that is not a duration is shown as it is. */
export function humanDuration(iso: string): string {
  const ms = parseDuration(iso);
  if (ms === undefined || ms <= 0) return iso;
  const parts: string[] = [];
  let seconds = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)} ${unit}`);
      seconds %= size;
    }
  }
  return `${parts.join(' ')} (${iso})`;
}

/**
 * Who an AWS principal is, in words: "alice (role SupportEngineer, AWS account 111111111111)" for
 * an assumed-role session, "carol (IAM user, AWS account 222222222222)". Anything else as it is.
 */
export function describePrincipal(principal: string): string {
  const match = /^arn:aws[a-z-]*:(sts|iam)::(\d{12}):(assumed-role|user|role)\/(.+)$/.exec(principal);
  if (!match) return principal;
  const [, , account, kind, rest = ''] = match;
  const parts = rest.split('/');
  const name = parts[parts.length - 1];
  if (kind === 'assumed-role' && parts.length >= 2) return `${name} (role ${parts[parts.length - 2]}, AWS account ${account})`;
  if (kind === 'user') return `${name} (IAM user, AWS account ${account})`;
  return `role ${name} (AWS account ${account})`;
}

/** A subject is one line: no control characters (no header injection through a ticket id). */
const oneLine = (text: string): string =>
  showBidiControls(text)
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();

const verdictWord = (decision: string): string => (decision === 'APPROVE' ? 'approved' : decision === 'REJECT' ? 'rejected' : 'denied');
const decidedBy = (decision: Pick<Decision<string>, 'by' | 'byEmail'>): string => decision.byEmail ?? describePrincipal(decision.by);

type Row = [label: string, value: string];

/** What an email says, before it is rendered into its two parts. */
interface Content {
  subject: string;
  headline: string;
  intro: string[];
  rows: Row[];
  /** A block shown as code (a command to copy). */
  code?: { label: string; text: string };
  /** The one button. */
  action?: { label: string; url: string };
  after?: string[];
  footer: string;
}

const COLORS = { text: '#1a1a1a', muted: '#4a4a4a', border: '#d0d7de', page: '#f4f5f7', button: '#0b5394' };

function render(content: Content): Omit<Email, 'to'> {
  const subject = oneLine(content.subject);
  const width = Math.max(...content.rows.map(([label]) => label.length)) + 2;
  const text = [
    content.headline,
    '',
    ...content.intro.flatMap((paragraph) => [paragraph, '']),
    ...content.rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value.split(/\r?\n/).join(`\n${' '.repeat(width)}`)}`),
    ...(content.code ? ['', `${content.code.label}:`, '', `    ${content.code.text}`] : []),
    ...(content.action ? ['', `${content.action.label}: ${content.action.url}`] : []),
    ...(content.after ?? []).flatMap((paragraph) => ['', paragraph]),
    '',
    '-- ',
    content.footer,
  ]
    .map(showBidiControls)
    .join('\n');

  const p = (paragraph: string) => `<p style="margin:0 0 12px">${escapeHtml(paragraph)}</p>`;
  const rows = content.rows
    .map(
      ([label, value]) =>
        `<tr><th align="left" valign="top" style="padding:6px 16px 6px 0;font-weight:bold">${escapeHtml(label)}</th>` +
        `<td valign="top" style="padding:6px 0;white-space:pre-wrap;word-break:break-word">${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  const code = content.code
    ? `${p(`${content.code.label}:`)}<pre style="margin:0 0 16px;padding:12px;background:${COLORS.page};border:1px solid ${COLORS.border};white-space:pre-wrap;word-break:break-all;font-size:13px">${escapeHtml(content.code.text)}</pre>`
    : '';
  const button = content.action
    ? `<p style="margin:20px 0"><a href="${escapeHtml(content.action.url)}" style="display:inline-block;padding:12px 24px;background:${COLORS.button};color:#ffffff;font-weight:bold;text-decoration:none;border-radius:4px">${escapeHtml(content.action.label)}</a></p>`
    : '';
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(subject)}</title></head>` +
    `<body style="margin:0;padding:0;background:${COLORS.page}">` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:${COLORS.page}"><tr><td align="center" style="padding:24px 12px">` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;background:#ffffff;border:1px solid ${COLORS.border};border-radius:6px">` +
    `<tr><td style="padding:24px;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:${COLORS.text}">` +
    `<p style="margin:0 0 8px;font-size:13px;color:${COLORS.muted}">Lockbox</p>` +
    `<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3">${escapeHtml(content.headline)}</h1>` +
    content.intro.map(p).join('') +
    `<table role="presentation" cellpadding="0" cellspacing="0" style="margin:8px 0 16px;font-size:15px;color:${COLORS.text}">${rows}</table>` +
    code +
    button +
    (content.after ?? []).map(p).join('') +
    `<p style="margin:24px 0 0;padding-top:12px;border-top:1px solid ${COLORS.border};font-size:13px;color:${COLORS.muted}">${escapeHtml(content.footer)}</p>` +
    `</td></tr></table></td></tr></table></body></html>`;
  // Input is refused unless well formed (http/schemas.ts); this keeps an item stored before that
  // (a lone surrogate) from failing the SES encoder (URIError) on every email of a stage.
  return { subject: wellFormed(subject), text: wellFormed(text), html: wellFormed(html) };
}

/** The request as every email describes it; the engineer's free text verbatim. */
const requestRows = (request: AccessRequest): Row[] => [
  ['Tenant', request.tenantId],
  ['Ticket', request.ticketId],
  ['Requested by', describePrincipal(request.requestedBy)],
  ['Principal', request.requestedBy],
  ['Justification', request.justification],
  ['Access level', request.accessLevel],
  ['Duration', humanDuration(request.duration)],
  ['Requested at', utc(request.createdAt)],
];

/** A short line naming the requester, the level, the tenant and the duration. */
const asks = (request: AccessRequest, tenant: string): string =>
  `${describePrincipal(request.requestedBy)} asks for ${request.accessLevel} access to ${tenant} for ${humanDuration(request.duration)}.`;

const requesterName = (request: AccessRequest): string => describePrincipal(request.requestedBy).replace(/ \(.*$/, '');

const APPROVER_FOOTER =
  'This link is yours alone and works once: do not forward this email. Lockbox never asks for a password. ' +
  'If you did not expect this request, deny it or tell your security team.';

/** To a manager or a customer approver: a request awaits their decision. */
export function approvalRequestEmail(
  request: AccessRequest,
  stage: Stage,
  linkUrl: string,
  deadlineMs: number,
  nowMs: number,
): Omit<Email, 'to'> {
  const manager = stage === 'manager';
  const rows = requestRows(request);
  if (!manager && request.managerDecision) {
    rows.push(['Approved by manager', `${decidedBy(request.managerDecision)} at ${utc(request.managerDecision.at)}`]);
    if (request.managerDecision.reason) rows.push(["Manager's note", request.managerDecision.reason]);
  }
  rows.push(['Decide by', `${utc(deadlineMs)} (expires in ${remaining(deadlineMs, nowMs)})`], ['Request id', request.requestId]);
  return render({
    subject: `[${request.ticketId}] Access request awaits your ${manager ? 'manager ' : ''}approval: ${requesterName(request)} asks for ${request.accessLevel} access to ${request.tenantId}`,
    headline: manager ? 'Manager approval needed' : 'Your approval is needed',
    intro: [
      asks(request, manager ? `the customer tenant ${request.tenantId}` : `your tenant ${request.tenantId}`),
      manager
        ? "As a support manager you decide first: the customer's approvers are asked only after you approve. Nothing is granted unless they approve too."
        : "The provider's support manager has approved. Nothing is granted unless you approve.",
    ],
    rows,
    action: { label: 'Review the request', url: linkUrl },
    after: [
      `The button opens a page with these details and the Approve and ${manager ? 'Reject' : 'Deny'} buttons; nothing happens until you press one.`,
      `If nobody decides by ${utc(deadlineMs)}, the request expires and nothing is granted.`,
    ],
    footer: APPROVER_FOOTER,
  });
}

/** To the other recipients of a stage: someone already decided; their link no longer works. */
export function alreadyDecidedEmail(
  request: AccessRequest,
  decision: Pick<Decision<string>, 'by' | 'decision' | 'at'> & { byEmail?: string; reason?: string },
): Omit<Email, 'to'> {
  const verdict = verdictWord(decision.decision);
  const who = decidedBy(decision);
  const rows: Row[] = [
    ...requestRows(request),
    [`${verdict.charAt(0).toUpperCase()}${verdict.slice(1)} by`, who],
    ['Decided at', utc(decision.at)],
  ];
  if (decision.reason) rows.push(['Reason', decision.reason]);
  rows.push(['Request id', request.requestId]);
  return render({
    subject: `[${request.ticketId}] Access request already ${verdict} by ${who}: no action needed`,
    headline: `Already ${verdict}: no action needed`,
    intro: [`${who} ${verdict} this access request before you. You need not do anything, and the link you were sent no longer works.`],
    rows,
    footer: 'You got this email because you were asked to decide on this request.',
  });
}

/** What the engineer is told, by the request's status. */
const OUTCOMES: Record<string, (request: AccessRequest) => { subject: string; headline: string; says: string }> = {
  ACTIVE: (request) => ({
    subject: `Access granted: ${request.accessLevel} on ${request.tenantId} until ${utc(request.accessExpiresAt ?? '')}`,
    headline: 'Access granted',
    says: `Your access request was approved and access is granted until ${utc(request.accessExpiresAt ?? '')}. It is revoked automatically then; the customer can revoke it earlier.`,
  }),
  COMPLETED: () => ({
    subject: 'Access ended: the window closed and access was revoked',
    headline: 'Access ended',
    says: 'Your access window ended and access was revoked. To continue, file a new request.',
  }),
  REVOKED: () => ({
    subject: 'Access revoked early by the customer',
    headline: 'Access revoked early',
    says: 'The customer revoked your access before the window ended. Sessions you still hold stop working. To continue, talk to the customer and file a new request.',
  }),
  REJECTED: () => ({
    subject: 'Access request rejected by the support manager',
    headline: 'Request rejected',
    says: 'A support manager rejected your access request. Nothing was granted.',
  }),
  DENIED: () => ({
    subject: 'Access request denied by the customer',
    headline: 'Request denied',
    says: "The customer's approver denied your access request. Nothing was granted.",
  }),
  EXPIRED: () => ({
    subject: 'Access request expired: nobody decided in time',
    headline: 'Request expired',
    says: 'Nobody decided on your access request in time, so it expired. Nothing was granted. File a new request if you still need access.',
  }),
  CANCELLED: () => ({
    subject: 'Access request cancelled',
    headline: 'Request cancelled',
    says: 'Your access request was cancelled before access was granted. Nothing was granted.',
  }),
  FAILED: () => ({
    subject: 'Access request failed: nothing was granted',
    headline: 'Access could not be granted',
    says: 'The request was approved, but access could not be granted. Nothing was left granted; the operators are alerted. File a new request to try again.',
  }),
};

/** Labels of what an access provider returns (`access`); times and the provider name are shown elsewhere. */
const ACCESS_LABELS: Record<string, string> = {
  roleArn: 'Role ARN',
  externalId: 'External id',
  roleSessionName: 'Role session name',
  sourceIdentity: 'Source identity',
  grantId: 'Grant id',
  principal: 'Granted to',
};
const ACCESS_SHOWN_ELSEWHERE = new Set([
  'provider',
  'accessStartsAt',
  'accessExpiresAt',
  'accessLevel',
  'assumeRoleCommand',
  'maxSessionSeconds',
]);

/** To the engineer: what became of their request. */
export function outcomeEmail(request: AccessRequest): Omit<Email, 'to'> {
  const outcome = (
    OUTCOMES[request.status] ??
    (() => ({
      subject: `Access request is ${request.status}`,
      headline: `Request ${request.status}`,
      says: `Your access request is now ${request.status}.`,
    }))
  )(request);
  const rows: Row[] = [...requestRows(request), ['Status', request.status]];
  const decision =
    request.status === 'REJECTED' ? request.managerDecision : request.status === 'DENIED' ? request.customerDecision : undefined;
  if (decision) {
    rows.push(
      [`${request.status === 'REJECTED' ? 'Rejected' : 'Denied'} by`, decidedBy(decision)],
      ['Reason', decision.reason ?? '(none given)'],
    );
  }
  if (request.status === 'EXPIRED' && request.endReason) rows.push(['Why', request.endReason]);
  if (request.endedAt) rows.push(['Ended at', utc(request.endedAt)]);

  let code: Content['code'];
  const after: string[] = [];
  if (request.status === 'ACTIVE') {
    if (request.customerDecision) rows.push(['Approved by', decidedBy(request.customerDecision)]);
    if (request.customerDecision?.reason) rows.push(["Approver's note", request.customerDecision.reason]);
    if (request.accessStartsAt) rows.push(['Access from', utc(request.accessStartsAt)]);
    rows.push(['Access until', utc(request.accessExpiresAt ?? '')]);
    const access = request.access ?? {};
    for (const [key, value] of Object.entries(access)) {
      if (ACCESS_SHOWN_ELSEWHERE.has(key) || value === undefined) continue;
      rows.push([ACCESS_LABELS[key] ?? key, typeof value === 'string' ? value : JSON.stringify(value)]);
    }
    if (typeof access.maxSessionSeconds === 'number')
      rows.push(['Longest session', humanDuration(`PT${access.maxSessionSeconds}S`).replace(/ \(.*\)$/, '')]);
    if (typeof access.assumeRoleCommand === 'string') {
      code = { label: 'How to use it: assume the role with the AWS CLI', text: access.assumeRoleCommand };
      after.push(
        'Each session lasts at most the longest session shown; assume the role again while the window is open. The role refuses everything after the access window.',
      );
    } else if (access.provider === 'local') {
      after.push('Local mode: the grant is a row of the local Grants table; nothing real is granted.');
    }
  }
  rows.push(['Request id', request.requestId]);
  return render({
    subject: `[${request.ticketId}] ${outcome.subject}`,
    headline: outcome.headline,
    intro: [outcome.says],
    rows,
    code,
    after,
    footer: 'You got this email because you filed this access request with Lockbox.',
  });
}
