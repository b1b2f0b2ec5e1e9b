import { createHash } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { RequestView } from '../domain/request';
import { wellFormed } from '../domain/text';
import { describePrincipal, escapeHtml, humanDuration, remaining, utc } from '../messages';
import type { LinkRefusal, OtherDecision } from '../usecases/links';
import { nameParts, requestIdHtml, shortName, shortValue, when } from './wrapping';

/**
 * The approver's pages: the confirmation page of a link and the pages after a decision.
 *
 * Plain HTML that works without JavaScript: there is no script at all, and no image, font or
 * third-party resource. The one `<style>` element is allowed by its hash in the
 * Content-Security-Policy, so the policy needs no `'unsafe-inline'`. Every value from a request
 * is escaped. Built for a phone (375 px and up), a keyboard (visible focus, buttons in reading
 * order) and contrast (every text colour at least 4.5:1 on its background).
 */
const STYLE = `*{box-sizing:border-box}
html{color-scheme:light;-webkit-text-size-adjust:100%}
body{margin:0;background:#f4f5f7;color:#1a1a1a;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.brand{max-width:42rem;margin:0 auto;padding:.75rem 1rem 0;color:#4a4a4a;font-size:.875rem}
main{max-width:42rem;margin:.5rem auto 2rem;padding:1.25rem 1rem;background:#fff;border:1px solid #d0d7de;border-radius:6px}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .75rem}
h2{font-size:1.125rem;margin:1.5rem 0 .5rem}
p{margin:0 0 .75rem}
.lead{font-size:1.0625rem}
.notice{padding:.75rem;border-left:4px solid #0b5394;background:#eef4fb}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.375rem 1rem;margin:0 0 1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere;white-space:pre-wrap}
.principal{display:block;color:#4a4a4a;font-size:.875rem}
.deadline{padding:.75rem;background:#fff8e5;border-left:4px solid #8a5a00}
ul{margin:0 0 .75rem;padding-left:1.25rem}
form{margin:0 0 1.25rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
textarea{display:block;width:100%;min-height:5.5rem;padding:.5rem;font:inherit;color:#1a1a1a;background:#fff;border:1px solid #6b6b6b;border-radius:4px}
button{font:inherit;font-weight:600;min-height:2.75rem;padding:.625rem 1.5rem;margin-top:.5rem;border:2px solid #1a1a1a;border-radius:4px;cursor:pointer}
.approve{background:#0b6b2b;color:#fff;border-color:#0b6b2b}
.deny{background:#fff;color:#8a1c1c;border-color:#8a1c1c}
.hint{color:#4a4a4a;font-size:.9375rem;margin:.375rem 0 0}
a{color:#0b5394}
blockquote{margin:0 0 .75rem;padding:.5rem .75rem;border-left:4px solid #6b6b6b;background:#f4f5f7;white-space:pre-wrap;overflow-wrap:anywhere}
code{overflow-wrap:anywhere;font-size:.875em}
:focus-visible{outline:3px solid #0b5394;outline-offset:2px}
.top{max-width:72rem;margin:0 auto;padding:.75rem 1rem 0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline;justify-content:space-between;color:#4a4a4a;font-size:.875rem}
.top form{margin:0;display:inline}
.top button{min-height:2.25rem;padding:.25rem .75rem;margin:0;background:#fff;color:#1a1a1a;border-width:1px}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem;margin:.5rem 0 0;padding:0}
nav a{display:inline-block;padding:.5rem .75rem;border-radius:4px;text-decoration:none;color:#0b5394;font-weight:600}
nav a[aria-current=page]{background:#0b5394;color:#fff}
.wide{max-width:72rem}
.card{border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin:0 0 1.25rem}
.card h2{margin-top:0}
.row{display:flex;flex-wrap:wrap;gap:.75rem 1.5rem;align-items:flex-start}
.row form{flex:1 1 16rem}
.status{display:inline-block;padding:0 .5rem;border:1px solid #4a4a4a;border-radius:1rem;font-size:.875rem;font-weight:600}
.ok{padding:.75rem;border-left:4px solid #0b6b2b;background:#edf7ef}
.bad{padding:.75rem;border-left:4px solid #8a1c1c;background:#fbeeee}
.ok h2,.bad h2{margin-top:0}
table{border-collapse:collapse;width:100%;margin:0 0 1rem;font-size:.9375rem}
th,td{text-align:left;vertical-align:top;padding:.375rem .5rem;border-bottom:1px solid #d0d7de}
.scroll{overflow-x:auto}
.nowrap{white-space:nowrap}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin:0 0 1rem;padding:.75rem}
legend{font-weight:600;padding:0 .25rem}
input[type=text],input[type=email],input[type=datetime-local],select{display:block;width:100%;max-width:28rem;min-height:2.5rem;padding:.375rem .5rem;font:inherit;color:#1a1a1a;background:#fff;border:1px solid #6b6b6b;border-radius:4px}
input[type=checkbox]{width:1.25rem;height:1.25rem;vertical-align:middle;margin-right:.5rem}
.check{font-weight:400;display:flex;align-items:center}
.field{margin:0 0 .75rem}
.primary{background:#0b5394;color:#fff;border-color:#0b5394}
.button{display:inline-block;font-weight:600;padding:.625rem 1.5rem;background:#0b5394;color:#fff;border-radius:4px;text-decoration:none}
@media (max-width:30rem){dl{grid-template-columns:1fr;gap:0}dt{margin-top:.5rem}button{width:100%}.top button{width:auto}main{border-left:0;border-right:0;border-radius:0}
.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.stack,.stack tbody,.stack tr,.stack td,.stack caption{display:block}
.stack caption{text-align:left}
.stack tr{padding:.5rem 0;border-bottom:1px solid #d0d7de}
.stack td{padding:.125rem 0;border:0}
.stack td::before{content:attr(data-label) " " / "";font-weight:600}}`;
const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=31536000',
  'x-robots-tag': 'noindex, nofollow',
};

/** `formAction`: origins a form may go to besides this one (redirects after a post count too). */
const contentSecurityPolicy = (formAction: readonly string[] = []) =>
  `default-src 'none'; style-src '${STYLE_HASH}'; form-action ${["'self'", ...formAction].join(' ')}; frame-ancestors 'none'; base-uri 'none'`;

/**
 * One page. `top` replaces the brand line (the console's header: who is signed in, its menu);
 * `wide` lets tables use a desktop's width; `headers` adds to the security headers (cookies).
 */
export function page(
  statusCode: number,
  title: string,
  body: string,
  options: { top?: string; wide?: boolean; headers?: Record<string, string>; cookies?: string[]; formAction?: readonly string[] } = {},
): APIGatewayProxyResult {
  const top = options.top ?? '<p class="brand">Lockbox · support access approval</p>';
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta name="robots" content="noindex, nofollow"><title>${escapeHtml(title)} · Lockbox</title><style>${STYLE}</style></head>` +
    `<body>${top}<main${options.wide ? ' class="wide"' : ''}><h1>${escapeHtml(title)}</h1>\n${body}\n</main></body></html>`;
  return {
    statusCode,
    headers: { ...HEADERS, 'content-security-policy': contentSecurityPolicy(options.formAction), ...options.headers },
    ...(options.cookies?.length ? { multiValueHeaders: { 'set-cookie': options.cookies } } : {}),
    body: wellFormed(html),
  };
}

/** A link back to the confirmation page (the same URL, fetched again with GET). */
const BACK = '<p><a href="">Back to the request</a></p>';

const stageWords = (stage: 'manager' | 'customer') =>
  stage === 'manager'
    ? { refuse: 'REJECT', Refuse: 'Reject', refused: 'rejected', whose: 'the customer tenant' }
    : { refuse: 'DENY', Refuse: 'Deny', refused: 'denied', whose: 'your tenant' };

const decidedByText = (decision: { by: string; byEmail?: string }) => decision.byEmail ?? describePrincipal(decision.by);

export function detailList(request: RequestView, stage: 'manager' | 'customer'): string {
  const rows: [string, string][] = [
    ['Tenant', escapeHtml(request.tenantId)],
    ['Ticket', shortValue(request.ticketId)],
    [
      'Requested by',
      `${nameParts(describePrincipal(request.requestedBy))}<span class="principal">${nameParts(request.requestedBy)}</span>`,
    ],
    ['Justification', escapeHtml(request.justification)],
    ['Access level', escapeHtml(request.accessLevel)],
    ['Duration', escapeHtml(humanDuration(request.duration))],
    ['Requested at', when(request.createdAt)],
  ];
  if (stage === 'customer' && request.managerDecision) {
    rows.push(['Approved by manager', `${shortName(decidedByText(request.managerDecision))}, ${when(request.managerDecision.at)}`]);
    if (request.managerDecision.reason) rows.push(["Manager's note", escapeHtml(request.managerDecision.reason)]);
  }
  rows.push(['Request id', requestIdHtml(request.requestId)]);
  return `<dl>${rows.map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${value}</dd>`).join('')}</dl>`;
}

/**
 * The value the confirmation page's forms carry back: derived from the link token, so a POST
 * that did not come from the page (a scanner following the link, a forged form elsewhere) lacks
 * it. It adds no secret — the token is the credential — it only proves the page was read.
 */
export const formValue = (token: string): string => createHash('sha256').update(`lockbox-approval-form\n${token}`).digest('base64url');

/**
 * `GET /approvals/{token}`: who asks for what, until when the approver can decide, and two forms —
 * Approve, and Deny (Reject at the manager stage) with its required reason. The browser checks
 * the reason before it posts (`required`); the server checks it again.
 */
export function confirmationPage(
  view: { request: RequestView; stage: 'manager' | 'customer'; email: string; deadline: string; signInRequired?: boolean },
  token: string,
  nowMs: number,
): APIGatewayProxyResult {
  const { request, stage } = view;
  if (view.signInRequired) return signInToDecidePage(view, token, nowMs, 200);
  const words = stageWords(stage);
  const body = `<p class="lead">${escapeHtml(describePrincipal(request.requestedBy))} asks for <strong>${escapeHtml(request.accessLevel)}</strong> access to ${words.whose} <strong>${escapeHtml(request.tenantId)}</strong> for <strong>${escapeHtml(humanDuration(request.duration))}</strong>.</p>
<p class="notice">Nothing is granted unless you approve. This link was sent to ${escapeHtml(view.email)} and works once.</p>
<h2>The request</h2>
${detailList(request, stage)}
${deadlineNote(view.deadline, nowMs)}
${BEFORE_YOU_APPROVE}
<h2>Your decision</h2>
${decisionForms(request, stage, `<input type="hidden" name="form" value="${formValue(token)}">`)}`;
  return page(200, 'Review access request', body);
}

export const BEFORE_YOU_APPROVE = `<h2>Before you approve</h2>
<ul><li>You expected this request, or you know its ticket.</li><li>The justification matches the ticket.</li><li>The access level and the duration are no more than the work needs.</li></ul>`;

/**
 * Approve, and Deny (Reject at the manager stage) with its required reason: two forms that post
 * `hidden` (what proves the form came from this page) to `action` (the page itself by default).
 * `idSuffix` keeps ids unique where several requests share a page.
 */
export function decisionForms(
  request: RequestView,
  stage: 'manager' | 'customer',
  hidden: string,
  options: { action?: string; idSuffix?: string } = {},
): string {
  const words = stageWords(stage);
  const action = options.action ? ` action="${escapeHtml(options.action)}"` : '';
  const id = options.idSuffix ?? '';
  const afterApproval =
    stage === 'manager'
      ? "The customer's approvers are asked next; nothing is granted unless one of them approves too."
      : `Access is granted at once and revoked automatically after ${escapeHtml(humanDuration(request.duration))}.`;
  return `<form method="post"${action}>
${hidden}
<button class="approve" type="submit" name="decision" value="APPROVE" aria-describedby="approve-hint${id}">Approve</button>
<p class="hint" id="approve-hint${id}">${afterApproval}</p>
</form>
<form method="post"${action}>
${hidden}
<label for="reason${id}">Reason to ${words.Refuse.toLowerCase()} (required; the engineer reads it)</label>
<textarea id="reason${id}" name="reason" rows="3" maxlength="1000" required></textarea>
<button class="deny" type="submit" name="decision" value="${words.refuse}">${words.Refuse}</button>
</form>`;
}

/** How long is left to decide, as the link page and the console say it. */
export const deadlineNote = (deadline: string, nowMs: number): string => {
  const deadlineMs = Date.parse(deadline);
  return `<p class="deadline">Decide by <strong><time datetime="${escapeHtml(deadline)}">${escapeHtml(utc(deadlineMs))}</time></strong> (expires in ${escapeHtml(remaining(deadlineMs, nowMs))}). After that the request expires and nothing is granted.</p>`;
};

/** Where a link of a tenant that requires sign-in sends its holder: the console, relative to `/approvals/{token}`. */
export const consoleLinkPath = (token: string) => `../console/links/${encodeURIComponent(token)}`;

/**
 * A link of a tenant that requires sign-in: the request as the link page shows it, and the way
 * to decide — sign in to the console as the person the link was sent to.
 */
export function signInToDecidePage(
  view: { request: RequestView; stage: 'manager' | 'customer'; email: string; deadline: string },
  token: string,
  nowMs: number,
  statusCode: number,
): APIGatewayProxyResult {
  const body = `<p class="lead">${escapeHtml(describePrincipal(view.request.requestedBy))} asks for <strong>${escapeHtml(view.request.accessLevel)}</strong> access to your tenant <strong>${escapeHtml(view.request.tenantId)}</strong> for <strong>${escapeHtml(humanDuration(view.request.duration))}</strong>.</p>
<p class="notice">Your organisation decides access requests in the Lockbox console. Sign in as <strong>${escapeHtml(view.email)}</strong>, the person this link was sent to, to approve or deny. Nothing is granted unless you approve there.</p>
<p><a class="button" href="${escapeHtml(consoleLinkPath(token))}">Sign in to decide</a></p>
<h2>The request</h2>
${detailList(view.request, view.stage)}
${deadlineNote(view.deadline, nowMs)}`;
  return page(statusCode, 'Sign in to decide', body);
}

/** After a decision by this link: what was decided and what happens next. */
export function decidedPage(request: RequestView, stage: 'manager' | 'customer'): APIGatewayProxyResult {
  const approved = request.status === 'APPROVED' || request.status === 'PENDING_CUSTOMER_APPROVAL';
  const decision = stage === 'manager' ? request.managerDecision : request.customerDecision;
  const what = `${escapeHtml(request.accessLevel)} access to ${escapeHtml(request.tenantId)} for ${escapeHtml(humanDuration(request.duration))} (ticket ${escapeHtml(request.ticketId)})`;
  const summary = `<dl><dt>Request</dt><dd>${escapeHtml(request.requestId)}</dd><dt>Requested by</dt><dd>${escapeHtml(describePrincipal(request.requestedBy))}</dd>${
    decision ? `<dt>Decided at</dt><dd>${escapeHtml(utc(decision.at))}</dd>` : ''
  }</dl>`;
  if (approved) {
    const next =
      stage === 'manager'
        ? "<p>The customer's approvers are asked next. Nothing is granted unless one of them approves too.</p>"
        : `<p>Access is granted now and revoked automatically when the window ends. To end it earlier, revoke it with the Lockbox API: <code>POST /requests/${escapeHtml(request.requestId)}/revoke</code>.</p>`;
    return page(200, 'Approved', `<p class="lead">You approved ${what}.</p>\n${next}\n${summary}\n<p>You can close this page.</p>`);
  }
  const reason = decision?.reason ? `<p>The engineer is told your reason:</p><blockquote>${escapeHtml(decision.reason)}</blockquote>` : '';
  return page(
    200,
    'Refused',
    `<p class="lead">You ${stageWords(stage).refused} ${what}. Nothing is granted.</p>\n${reason}\n${summary}\n<p>You can close this page.</p>`,
  );
}

/** A genuine link whose stage someone else decided first: say who, so the approver need not wonder. */
export function alreadyDecidedPage(decided: OtherDecision): APIGatewayProxyResult {
  const verdict = decided.decision === 'APPROVE' ? 'approved' : decided.decision === 'REJECT' ? 'rejected' : 'denied';
  return page(
    409,
    'Already decided',
    `<p class="lead">${escapeHtml(decided.by)} already ${verdict} this request at ${escapeHtml(utc(decided.at))}.</p><p>Nothing was changed, and you need not do anything. You can close this page.</p>`,
  );
}

/**
 * The same answer for every refused link — used, expired, forged, cross-stage, no longer
 * eligible — so a refusal tells an attacker nothing; it says what a genuine approver can do next.
 */
export function refusalPage(reason: LinkRefusal): APIGatewayProxyResult {
  if (reason === 'sign-in-required') {
    return page(
      403,
      'Sign in to decide',
      '<p class="lead">Your organisation decides access requests in the Lockbox console, so this decision was not taken. Nothing was changed.</p><p>Open the link from your email again and choose <strong>Sign in to decide</strong>.</p>',
    );
  }
  return page(
    403,
    'This link cannot be used',
    `<p class="lead">This approval link does not work any more. It may have been used already, the request may have been decided, cancelled or expired, or the link is incomplete. Nothing was changed.</p>
<h2>What you can do</h2>
<ul>
<li>If you already decided on this request, nothing more is needed: your decision stands.</li>
<li>If you still need to decide, or the request expired, ask the support engineer to file a new request. You will get a new email with a new link.</li>
<li>If you copied the link by hand, check that you copied all of it.</li>
<li>To end access that is already granted, revoke it with the Lockbox API: <code>POST /requests/{id}/revoke</code>.</li>
<li>If you did not expect this link, tell your security team.</li>
</ul>`,
  );
}

/** A POST that did not come from the confirmation page's buttons. */
export const notFromPage = (): APIGatewayProxyResult =>
  page(
    400,
    'Use the buttons on the page',
    `<p>This decision did not come from the confirmation page, so nothing was changed. Open the link from your email and choose there.</p>${BACK}`,
  );

/** A POST with no decision, or one that is not Approve, Deny or Reject. */
export const noDecision = (): APIGatewayProxyResult =>
  page(
    400,
    'Choose Approve or Deny',
    `<p>The form was incomplete, so nothing was changed. Go back to the request and press Approve, or give a reason and press Deny.</p>${BACK}`,
  );

/** Deny or Reject without a reason. */
export const reasonNeeded = (): APIGatewayProxyResult =>
  page(400, 'A reason is needed', `<p>To deny or reject, give a reason: the engineer is told it. Nothing was changed.</p>${BACK}`);

/** A POST that is not a form (`application/x-www-form-urlencoded`): not the confirmation page's. */
export const notAForm = (): APIGatewayProxyResult =>
  page(
    415,
    'Use the buttons on the page',
    `<p>This decision did not come from the confirmation page's form, so nothing was changed. Open the link from your email and choose there.</p>${BACK}`,
  );
