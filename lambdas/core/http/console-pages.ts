import type { APIGatewayProxyResult } from 'aws-lambda';
import type { AuditEvent } from '../domain/audit';
import type { BreakKind, VerifyReport } from '../domain/ledger-verify';
import type { RequestView } from '../domain/request';
import { STATUSES } from '../domain/status';
import type { Tenant } from '../domain/tenant';
import { describePrincipal, escapeHtml, humanDuration, remaining, utc } from '../messages';
import type { ConsoleRoles } from '../usecases/console';
import { BEFORE_YOU_APPROVE, deadlineNote, decisionForms, detailList, page } from './pages';
import { JSON_FIELDS, nameParts, requestIdHtml, shortName, shortValue, stackTable, when, whole, wrapAt } from './wrapping';

/**
 * The console's pages, in the look of the link pages (`pages.ts`: the same style, the same
 * strict CSP, no script, no third-party asset). Every form carries the session's CSRF token;
 * every value is escaped; headings, labels and the menu make it usable by keyboard and screen
 * reader; on a phone a table shows one card per row (`stackTable` in `wrapping.ts`).
 */
export interface Frame {
  /** Path prefix of the API's stage ('' locally, `/v1` on AWS): every console URL starts with it. */
  base: string;
  email?: string;
  csrf?: string;
  tenant?: { tenantId: string; displayName: string; roles: ConsoleRoles };
  current?: 'pending' | 'active' | 'history' | 'audit' | 'settings';
  cookies?: string[];
  /** The IdP's sign-out origin: the sign-out form's redirect goes there, so the CSP's form-action allows it. */
  signOutOrigin?: string;
}

export type Section = NonNullable<Frame['current']>;

export const consoleUrl = (frame: Pick<Frame, 'base'>, path = '') => `${frame.base}/console${path}`;
export const tenantUrl = (frame: Frame, tenantId: string, path: string) => consoleUrl(frame, `/t/${encodeURIComponent(tenantId)}${path}`);
const csrfField = (frame: Frame) => `<input type="hidden" name="csrf" value="${escapeHtml(frame.csrf ?? '')}">`;

function top(frame: Frame): string {
  const who = frame.email
    ? `<span>Signed in as <strong>${escapeHtml(frame.email)}</strong></span><form method="post" action="${escapeHtml(consoleUrl(frame, '/sign-out'))}">${csrfField(frame)}<button type="submit">Sign out</button></form>`
    : '';
  const brand = `<a href="${escapeHtml(consoleUrl(frame))}">Lockbox console</a>${frame.tenant ? ` · ${escapeHtml(frame.tenant.displayName)}` : ''}`;
  let nav = '';
  if (frame.tenant) {
    const { roles, tenantId } = frame.tenant;
    const items: [Section, string, boolean][] = [
      ['pending', 'Waiting for me', roles.approver],
      ['active', 'Active access', roles.approver || roles.admin],
      ['history', 'History', roles.reader],
      ['audit', 'Audit log', roles.reader],
      ['settings', 'Settings', roles.admin],
    ];
    nav = `<nav aria-label="Console"><ul>${items
      .filter(([, , shown]) => shown)
      .map(
        ([key, label]) =>
          `<li><a href="${escapeHtml(tenantUrl(frame, tenantId, `/${key}`))}"${frame.current === key ? ' aria-current="page"' : ''}>${label}</a></li>`,
      )
      .join('')}</ul></nav>`;
  }
  return `<header class="top"><span>${brand}</span>${who}</header>${nav ? `<div class="top">${nav}</div>` : ''}`;
}

export const consolePage = (statusCode: number, title: string, body: string, frame: Frame, wide = false): APIGatewayProxyResult =>
  page(statusCode, title, body, {
    top: top(frame),
    wide,
    cookies: frame.cookies,
    formAction: frame.email && frame.signOutOrigin ? [frame.signOutOrigin] : [],
  });

export const redirect = (location: string, cookies: string[] = []): APIGatewayProxyResult => ({
  statusCode: 303,
  headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
  ...(cookies.length ? { multiValueHeaders: { 'set-cookie': cookies } } : {}),
  body: '',
});

/** A refusal: what happened, that nothing changed, and the way on. */
export const refusedPage = (statusCode: number, title: string, message: string, frame: Frame): APIGatewayProxyResult =>
  consolePage(
    statusCode,
    title,
    `<p class="lead">${escapeHtml(message)}</p><p>Nothing was changed.</p><p><a href="${escapeHtml(consoleUrl(frame))}">Back to the console</a></p>`,
    frame,
  );

export function signInPage(frame: Frame, returnTo: string, note?: string, statusCode = 200): APIGatewayProxyResult {
  const url = `${consoleUrl(frame, '/login')}?return=${encodeURIComponent(returnTo)}`;
  const body = `${note ? `<p class="notice">${escapeHtml(note)}</p>` : ''}
<p class="lead">Approvers, admins and auditors of a customer tenant sign in here to see the access requests that wait for them, decide, end access early and read the audit log.</p>
<p><a class="button" href="${escapeHtml(url)}">Sign in</a></p>
<p class="hint">You sign in with your organisation's account; Lockbox never sees your password.</p>`;
  return consolePage(statusCode, 'Sign in to the Lockbox console', body, frame);
}

/** After sign-out; `idpSignOut`: the IdP's sign-out, when the console could not send the browser there itself. */
export const signedOutPage = (frame: Frame, idpSignOut?: string): APIGatewayProxyResult =>
  consolePage(
    200,
    'Signed out',
    `<p class="lead">You are signed out of the Lockbox console.</p>${
      idpSignOut
        ? `<p>You may still be signed in at your sign-in service: <a href="${escapeHtml(idpSignOut)}">sign out there too</a>.</p>`
        : ''
    }<p><a href="${escapeHtml(consoleUrl(frame))}">Sign in again</a></p>`,
    frame,
  );

export function tenantsPage(frame: Frame, tenants: { tenant: Tenant; roles: ConsoleRoles }[]): APIGatewayProxyResult {
  if (tenants.length === 0) {
    return consolePage(
      403,
      'No tenant for you here',
      `<p class="lead">You are signed in as ${escapeHtml(frame.email ?? '')}, but no tenant lists you as an approver, admin or auditor.</p><p>Ask your tenant's Lockbox admin to add you, or sign out and sign in with another account.</p>`,
      frame,
    );
  }
  const rows = tenants
    .map(({ tenant, roles }) => {
      const what = [roles.approver && 'approver', roles.admin && 'admin', !roles.approver && !roles.admin && 'auditor']
        .filter(Boolean)
        .join(', ');
      return `<li><a href="${escapeHtml(tenantUrl(frame, tenant.tenantId, roles.approver ? '/pending' : '/history'))}">${escapeHtml(tenant.displayName)}</a> (${escapeHtml(tenant.tenantId)}) — ${what}</li>`;
    })
    .join('');
  return consolePage(200, 'Your tenants', `<ul>${rows}</ul>`, frame);
}

const statusBadge = (status: string) => `<span class="status">${escapeHtml(status.replace(/_/g, ' ').toLowerCase())}</span>`;

export function pendingPage(frame: Frame, tenantId: string, requests: RequestView[], nowMs: number): APIGatewayProxyResult {
  if (requests.length === 0) {
    return consolePage(
      200,
      'Waiting for you',
      '<p class="lead">No access request waits for your decision.</p><p class="hint">New requests appear here when a support manager has approved them; you also get an email.</p>',
      frame,
      true,
    );
  }
  const cards = requests
    .map((request, index) => {
      const id = `-${index + 1}`;
      return `<section class="card" aria-labelledby="req${id}">
<h2 id="req${id}">${shortValue(request.ticketId)}: ${escapeHtml(request.accessLevel)} for ${escapeHtml(humanDuration(request.duration))}</h2>
<p>${escapeHtml(describePrincipal(request.requestedBy))} asks for <strong>${escapeHtml(request.accessLevel)}</strong> access to <strong>${escapeHtml(request.tenantId)}</strong>. Nothing is granted unless you approve.</p>
${detailList(request, 'customer')}
${request.approvalDeadline ? deadlineNote(request.approvalDeadline, nowMs) : ''}
<div class="row">${decisionForms(request, 'customer', csrfField(frame), { action: tenantUrl(frame, tenantId, `/requests/${encodeURIComponent(request.requestId)}/decision`), idSuffix: id })}</div>
</section>`;
    })
    .join('\n');
  return consolePage(
    200,
    'Waiting for you',
    `<p class="lead">${requests.length === 1 ? 'One request waits' : `${requests.length} requests wait`} for your decision.</p>\n${BEFORE_YOU_APPROVE}\n${cards}`,
    frame,
    true,
  );
}

export function activePage(frame: Frame, tenantId: string, requests: RequestView[], nowMs: number): APIGatewayProxyResult {
  if (requests.length === 0)
    return consolePage(
      200,
      'Active access',
      '<p class="lead">Nobody has access to this tenant through Lockbox right now.</p>',
      frame,
      true,
    );
  const cards = requests
    .map((request, index) => {
      const id = `-${index + 1}`;
      const ends = request.accessExpiresAt ? Date.parse(request.accessExpiresAt) : nowMs;
      return `<section class="card" aria-labelledby="act${id}">
<h2 id="act${id}">${shortValue(request.ticketId)}: ${nameParts(describePrincipal(request.requestedBy))}</h2>
<dl><dt>Access level</dt><dd>${escapeHtml(request.accessLevel)}</dd><dt>Since</dt><dd>${when(request.accessStartsAt ?? '')}</dd><dt>Ends</dt><dd>${when(ends)} (in ${escapeHtml(remaining(ends, nowMs))})</dd><dt>Approved by</dt><dd>${shortName(request.customerDecision?.byEmail ?? request.customerDecision?.by ?? '')}</dd><dt>Request id</dt><dd>${requestIdHtml(request.requestId)}</dd></dl>
<form method="post" action="${escapeHtml(tenantUrl(frame, tenantId, `/requests/${encodeURIComponent(request.requestId)}/revoke`))}">
${csrfField(frame)}
<label for="revoke-reason${id}">Reason (optional; the engineer reads it)</label>
<textarea id="revoke-reason${id}" name="reason" rows="2" maxlength="1000"></textarea>
<button class="deny" type="submit">Revoke now</button>
<p class="hint">Access ends at once: the role stops trusting the engineer and their live sessions are denied.</p>
</form>
</section>`;
    })
    .join('\n');
  return consolePage(200, 'Active access', cards, frame, true);
}

export interface HistoryFilter {
  status?: string;
  from?: string;
  to?: string;
  requester?: string;
}

const field = (id: string, label: string, input: string) => `<div class="field"><label for="${id}">${label}</label>${input}</div>`;

export function historyPage(
  frame: Frame,
  tenantId: string,
  items: RequestView[],
  filter: HistoryFilter,
  nextUrl?: string,
): APIGatewayProxyResult {
  const options = ['', ...STATUSES]
    .map(
      (status) =>
        `<option value="${status}"${filter.status === status ? ' selected' : ''}>${status ? status.replace(/_/g, ' ').toLowerCase() : 'any status'}</option>`,
    )
    .join('');
  const form = `<form method="get" action="${escapeHtml(tenantUrl(frame, tenantId, '/history'))}"><fieldset><legend>Filter</legend>
<div class="row">
${field('status', 'Status', `<select id="status" name="status">${options}</select>`)}
${field('from', 'Created from (UTC date)', `<input type="text" id="from" name="from" inputmode="numeric" placeholder="2026-12-01" value="${escapeHtml(filter.from ?? '')}">`)}
${field('to', 'Created to (UTC date)', `<input type="text" id="to" name="to" inputmode="numeric" placeholder="2026-12-31" value="${escapeHtml(filter.to ?? '')}">`)}
${field('requester', 'Requester contains', `<input type="text" id="requester" name="requester" value="${escapeHtml(filter.requester ?? '')}">`)}
</div><button class="primary" type="submit">Show</button></fieldset></form>`;
  const rows = items.map((request) => [
    when(request.createdAt),
    shortValue(request.ticketId),
    nameParts(describePrincipal(request.requestedBy)),
    `${escapeHtml(request.accessLevel)}, ${escapeHtml(humanDuration(request.duration))}`,
    statusBadge(request.status),
    decisionText(request),
    requestIdHtml(request.requestId),
  ]);
  const table = items.length
    ? stackTable(['Created', 'Ticket', 'Requester', 'Access', 'Status', 'Customer decision', 'Request id'], rows, 'Newest first')
    : '<p>No request matches.</p>';
  const more = nextUrl ? `<p><a href="${escapeHtml(nextUrl)}">Older requests</a></p>` : '';
  return consolePage(200, 'History', `${form}\n${table}\n${more}`, frame, true);
}

const decisionText = (request: RequestView): string => {
  const decision = request.customerDecision;
  if (!decision) return '';
  return `${decision.decision === 'APPROVE' ? 'approved' : 'denied'} by ${shortName(decision.byEmail ?? decision.by)}${decision.reason ? `: ${escapeHtml(decision.reason)}` : ''}`;
};

const BREAKS: Record<BreakKind, string> = {
  'event-hash': 'an event does not match its hash (it was edited)',
  'chain-link': 'an event does not link to the one before (inserted, reordered, or edited and re-hashed)',
  'chain-gap': 'an event is missing from its chain (deleted)',
  'chain-duplicate': 'two events claim one place in a chain (inserted)',
  'chain-truncated': 'a chain ends before the head a signed digest sealed (cut off)',
  'chain-head': 'the event a signed digest sealed has another hash now (re-written)',
  'digest-hash': 'a signed digest does not match its hash (edited)',
  'digest-signature': 'a digest signature does not verify with the published key',
  'digest-key': 'a digest is signed under another key than the published one',
  'digest-gap': 'a signed digest is missing (deleted)',
  'digest-duplicate': 'two signed digests claim one place',
  'digest-link': 'a signed digest does not link to the one before',
  'digest-regressed': 'a signed digest lists an older head than an earlier digest did',
  'digest-truncated': 'the newest signed digests are missing or replaced (the ledger recorded sealing a later one)',
};

/** The ledger's verification (`GET /tenants/{id}/audit/verify`): what verified, and the first broken place. */
function verificationBox(report: VerifyReport): string {
  const v = report.verified;
  const row = (term: string, value: string | number | undefined) =>
    value === undefined || value === '' ? '' : `<dt>${term}</dt><dd>${escapeHtml(String(value))}</dd>`;
  const checked =
    row('Events', `${v.events} in ${v.chains} hash chain${v.chains === 1 ? '' : 's'}, each recomputed from its first event`) +
    row('Signed digests', v.digests ? `${v.digests} verified with the published key` : 'none verified yet') +
    row(
      'Sealed up to',
      v.lastDigestAt
        ? `${utc(v.lastDigestAt)} (${v.sealedEvents} event${v.sealedEvents === 1 ? '' : 's'}); later events verify by their chain until the next digest`
        : undefined,
    );
  const broken = report.firstBroken;
  if (report.ok || !broken)
    return `<section class="ok" role="status" aria-labelledby="verify-h"><h2 id="verify-h">Verified: nothing was changed, removed or inserted</h2><dl>${checked}</dl></section>`;
  const place =
    row('What', BREAKS[broken.kind] ?? broken.kind) +
    row('Chain', broken.chainId) +
    row('Event', broken.seq) +
    row('Digest', broken.digestSeq) +
    row('Detail', broken.message);
  return `<section class="bad" role="alert" aria-labelledby="verify-h"><h2 id="verify-h">Verification FAILED: the audit log was changed</h2><p>The first broken place:</p><dl>${place}</dl><p>Verified apart from it:</p><dl>${checked}</dl></section>`;
}

export function auditPage(
  frame: Frame,
  tenantId: string,
  events: AuditEvent[],
  verification: VerifyReport,
  range: { from?: string; to?: string },
  nextUrl?: string,
): APIGatewayProxyResult {
  const check = verificationBox(verification);
  const form = `<form method="get" action="${escapeHtml(tenantUrl(frame, tenantId, '/audit'))}"><fieldset><legend>Time range (UTC)</legend><div class="row">
${field('audit-from', 'From', `<input type="text" id="audit-from" name="from" placeholder="2026-12-01" value="${escapeHtml(range.from ?? '')}">`)}
${field('audit-to', 'To', `<input type="text" id="audit-to" name="to" placeholder="2026-12-31" value="${escapeHtml(range.to ?? '')}">`)}
</div><button class="primary" type="submit">Show</button></fieldset></form>`;
  const rows = events.map((event) => [
    when(event.at),
    escapeHtml(event.type),
    nameParts(`${event.actor.kind}: ${event.actor.id}`),
    whole(event.requestId ?? ''),
    wrapAt(event.details ? JSON.stringify(event.details) : '', JSON_FIELDS, shortValue),
  ]);
  const table = events.length ? stackTable(['When', 'Event', 'Who', 'Request', 'Details'], rows) : '<p>No audit event in this range.</p>';
  const more = nextUrl ? `<p><a href="${escapeHtml(nextUrl)}">More events</a></p>` : '';
  return consolePage(200, 'Audit log', `${check}\n${form}\n${table}\n${more}`, frame, true);
}

/** What the settings form shows: the tenant's values, or what the admin just posted (to fix it). */
export interface SettingsForm {
  displayName: string;
  lockboxEnabled: boolean;
  signInRequired: boolean;
  approvers: string;
  admins: string;
  auditors: string;
  approverGroups: string;
  adminGroups: string;
  auditorGroups: string;
  maxAccessDuration: string;
  approvalTimeout: string;
  version: string;
}

export const settingsFormOf = (tenant: Tenant): SettingsForm => ({
  displayName: tenant.displayName,
  lockboxEnabled: tenant.lockboxEnabled,
  signInRequired: tenant.signInRequired === true,
  approvers: tenant.approvers
    .map((approver) => (approver.principal ? `${approver.email} ${approver.principal}` : approver.email))
    .join('\n'),
  admins: tenant.admins.join('\n'),
  auditors: tenant.auditors.join('\n'),
  approverGroups: (tenant.consoleGroups?.approvers ?? []).join('\n'),
  adminGroups: (tenant.consoleGroups?.admins ?? []).join('\n'),
  auditorGroups: (tenant.consoleGroups?.auditors ?? []).join('\n'),
  maxAccessDuration: tenant.maxAccessDuration,
  approvalTimeout: tenant.approvalTimeout,
  version: String(tenant.version),
});

export function settingsPage(
  frame: Frame,
  tenant: Tenant,
  form: SettingsForm,
  outcome?: { saved?: boolean; errors?: string[] },
): APIGatewayProxyResult {
  const text = (id: keyof SettingsForm, label: string, hint?: string) =>
    `<div class="field"><label for="${id}">${label}</label><input type="text" id="${id}" name="${id}" value="${escapeHtml(String(form[id]))}"${hint ? ` aria-describedby="${id}-hint"` : ''}>${hint ? `<p class="hint" id="${id}-hint">${hint}</p>` : ''}</div>`;
  const lines = (id: keyof SettingsForm, label: string, hint: string) =>
    `<div class="field"><label for="${id}">${label}</label><textarea id="${id}" name="${id}" rows="3" aria-describedby="${id}-hint">${escapeHtml(String(form[id]))}</textarea><p class="hint" id="${id}-hint">${hint}</p></div>`;
  const check = (id: keyof SettingsForm, label: string) =>
    `<div class="field"><label class="check" for="${id}"><input type="checkbox" id="${id}" name="${id}" value="on"${form[id] ? ' checked' : ''}>${label}</label></div>`;
  const message = outcome?.saved
    ? '<p class="ok" role="status">Saved. The change is in the audit log.</p>'
    : outcome?.errors?.length
      ? `<div class="bad" role="alert"><p><strong>Nothing was saved:</strong></p><ul>${outcome.errors.map((error) => `<li>${escapeHtml(error)}</li>`).join('')}</ul></div>`
      : '';
  const body = `${message}
<form method="post" action="${escapeHtml(tenantUrl(frame, tenant.tenantId, '/settings'))}">
${csrfField(frame)}<input type="hidden" name="version" value="${escapeHtml(form.version)}">
<fieldset><legend>Tenant</legend>
${text('displayName', 'Display name')}
${check('lockboxEnabled', 'Lockbox is on: support access needs your approval')}
${check('signInRequired', 'Decisions only by people signed in to this console (email links then open the console)')}
</fieldset>
<fieldset><legend>People</legend>
${lines('approvers', 'Approvers', 'One per line: an email address, optionally followed by a space and the IAM principal ARN the person uses with the API. Approvers get the emails.')}
${lines('admins', 'Admins', 'One per line: the email a person signs in to the console with, or an IAM principal ARN for the API. You cannot remove yourself.')}
${lines('auditors', 'Auditors', 'One per line, like admins. Auditors read the history and the audit log.')}
</fieldset>
<fieldset><legend>Groups of your identity provider</legend>
${lines('approverGroups', 'Approver groups', 'One group name per line: members who sign in are approvers (they get no emails; they decide in the console).')}
${lines('adminGroups', 'Admin groups', 'One group name per line.')}
${lines('auditorGroups', 'Auditor groups', 'One group name per line.')}
</fieldset>
<fieldset><legend>Limits</legend>
${text('maxAccessDuration', 'Longest access (ISO-8601 duration)', 'For example PT2H; at most the deployment’s cap.')}
${text('approvalTimeout', 'Time to decide (ISO-8601 duration)', 'For example PT12H; after that a request expires.')}
</fieldset>
<p class="hint">Access levels (${escapeHtml(Object.keys(tenant.accessLevels).join(', '))}) and the access target are changed through the API (<code>PUT /tenants/${escapeHtml(tenant.tenantId)}</code>).</p>
<button class="primary" type="submit">Save settings</button>
</form>`;
  return consolePage(outcome?.errors?.length ? 400 : 200, 'Tenant settings', body, frame);
}

/** After a decision or revoke in the console. */
export function donePage(frame: Frame, tenantId: string, title: string, request: RequestView, lead: string): APIGatewayProxyResult {
  const reason =
    request.customerDecision?.decision === 'DENY' && request.customerDecision.reason
      ? `<p>The engineer is told your reason:</p><blockquote>${escapeHtml(request.customerDecision.reason)}</blockquote>`
      : '';
  return consolePage(
    200,
    title,
    `<p class="lead">${escapeHtml(lead)}</p>${reason}<dl><dt>Request</dt><dd>${escapeHtml(request.requestId)}</dd><dt>Ticket</dt><dd>${escapeHtml(request.ticketId)}</dd><dt>Status</dt><dd>${statusBadge(request.status)}</dd></dl><p><a href="${escapeHtml(tenantUrl(frame, tenantId, '/pending'))}">Back to what waits for you</a> · <a href="${escapeHtml(tenantUrl(frame, tenantId, '/active'))}">Active access</a></p>`,
    frame,
  );
}

/** A link of a tenant that requires sign-in, opened by the person it was sent to. */
export function linkDecisionPage(
  frame: Frame,
  view: { request: RequestView; email: string; deadline: string },
  action: string,
  nowMs: number,
): APIGatewayProxyResult {
  const body = `<p class="lead">${escapeHtml(describePrincipal(view.request.requestedBy))} asks for <strong>${escapeHtml(view.request.accessLevel)}</strong> access to your tenant <strong>${escapeHtml(view.request.tenantId)}</strong> for <strong>${escapeHtml(humanDuration(view.request.duration))}</strong>.</p>
<p class="notice">You are signed in as ${escapeHtml(view.email)}, the person this link was sent to. Nothing is granted unless you approve.</p>
<h2>The request</h2>
${detailList(view.request, 'customer')}
${deadlineNote(view.deadline, nowMs)}
${BEFORE_YOU_APPROVE}
<h2>Your decision</h2>
${decisionForms(view.request, 'customer', csrfField(frame), { action })}`;
  return consolePage(200, 'Review access request', body, frame);
}
