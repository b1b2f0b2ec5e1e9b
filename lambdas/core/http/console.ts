import { timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { SignInRefused, type SignInStart } from '../adapters/oidc';
import {
  newSession,
  openSession,
  openTransaction,
  personKey,
  type Session,
  type SessionTimeouts,
  type SignIn,
  safeReturnPath,
  sealSession,
  sealTransaction,
} from '../domain/console-session';
import { parseDuration } from '../domain/duration';
import { LockboxError } from '../domain/errors';
import type { MacSigner } from '../domain/link-token';
import { toView } from '../domain/request';
import type { Status } from '../domain/status';
import type { Tenant } from '../domain/tenant';
import {
  type ConsoleRoles,
  type ConsoleTarget,
  consoleDecide,
  consoleRevoke,
  myTenants,
  pendingRequests,
  rolesIn,
} from '../usecases/console';
import type { Caller, Deps } from '../usecases/deps';
import { type LedgerDeps, verifyAudit } from '../usecases/ledger';
import { decideByLink, viewLink } from '../usecases/links';
import { listRequests } from '../usecases/requests';
import { listAudit, updateTenant } from '../usecases/tenants';
import { rawBody } from './api';
import * as pages from './console-pages';
import { alreadyDecidedPage, refusalPage } from './pages';
import { tenantBody } from './schemas';

/**
 * The console's HTTP edge (`/console/{proxy+}`, public to API Gateway: the session is the
 * credential). It signs people in, keeps their session in a signed cookie, checks the CSRF token
 * of every POST, and hands each page to the use cases the API uses.
 *
 * Cookies: `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` with the `__Host-` prefix when the
 * console is served over https (AWS); no `Max-Age` on the session, so it ends with the browser too.
 */
export interface ConsoleApp {
  deps: Deps;
  signer: MacSigner;
  signIn: {
    start(): Promise<SignInStart>;
    finish(query: URLSearchParams, expected: { state: string; nonce: string; codeVerifier: string }): Promise<SignIn>;
    /** The IdP's sign-out URL (it comes back to `/console/signed-out`), if it has one. */
    endSessionUrl(): Promise<string | undefined>;
    /** Where that URL is: the pages' CSP lets the sign-out form go there. */
    readonly signOutOrigin: string;
  };
  /** The digest key and ledger, so the audit page verifies the signed digests as `audit/verify` does. */
  ledger: LedgerDeps;
  /** Public base URL of the API (`https://…/v1`, or `http://localhost:3000`). */
  baseUrl: string;
  timeouts: SessionTimeouts;
}

const SIGN_IN_WINDOW_MS = 10 * 60_000;

interface Ctx {
  app: ConsoleApp;
  event: APIGatewayProxyEvent;
  frame: pages.Frame;
  nowMs: number;
  session?: Session;
  caller?: Caller;
  /** Why there is no session, when a cookie was there. */
  lost?: 'invalid' | 'idle' | 'expired';
  form: Record<string, string>;
}

/** A route's capture groups: every group of its pattern is required, so each one matched. */
type Captures = [string, string];
type Handler = (ctx: Ctx, params: Captures) => Promise<APIGatewayProxyResult>;
/** A page of one tenant, for a signed-in person with the role it needs. */
type TenantHandler = (ctx: Ctx, caller: Caller, tenant: Tenant, params: Captures) => Promise<APIGatewayProxyResult>;

export function consoleHandler(app: ConsoleApp) {
  const url = new URL(app.baseUrl);
  const secure = url.protocol === 'https:';
  const base = url.pathname.replace(/\/+$/, '');
  const names = {
    session: secure ? '__Host-lockbox-session' : 'lockbox-session',
    signIn: secure ? '__Host-lockbox-signin' : 'lockbox-signin',
  };
  const cookie = (name: string, value: string, maxAgeSeconds?: number) =>
    `${name}=${value}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}${maxAgeSeconds !== undefined ? `; Max-Age=${maxAgeSeconds}` : ''}`;
  const clear = (name: string) => cookie(name, '', 0);

  /** The session, re-issued when it has not been for a while, so the idle timeout slides. */
  async function withSession(ctx: Ctx, cookies: Record<string, string>): Promise<void> {
    const verdict = await openSession(app.signer, cookies[names.session], ctx.nowMs, app.timeouts);
    if (!verdict.ok) {
      if (verdict.reason !== 'none') {
        ctx.lost = verdict.reason;
        ctx.frame.cookies = [clear(names.session)];
      }
      return;
    }
    const session = verdict.session;
    ctx.session = session;
    ctx.caller = {
      principal: personKey(session.signIn),
      signIn: session.signIn,
      sourceIp: ctx.event.requestContext?.identity?.sourceIp ?? undefined,
    };
    ctx.frame.email = session.signIn.email;
    ctx.frame.csrf = session.csrf;
    if (ctx.nowMs - session.seenAtMs >= Math.min(60_000, app.timeouts.idleMs / 4)) {
      ctx.frame.cookies = [cookie(names.session, await sealSession(app.signer, { ...session, seenAtMs: ctx.nowMs }))];
    }
  }

  const here = (ctx: Ctx) => {
    const query = new URLSearchParams(definedOnly(ctx.event.queryStringParameters ?? {})).toString();
    return `/console/${ctx.event.pathParameters?.proxy ?? ''}`.replace(/\/$/, '') + (query ? `?${query}` : '');
  };

  /** No (valid) session: say why and offer to sign in, coming back here afterwards. */
  const signInFirst = (ctx: Ctx) => {
    const note =
      ctx.lost === 'idle'
        ? 'You were signed out after a while without activity. Sign in again.'
        : ctx.lost === 'expired'
          ? 'Your session ended (sessions last a limited time). Sign in again.'
          : ctx.lost === 'invalid'
            ? 'Your session could not be verified, so you were signed out. Sign in again.'
            : undefined;
    const returnTo = ctx.event.httpMethod === 'GET' ? here(ctx) : '/console';
    return pages.signInPage(ctx.frame, returnTo, note, ctx.lost || ctx.event.httpMethod !== 'GET' ? 401 : 200);
  };

  const requireCsrf = (ctx: Ctx): boolean => {
    const given = Buffer.from(ctx.form.csrf ?? '');
    const expected = Buffer.from(ctx.session?.csrf ?? '');
    return expected.length > 0 && given.length === expected.length && timingSafeEqual(given, expected);
  };

  /** The tenant of the page, if the person has a role in it; a refusal page otherwise. */
  async function tenantFor(ctx: Ctx, tenantId: string, need: keyof ConsoleRoles): Promise<Tenant | APIGatewayProxyResult> {
    const tenant = await app.deps.tenants.get(tenantId);
    const roles = tenant && rolesIn(tenant, ctx.caller!);
    if (!tenant || !roles?.reader)
      return pages.refusedPage(403, 'Not your tenant', 'You have no role in this tenant, or it does not exist.', ctx.frame);
    ctx.frame.tenant = { tenantId, displayName: tenant.displayName, roles };
    if (!roles[need]) {
      const what =
        need === 'approver' ? "the tenant's approvers" : need === 'admin' ? "the tenant's admins" : 'people with a role in the tenant';
      return pages.refusedPage(403, 'Not allowed', `Only ${what} may do this.`, ctx.frame);
    }
    return tenant;
  }

  /** A use case's refusal as a page; anything else is a bug and goes to the 500 page. */
  const refusal = (ctx: Ctx, error: unknown, title: string): APIGatewayProxyResult => {
    if (error instanceof LockboxError && error.statusCode < 500)
      return pages.refusedPage(error.statusCode, title, error.message, ctx.frame);
    throw error;
  };

  /** Runs a use case; its refusal (a 4xx) becomes a page titled `title`. */
  const attempt = async (ctx: Ctx, title: string, run: () => Promise<APIGatewayProxyResult>) => {
    try {
      return await run();
    } catch (error) {
      return refusal(ctx, error, title);
    }
  };

  /**
   * A page of one tenant (the route's first capture) for a signed-in person: the role it needs
   * checked, its menu item marked, and a use case's refusal shown as a page titled `refused`.
   */
  const inTenant =
    (need: keyof ConsoleRoles, section: pages.Section | undefined, refused: string, handler: TenantHandler): Handler =>
    async (ctx, params) => {
      const tenant = await tenantFor(ctx, params[0], need);
      if (!isTenant(tenant)) return tenant;
      ctx.frame.current = section;
      return attempt(ctx, refused, () => handler(ctx, ctx.caller!, tenant, params));
    };

  /**
   * A decision or revoke on a request of the tenant (captures: tenant, request). No role check
   * here: `consoleAction` refuses, and audits the refusal, for anyone who may not.
   */
  const onRequest =
    (refused: string, handler: (ctx: Ctx, caller: Caller, on: ConsoleTarget) => Promise<APIGatewayProxyResult>): Handler =>
    async (ctx, [tenantId, requestId]) => {
      const tenant = await app.deps.tenants.get(tenantId);
      if (tenant) ctx.frame.tenant = { tenantId, displayName: tenant.displayName, roles: rolesIn(tenant, ctx.caller!) };
      return attempt(ctx, refused, () => handler(ctx, ctx.caller!, { tenantId, requestId }));
    };

  /** The link to the next page of a listing, with its filter. */
  const nextPage = (ctx: Ctx, tenantId: string, path: string, filter: object, nextToken: string | undefined) =>
    nextToken
      ? `${pages.tenantUrl(ctx.frame, tenantId, path)}?${new URLSearchParams({ ...definedOnly(filter), next: nextToken })}`
      : undefined;

  const routes: [string, RegExp, Handler, { open?: boolean }?][] = [
    [
      'GET',
      /^$/,
      async (ctx) => {
        if (!ctx.caller) return signInFirst(ctx);
        const tenants = await myTenants(app.deps, ctx.caller);
        const [only] = tenants;
        if (tenants.length === 1 && only) {
          const { tenant, roles } = only;
          return pages.redirect(pages.tenantUrl(ctx.frame, tenant.tenantId, roles.approver ? '/pending' : '/history'), ctx.frame.cookies);
        }
        return pages.tenantsPage(ctx.frame, tenants);
      },
      { open: true },
    ],

    [
      'GET',
      /^login$/,
      async (ctx) => {
        const started = await app.signIn.start();
        const transaction = await sealTransaction(app.signer, {
          state: started.state,
          nonce: started.nonce,
          codeVerifier: started.codeVerifier,
          returnTo: safeReturnPath(ctx.event.queryStringParameters?.return),
          expiresAtMs: ctx.nowMs + SIGN_IN_WINDOW_MS,
        });
        return pages.redirect(started.url, [cookie(names.signIn, transaction, SIGN_IN_WINDOW_MS / 1000)]);
      },
      { open: true },
    ],

    [
      'GET',
      /^callback$/,
      async (ctx, _params) => {
        const cookies = parseCookies(ctx.event);
        const transaction = await openTransaction(app.signer, cookies[names.signIn], ctx.nowMs);
        // The transaction is used once: cleared whatever happens next.
        ctx.frame.cookies = [clear(names.signIn)];
        if (!transaction) {
          app.deps.log.warn('console sign-in refused', { code: 'no-sign-in-transaction' });
          return pages.consolePage(
            400,
            'Sign-in not started here',
            '<p class="lead">This sign-in did not start from this browser, or it took too long, or it was used already. Nothing was changed.</p><p><a href="' +
              pages.consoleUrl(ctx.frame) +
              '">Sign in again</a></p>',
            ctx.frame,
          );
        }
        const query = new URLSearchParams(definedOnly(ctx.event.queryStringParameters ?? {}));
        try {
          const signIn = await app.signIn.finish(query, transaction);
          const session = newSession(signIn, ctx.nowMs);
          app.deps.log.info('console sign-in', { person: personKey(signIn), issuer: signIn.issuer });
          return pages.redirect(`${base}${transaction.returnTo}`, [
            clear(names.signIn),
            cookie(names.session, await sealSession(app.signer, session)),
          ]);
        } catch (error) {
          if (!(error instanceof SignInRefused)) throw error;
          app.deps.log.warn('console sign-in refused', { code: error.code });
          return pages.consolePage(
            401,
            'Sign-in refused',
            `<p class="lead">${escape(error.message)}</p><p>Nothing was changed.</p><p><a href="${pages.consoleUrl(ctx.frame)}">Sign in again</a></p>`,
            ctx.frame,
          );
        }
      },
      { open: true },
    ],

    [
      'POST',
      /^sign-out$/,
      async (ctx) => {
        ctx.frame.email = undefined;
        ctx.frame.cookies = [clear(names.session)];
        // Then the IdP's session, or the next sign-in would be silent. If its sign-out cannot be
        // reached, the console session is ended all the same and the page says what remains.
        const idp = await app.signIn.endSessionUrl().catch((error: unknown) => {
          app.deps.log.warn('console sign-out: no end-session URL', { error: String(error) });
          return undefined;
        });
        if (idp && new URL(idp).origin === app.signIn.signOutOrigin) return pages.redirect(idp, ctx.frame.cookies);
        return pages.signedOutPage(ctx.frame, idp);
      },
    ],

    ['GET', /^signed-out$/, async (ctx) => pages.signedOutPage(ctx.frame), { open: true }],

    [
      'GET',
      /^t\/([a-z0-9-]{1,63})$/,
      async (ctx, [tenantId]) => pages.redirect(pages.tenantUrl(ctx.frame, tenantId, '/pending'), ctx.frame.cookies),
    ],

    [
      'GET',
      /^t\/([a-z0-9-]{1,63})\/pending$/,
      inTenant('approver', 'pending', 'Requests refused', async (ctx, _caller, { tenantId }) => {
        const open = await pendingRequests(app.deps, tenantId);
        const views = open.map((request) => toView(request, { isRequester: false }));
        return pages.pendingPage(ctx.frame, tenantId, views, ctx.nowMs);
      }),
    ],

    [
      'POST',
      /^t\/([a-z0-9-]{1,63})\/requests\/([A-Za-z0-9-]{1,64})\/decision$/,
      onRequest('Decision refused', async (ctx, caller, on) => {
        const form = decisionForm(ctx);
        if (!('decision' in form)) return form;
        const { decision, reason } = form;
        if (reason && reason.length > 1000) return reasonTooLong(ctx);
        const updated = await consoleDecide(app.deps, caller, on, { decision, reason });
        const lead =
          decision === 'APPROVE'
            ? `You approved ${updated.ticketId}. Access is granted now and revoked automatically when its window ends.`
            : `You denied ${updated.ticketId}. Nothing is granted.`;
        return pages.donePage(ctx.frame, on.tenantId, decision === 'APPROVE' ? 'Approved' : 'Denied', updated, lead);
      }),
    ],

    [
      'GET',
      /^t\/([a-z0-9-]{1,63})\/active$/,
      inTenant('reader', 'active', 'Active access refused', async (ctx, caller, { tenantId }) => {
        const { roles } = ctx.frame.tenant!;
        if (!roles.approver && !roles.admin)
          return pages.refusedPage(403, 'Not allowed', "Only the tenant's approvers and admins see active access.", ctx.frame);
        const page = await listRequests(app.deps, caller, { tenantId, status: 'ACTIVE', limit: 100 });
        return pages.activePage(ctx.frame, tenantId, page.items, ctx.nowMs);
      }),
    ],

    [
      'POST',
      /^t\/([a-z0-9-]{1,63})\/requests\/([A-Za-z0-9-]{1,64})\/revoke$/,
      onRequest('Revoke refused', async (ctx, caller, on) => {
        const reason = ctx.form.reason?.trim() || undefined;
        if (reason && reason.length > 1000) return reasonTooLong(ctx);
        const ended = await consoleRevoke(app.deps, caller, on, reason);
        return pages.donePage(
          ctx.frame,
          on.tenantId,
          'Access revoked',
          ended,
          `Access for ${ended.ticketId} ended now. The engineer is told.`,
        );
      }),
    ],

    [
      'GET',
      /^t\/([a-z0-9-]{1,63})\/history$/,
      inTenant('reader', 'history', 'History refused', async (ctx, caller, { tenantId }) => {
        const query = ctx.event.queryStringParameters ?? {};
        const filter: pages.HistoryFilter = {
          status: query.status || undefined,
          from: query.from || undefined,
          to: query.to || undefined,
          requester: query.requester?.trim() || undefined,
        };
        const days = dayRange(filter);
        if (!days || (filter.status && !isStatus(filter.status)))
          return pages.refusedPage(
            400,
            'Check the filter',
            'Dates are UTC days like 2026-12-01, and the status one of the list.',
            ctx.frame,
          );
        const page = await listRequests(app.deps, caller, {
          tenantId,
          status: filter.status as Status | undefined,
          createdAfter: days.from,
          limit: 25,
          nextToken: query.next || undefined,
        });
        const toMs = days.to ? Date.parse(days.to) + 1 : Infinity;
        const requester = filter.requester?.toLowerCase();
        const items = page.items.filter(
          (request) => Date.parse(request.createdAt) < toMs && (!requester || request.requestedBy.toLowerCase().includes(requester)),
        );
        return pages.historyPage(ctx.frame, tenantId, items, filter, nextPage(ctx, tenantId, '/history', filter, page.nextToken));
      }),
    ],

    [
      'GET',
      /^t\/([a-z0-9-]{1,63})\/audit$/,
      inTenant('reader', 'audit', 'Audit log refused', async (ctx, caller, { tenantId }) => {
        const query = ctx.event.queryStringParameters ?? {};
        const range = { from: query.from || undefined, to: query.to || undefined };
        const days = dayRange(range);
        if (!days) return pages.refusedPage(400, 'Check the range', 'Dates are UTC days like 2026-12-01.', ctx.frame);
        const page = await listAudit(app.deps, caller, tenantId, { ...days, limit: 50, nextToken: query.next || undefined });
        const next = nextPage(ctx, tenantId, '/audit', range, page.nextToken);
        // The very verification of `GET /tenants/{id}/audit/verify`: every chain and every signed digest.
        const report = await verifyAudit(app.deps, app.ledger, caller, tenantId);
        return pages.auditPage(ctx.frame, tenantId, page.items, report, range, next);
      }),
    ],

    [
      'GET',
      /^t\/([a-z0-9-]{1,63})\/settings$/,
      inTenant('admin', 'settings', 'Settings refused', async (ctx, _caller, tenant) =>
        pages.settingsPage(ctx.frame, tenant, pages.settingsFormOf(tenant)),
      ),
    ],

    [
      'POST',
      /^t\/([a-z0-9-]{1,63})\/settings$/,
      inTenant('admin', 'settings', 'Settings refused', async (ctx, caller, tenant) => {
        const form = settingsFromForm(ctx.form);
        const parsed = tenantBody.safeParse(settingsBody(form, tenant));
        if (!parsed.success) {
          return pages.settingsPage(ctx.frame, tenant, form, {
            errors: parsed.error.issues.map((issue) => `${fieldName(issue.path)}: ${issue.message}`),
          });
        }
        try {
          const { accessLevels: _levels, ...saved } = await updateTenant(app.deps, caller, tenant.tenantId, parsed.data);
          const updated = { ...tenant, ...saved, accessLevels: tenant.accessLevels } as Tenant;
          return pages.settingsPage(ctx.frame, updated, pages.settingsFormOf(updated), { saved: true });
        } catch (error) {
          if (error instanceof LockboxError && error.statusCode < 500) {
            const details = error.details?.field ? `${fieldName([String(error.details.field)])}: ` : '';
            return pages.settingsPage(ctx.frame, tenant, form, { errors: [`${details}${error.message}`] });
          }
          throw error;
        }
      }),
    ],

    [
      'GET',
      /^links\/([A-Za-z0-9._-]{1,2048})$/,
      async (ctx, [token]) => {
        const view = await viewLink(app.deps, token, ctx.caller!.sourceIp, ctx.caller);
        if (!view.ok) return view.decided ? alreadyDecidedPage(view.decided) : linkRefusal(ctx, view.refusal);
        return pages.linkDecisionPage(ctx.frame, view, pages.consoleUrl(ctx.frame, `/links/${token}`), ctx.nowMs);
      },
    ],

    [
      'POST',
      /^links\/([A-Za-z0-9._-]{1,2048})$/,
      async (ctx, [token]) => {
        const form = decisionForm(ctx);
        if (!('decision' in form)) return form;
        const { decision, reason } = form;
        const result = await decideByLink(app.deps, token, { decision, reason: reason?.slice(0, 1000) }, ctx.caller!.sourceIp, ctx.caller);
        if (!result.ok) return result.decided ? alreadyDecidedPage(result.decided) : linkRefusal(ctx, result.refusal);
        const { request } = result;
        const lead = decision === 'APPROVE' ? `You approved ${request.ticketId}.` : `You denied ${request.ticketId}. Nothing is granted.`;
        return pages.donePage(ctx.frame, request.tenantId, decision === 'APPROVE' ? 'Approved' : 'Denied', request, lead);
      },
    ],
  ];
  const linkRefusal = (ctx: Ctx, refusal: string) =>
    refusal === 'not-allowed'
      ? pages.refusedPage(
          403,
          'This link is not yours',
          `This link was sent to someone else. You are signed in as ${ctx.frame.email}: only the person it was sent to can decide with it. The attempt is recorded.`,
          ctx.frame,
        )
      : refusalPage(refusal as Parameters<typeof refusalPage>[0]);

  return async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const path = (event.pathParameters?.proxy ?? '').replace(/\/+$/, '');
    const method = event.httpMethod === 'HEAD' ? 'GET' : event.httpMethod;
    const ctx: Ctx = {
      app,
      event,
      frame: { base, signOutOrigin: app.signIn.signOutOrigin },
      nowMs: app.deps.clock.now().getTime(),
      form: {},
    };
    const match = routes
      .map(([m, pattern, handler, options]) => ({ m, exec: pattern.exec(path), handler, options }))
      .find(({ m, exec }) => exec && m === method);
    if (!match) {
      const known = routes.some(([, pattern]) => pattern.test(path));
      return known
        ? pages.refusedPage(405, 'Not allowed', 'This page does not take that method.', ctx.frame)
        : pages.refusedPage(404, 'No such page', 'There is no console page here.', ctx.frame);
    }
    if (method === 'POST') {
      if (!/^application\/x-www-form-urlencoded\b/i.test(header(event, 'content-type') ?? ''))
        return pages.refusedPage(415, 'Not a form', 'Console pages take form posts only.', ctx.frame);
      ctx.form = formFields(rawBody(event));
    }
    await withSession(ctx, parseCookies(event));
    if (!match.options?.open) {
      if (!ctx.caller) return signInFirst(ctx);
      if (method === 'POST' && !requireCsrf(ctx)) {
        app.deps.log.warn('console post without its CSRF token', { path: event.resource, person: ctx.caller.principal });
        return pages.refusedPage(
          403,
          'Use the forms of the console',
          'This form did not come from your console page (its security token is missing or wrong). Reload the page and try again.',
          ctx.frame,
        );
      }
    }
    const result = await match.handler(ctx, match.exec!.slice(1) as Captures);
    return event.httpMethod === 'HEAD' ? { ...result, body: '' } : result;
  };
}

const isTenant = (value: Tenant | APIGatewayProxyResult): value is Tenant => 'tenantId' in value;
const isStatus = (value: string): boolean => /^[A-Z_]{4,40}$/.test(value) && value === value.toUpperCase();
const escape = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** `2026-12-01` → `2026-12-01T00:00:00.000Z`; anything else → undefined. */
function dayStart(value: string | undefined): string | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** A filter's UTC days as times: from the start of `from` to the end of `to`; undefined if either is not a day. */
function dayRange(days: { from?: string; to?: string }): { from?: string; to?: string } | undefined {
  const from = dayStart(days.from);
  const to = dayStart(days.to);
  if ((days.from && !from) || (days.to && !to)) return undefined;
  return { from, to: to && new Date(Date.parse(to) + 86_399_999).toISOString() };
}

/** The decision form's fields, or the page that says what is missing. */
function decisionForm(ctx: Ctx): { decision: 'APPROVE' | 'DENY'; reason?: string } | APIGatewayProxyResult {
  const decision = ctx.form.decision;
  const reason = ctx.form.reason?.trim() || undefined;
  if (decision !== 'APPROVE' && decision !== 'DENY')
    return pages.refusedPage(400, 'Choose Approve or Deny', 'The form was incomplete.', ctx.frame);
  if (decision === 'DENY' && !reason)
    return pages.refusedPage(400, 'A reason is needed', 'To deny, give a reason: the engineer is told it.', ctx.frame);
  return { decision, reason };
}

const reasonTooLong = (ctx: Ctx) => pages.refusedPage(400, 'The reason is too long', 'Keep the reason under 1000 characters.', ctx.frame);

const definedOnly = (record: object): Record<string, string> =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => typeof value === 'string' && value !== '')) as Record<string, string>;

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] ?? undefined;
}

/** Cookies by name; the first of a repeated name wins (as the browser orders the most specific first). */
export function parseCookies(event: APIGatewayProxyEvent): Record<string, string> {
  const lines = [
    ...Object.entries(event.multiValueHeaders ?? {})
      .filter(([key]) => key.toLowerCase() === 'cookie')
      .flatMap(([, values]) => values ?? []),
  ];
  if (lines.length === 0) {
    const single = header(event, 'cookie');
    if (single) lines.push(single);
  }
  const cookies: Record<string, string> = Object.create(null);
  for (const part of lines.join(';').split(';')) {
    const at = part.indexOf('=');
    if (at < 1) continue;
    const name = part.slice(0, at).trim();
    if (!(name in cookies)) cookies[name] = part.slice(at + 1).trim();
  }
  return cookies;
}

/** Form fields; a repeated field keeps its first value; no prototype keys. */
function formFields(body: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  if (body.length > 64 * 1024) return fields;
  for (const [name, value] of new URLSearchParams(body)) if (!(name in fields)) fields[name] = value;
  return fields;
}

function settingsFromForm(fields: Record<string, string>): pages.SettingsForm {
  const text = (name: string) => fields[name] ?? '';
  return {
    displayName: text('displayName'),
    lockboxEnabled: fields.lockboxEnabled === 'on',
    signInRequired: fields.signInRequired === 'on',
    approvers: text('approvers'),
    admins: text('admins'),
    auditors: text('auditors'),
    approverGroups: text('approverGroups'),
    adminGroups: text('adminGroups'),
    auditorGroups: text('auditorGroups'),
    maxAccessDuration: text('maxAccessDuration').trim(),
    approvalTimeout: text('approvalTimeout').trim(),
    version: text('version'),
  };
}

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);

/** The form as the body of `PUT /tenants/{id}`, so it is validated by the very same schema. */
function settingsBody(form: pages.SettingsForm, tenant: Tenant): unknown {
  return {
    displayName: form.displayName,
    lockboxEnabled: form.lockboxEnabled,
    approvers: lines(form.approvers).map((line) => {
      const [email, principal, ...rest] = line.split(/\s+/);
      return rest.length ? { email, principal, rest } : principal ? { email, principal } : { email };
    }),
    admins: lines(form.admins),
    auditors: lines(form.auditors),
    maxAccessDuration: form.maxAccessDuration,
    approvalTimeout: form.approvalTimeout,
    accessLevels: tenant.accessLevels,
    ...(tenant.accessTarget ? { accessTarget: tenant.accessTarget } : {}),
    signInRequired: form.signInRequired,
    consoleGroups: { approvers: lines(form.approverGroups), admins: lines(form.adminGroups), auditors: lines(form.auditorGroups) },
    version: Number(form.version),
  };
}

const FIELD_NAMES: Record<string, string> = {
  displayName: 'Display name',
  approvers: 'Approvers',
  admins: 'Admins',
  auditors: 'Auditors',
  maxAccessDuration: 'Longest access',
  approvalTimeout: 'Time to decide',
  consoleGroups: 'Groups',
  version: 'Version',
};
const fieldName = (path: readonly PropertyKey[]) => {
  const [first, index, inner] = path.map(String);
  const name = (first && FIELD_NAMES[first]) ?? first;
  if (first === 'consoleGroups' && index) return `${name} (${index})`;
  return index !== undefined && /^\d+$/.test(index) ? `${name}, line ${Number(index) + 1}${inner ? ` (${inner})` : ''}` : name;
};

export const timeoutsFrom = (idle: string, absolute: string): SessionTimeouts => ({
  idleMs: parseDuration(idle) ?? 15 * 60_000,
  absoluteMs: parseDuration(absolute) ?? 8 * 3_600_000,
});
