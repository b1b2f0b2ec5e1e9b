import { SYSTEM_CHAIN } from '../domain/audit';
import { ConflictError, ForbiddenError } from '../domain/errors';
import { type LinkClaims, linkTokenHash, verifyLinkToken } from '../domain/link-token';
import { type AccessRequest, type RequestView, toView } from '../domain/request';
import { STAGE_STATUS } from '../domain/status';
import { findApprover } from '../domain/tenant';
import { actorOf, callerKeys, providerSideOf, recipientKeys } from './authorize';
import { consoleDecider, type Decider, decide } from './decisions';
import type { Caller, Deps } from './deps';

/**
 * Approval links. The token is the credential: it names the request, the stage and the approver
 * it was sent to. Reading a link changes nothing; only `decideByLink` (a POST from the page)
 * decides. Every way a link can be wrong ends in the same refusal, recorded as LinkRefused.
 *
 * A tenant with `signInRequired` takes customer decisions only from the console: the link then
 * shows the request and sends its holder to sign in, and only the person the link was sent to,
 * signed in, can decide with it (T-1.5: a forwarded email is of no use to its new holder).
 */
export type LinkRefusal = 'invalid' | 'expired' | 'used' | 'not-allowed' | 'decided' | 'sign-in-required';

/** Told only to the holder of a genuine link: who decided the stage before them. */
export interface OtherDecision {
  by: string;
  decision: string;
  at: string;
}

export type LinkView =
  | { ok: true; request: RequestView; stage: LinkClaims['stg']; email: string; deadline: string; signInRequired: boolean }
  | { ok: false; refusal: LinkRefusal; decided?: OtherDecision };

export type LinkDecision =
  | { ok: true; request: RequestView; stage: LinkClaims['stg'] }
  | { ok: false; refusal: LinkRefusal; decided?: OtherDecision };

interface Checked {
  claims: LinkClaims;
  request: AccessRequest;
  hash: string;
}

/**
 * Refused-link events cannot flood a ledger: per link (its hash) — or, for a token that does not
 * verify, per source alone, since forged tokens are free to make — and per source and kind of
 * refusal, the first refusal of a window is a LinkRefused event; later ones are only counted,
 * and the next event of that link and source says how many there were (`unrecordedBefore`).
 */
export const REFUSAL_WINDOW_MS = 60 * 60 * 1000;

interface Refused {
  request?: AccessRequest;
  /** Set when the token's signature verified (a genuine link, perhaps used or expired). */
  linkHash?: string;
}

async function check(
  deps: Deps,
  token: string,
  sourceIp: string | undefined,
): Promise<Checked | { refusal: LinkRefusal; decided?: OtherDecision }> {
  const nowMs = deps.clock.now().getTime();
  const { verdict, request, linkHash } = await locate(deps, token, nowMs);
  const refuse = async (refusal: LinkRefusal, why: string) => {
    await refusedAttempt(deps, { request, linkHash }, why, sourceIp, nowMs);
    return { refusal };
  };
  if (!verdict.ok) return refuse(verdict.reason === 'expired' ? 'expired' : 'invalid', verdict.reason);
  if (!request) return refuse('invalid', 'unknown-request');
  const { claims } = verdict;
  const hash = linkTokenHash(token);
  if (request.status !== STAGE_STATUS[claims.stg] || request.openStage !== claims.stg || !request.linkHashes?.includes(hash)) {
    const decided = decidedByOther(request, claims.stg, hash);
    if (decided) {
      await refusedAttempt(deps, { request, linkHash }, 'stage-already-decided', sourceIp, nowMs);
      return { refusal: 'decided', decided };
    }
    return refuse('used', `not-open-for-this-link (status ${request.status})`);
  }
  if (request.approvalDeadlineMs === undefined || request.approvalDeadlineMs <= nowMs) return refuse('expired', 'stage-deadline-passed');
  return { claims, request, hash };
}

/** The token's verdict, the request it names (if any), and its hash if its signature verified. */
async function locate(deps: Deps, token: string, nowMs: number) {
  const verdict = await verifyLinkToken(deps.signer, token, nowMs);
  const claimed = verdict.claims?.rid;
  const request = typeof claimed === 'string' && claimed.length <= 64 ? await deps.requests.get(claimed) : undefined;
  const genuine = verdict.ok || verdict.reason === 'expired';
  return { verdict, request, linkHash: genuine ? linkTokenHash(token) : undefined };
}

async function refusedAttempt(deps: Deps, refused: Refused, why: string, sourceIp: string | undefined, nowMs: number, signedIn?: Caller) {
  const kind = why.split(/[\s:(]/)[0];
  const key = `${refused.linkHash ? `link:${refused.linkHash}` : 'unverified'}|${sourceIp ?? 'unknown'}|${kind}`;
  const counted = await deps.refusals.count(key, nowMs, REFUSAL_WINDOW_MS);
  if (!counted.record) return;
  const { request } = refused;
  await deps.audit.append(
    request?.tenantId ?? SYSTEM_CHAIN,
    {
      type: 'LinkRefused',
      requestId: request?.requestId,
      actor: signedIn ? actorOf('approver', signedIn.principal, callerKeys(signedIn)) : { kind: 'anonymous', id: 'link-holder' },
      sourceIp,
      details: { why, ...(counted.unrecorded > 0 ? { unrecordedBefore: counted.unrecorded } : {}) },
    },
    nowMs,
  );
}

/**
 * A link POST refused before any decision is looked at — not from the confirmation page (no or
 * another link's form value), not a form, no decision, no reason: audited like every refused
 * link (T-1.11), on the chain of the request the link names if it names one.
 */
export async function refuseLinkPost(deps: Deps, token: string, why: string, sourceIp?: string): Promise<void> {
  const nowMs = deps.clock.now().getTime();
  const { request, linkHash } = await locate(deps, token, nowMs);
  await refusedAttempt(deps, { request, linkHash }, why, sourceIp, nowMs);
}

/**
 * What the confirmation page shows. Changes no request; a refused link is audited. `signedIn`: the
 * console opening the link for a signed-in person, who must be the one it was sent to.
 */
export async function viewLink(deps: Deps, token: string, sourceIp?: string, signedIn?: Caller): Promise<LinkView> {
  const checked = await check(deps, token, sourceIp);
  if ('refusal' in checked) return { ok: false, refusal: checked.refusal, decided: checked.decided };
  if (signedIn && !sentTo(checked.claims, signedIn)) {
    await refusedAttempt(
      deps,
      { request: checked.request, linkHash: checked.hash },
      'signed-in-person-is-not-the-recipient',
      sourceIp,
      deps.clock.now().getTime(),
      signedIn,
    );
    return { ok: false, refusal: 'not-allowed' };
  }
  return {
    ok: true,
    request: toView(checked.request, { isRequester: false }),
    stage: checked.claims.stg,
    email: checked.claims.em,
    deadline: checked.request.approvalDeadline ?? '',
    signInRequired: checked.claims.stg === 'customer' && (await deps.tenants.get(checked.request.tenantId))?.signInRequired === true,
  };
}

const sentTo = (claims: LinkClaims, caller: Caller): boolean =>
  caller.signIn !== undefined && caller.signIn.email === claims.em.toLowerCase();

/**
 * A decision posted from the confirmation page.
 * 1. the link must verify and still be open (same checks as the page);
 * 2. the email it was sent to must still belong to a manager (manager stage) or to one of the
 *    tenant's approvers (customer stage) — someone removed since the email went out is refused;
 * 3. the decision is the same conditional write as through the API, which also requires this
 *    link's hash: a link works once, and only at its own stage.
 */
export async function decideByLink(
  deps: Deps,
  token: string,
  body: { decision: 'APPROVE' | 'REJECT' | 'DENY'; reason?: string },
  sourceIp?: string,
  signedIn?: Caller,
): Promise<LinkDecision> {
  const checked = await check(deps, token, sourceIp);
  if ('refusal' in checked) return { ok: false, refusal: checked.refusal, decided: checked.decided };
  const { claims, request, hash } = checked;
  const decider = await resolveDecider(deps, claims, request, hash, sourceIp, signedIn);
  if (typeof decider === 'string') {
    await refusedAttempt(deps, { request, linkHash: hash }, decider, sourceIp, deps.clock.now().getTime(), signedIn);
    return { ok: false, refusal: decider === 'sign-in-required' ? 'sign-in-required' : 'not-allowed' };
  }
  try {
    const updated = await decide(deps, request.requestId, claims.stg, body.decision, body.reason, decider, request);
    return { ok: true, request: toView(updated, { isRequester: false }), stage: claims.stg };
  } catch (error) {
    if (error instanceof ConflictError || error instanceof ForbiddenError) {
      await refusedAttempt(deps, { request, linkHash: hash }, `decision-refused: ${error.message}`, sourceIp, deps.clock.now().getTime());
      if (error instanceof ForbiddenError) return { ok: false, refusal: 'not-allowed' };
      // Lost the race to another decision: the page says who decided, as it would a moment later.
      const decided = decidedByOther((await deps.requests.get(request.requestId)) ?? request, claims.stg, hash);
      return decided ? { ok: false, refusal: 'decided', decided } : { ok: false, refusal: 'used' };
    }
    throw error;
  }
}

/** The stage's decision, if someone decided it with another link or through the API. */
function decidedByOther(request: AccessRequest, stage: LinkClaims['stg'], hash: string): OtherDecision | undefined {
  const decision = stage === 'manager' ? request.managerDecision : request.customerDecision;
  if (!decision || request.usedLinkHashes?.includes(hash)) return undefined;
  return { by: decision.byEmail ?? decision.by, decision: decision.decision, at: decision.at };
}

/** Who decides with this link, or why nobody may. */
async function resolveDecider(
  deps: Deps,
  claims: LinkClaims,
  request: AccessRequest,
  linkHash: string,
  sourceIp?: string,
  signedIn?: Caller,
): Promise<Decider | 'approver-no-longer-eligible' | 'sign-in-required' | 'signed-in-person-is-not-the-recipient'> {
  const email = claims.em.toLowerCase();
  if (signedIn && !sentTo(claims, signedIn)) return 'signed-in-person-is-not-the-recipient';
  if (claims.stg === 'manager') {
    const manager = deps.directory.managers.find((person) => person.email.toLowerCase() === email);
    if (!manager) return 'approver-no-longer-eligible';
    const keys = recipientKeys(manager);
    return {
      actor: actorOf('manager', manager.principal, keys),
      keys,
      principal: manager.principal,
      email,
      via: 'link',
      sourceIp,
      linkHash,
    };
  }
  // Eligibility now, not when the email went out: still an approver, and not a provider person.
  const tenant = await deps.tenants.get(request.tenantId);
  const approver = tenant && findApprover(tenant, { email });
  if (!tenant || !approver || providerSideOf(deps, approver)) return 'approver-no-longer-eligible';
  if (signedIn) return consoleDecider(signedIn, approver, linkHash);
  if (tenant.signInRequired) return 'sign-in-required';
  const keys = recipientKeys(approver);
  return {
    actor: actorOf('approver', approver.principal ?? email, keys),
    keys,
    principal: approver.principal,
    email,
    via: 'link',
    sourceIp,
    linkHash,
  };
}
