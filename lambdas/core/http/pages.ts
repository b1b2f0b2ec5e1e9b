import { createHash } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { RequestView } from '../domain/request';
import type { LinkRefusal, OtherDecision } from '../usecases/links';
import { escapeHtml, remaining } from '../messages';

/**
 * The approver's pages: the confirmation page of a link and the result after a decision. Plain
 * HTML that works without JavaScript, with no script and no third-party resources; the one
 * `<style>` element is allowed by its hash in the Content-Security-Policy.
 */
const STYLE = `body{font-family:system-ui,Arial,sans-serif;color:#1a1a1a;max-width:40rem;margin:0 auto;padding:1rem;line-height:1.5}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
textarea{width:100%;box-sizing:border-box;font:inherit}button{font:inherit;padding:.75rem 1.25rem;margin:.5rem .5rem 0 0;border:2px solid #1a1a1a;border-radius:4px;cursor:pointer}
.approve{background:#0b6b2b;color:#fff;border-color:#0b6b2b}.deny{background:#fff;color:#8a1c1c;border-color:#8a1c1c}
.notice{padding:.75rem;border-left:4px solid #0b5394;background:#eef4fb}`;
const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'content-security-policy': `default-src 'none'; style-src '${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=31536000',
};

export function page(statusCode: number, title: string, body: string): APIGatewayProxyResult {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Lockbox</title><style>${STYLE}</style></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
  return { statusCode, headers: HEADERS, body: html };
}

function detailList(request: RequestView): string {
  const rows: [string, string][] = [
    ['Tenant', request.tenantId],
    ['Ticket', request.ticketId],
    ['Requested by', request.requestedBy],
    ['Justification', request.justification],
    ['Access level', request.accessLevel],
    ['Duration', request.duration],
    ['Requested at', request.createdAt],
  ];
  if (request.managerDecision) rows.push(['Approved by manager', request.managerDecision.by]);
  return `<dl>${rows.map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`;
}

/**
 * The value the confirmation page's form carries back: derived from the link token, so a POST
 * that did not come from the page (a scanner following the link, a forged form elsewhere) lacks
 * it. It adds no secret — the token is the credential — it only proves the page was read.
 */
export const formValue = (token: string): string => createHash('sha256').update(`lockbox-approval-form\n${token}`).digest('base64url');

export function confirmationPage(view: { request: RequestView; stage: 'manager' | 'customer'; email: string; deadline: string }, token: string, nowMs: number): APIGatewayProxyResult {
  const refuse = view.stage === 'manager' ? 'REJECT' : 'DENY';
  const deadlineMs = Date.parse(view.deadline);
  const body = `<p class="notice">A support engineer asks for access${view.stage === 'customer' ? ' to your tenant' : ''}. Nothing is granted unless you approve. This link was sent to ${escapeHtml(view.email)}.</p>
${detailList(view.request)}
<p>Decide by <strong>${escapeHtml(view.deadline)}</strong> (in ${escapeHtml(remaining(deadlineMs, nowMs))}).</p>
<form method="post">
<input type="hidden" name="form" value="${formValue(token)}">
<label for="reason">Reason (required to ${refuse === 'DENY' ? 'deny' : 'reject'})</label>
<textarea id="reason" name="reason" rows="3" maxlength="1000"></textarea>
<button class="approve" type="submit" name="decision" value="APPROVE">Approve</button>
<button class="deny" type="submit" name="decision" value="${refuse}">${refuse === 'DENY' ? 'Deny' : 'Reject'}</button>
</form>`;
  return page(200, 'Review access request', body);
}

export function decidedPage(request: RequestView, stage: 'manager' | 'customer'): APIGatewayProxyResult {
  const approved = request.status === 'APPROVED' || request.status === 'PENDING_CUSTOMER_APPROVAL';
  const next = approved
    ? stage === 'manager'
      ? "The customer's approvers are asked next."
      : 'Access is granted now and revoked automatically when the window ends.'
    : 'Nothing is granted. The engineer is told your reason.';
  return page(200, approved ? 'Approved' : 'Refused', `<p>Your decision on ${escapeHtml(request.ticketId)} is recorded. ${next}</p>`);
}

/** A genuine link whose stage someone else decided first: say who, so the approver need not wonder. */
export function alreadyDecidedPage(decided: OtherDecision): APIGatewayProxyResult {
  const verdict = decided.decision === 'APPROVE' ? 'approved' : decided.decision === 'REJECT' ? 'rejected' : 'denied';
  return page(409, 'Already decided', `<p>${escapeHtml(decided.by)} already ${verdict} this request at ${escapeHtml(decided.at)}. Nothing was changed, and you need not do anything.</p>`);
}

/** The same answer for every refused link, so a refusal tells an attacker nothing. */
export function refusalPage(_reason: LinkRefusal): APIGatewayProxyResult {
  return page(
    403,
    'This link cannot be used',
    '<p>This approval link is not valid any more: it may have been used already, the request may have been decided or expired, or the link is incomplete.</p><p>Nothing was changed. If you still need to act, ask the support engineer to file a new request, or use the Lockbox API.</p>',
  );
}
