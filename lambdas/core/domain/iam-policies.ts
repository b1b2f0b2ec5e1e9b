import { ValidationError } from './errors';

/**
 * The IAM documents of the `iam` access provider, as plain data (no AWS imports): the per-request
 * role's trust policy, its deny-after-expiry policy, the revoke-time trust and session kill, and
 * the mapping from the engineer's caller ARN to a principal IAM accepts in a trust policy.
 */

export const ROLE_PATH = '/lockbox/';
export const EXPIRY_DENY_POLICY = 'lockbox-deny-after-expiry';
export const SESSION_KILL_POLICY = 'lockbox-deny-sessions-before-revoke';
/** The longest session the role allows; engineers re-assume within the window. */
export const MAX_SESSION_SECONDS = 3600;
/** The shortest session STS issues. */
export const MIN_SESSION_SECONDS = 900;

export type Conditions = Record<string, Record<string, string>>;
export interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal?: { AWS: string };
  Action: string | string[];
  Resource?: string;
  Condition?: Conditions;
}
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

/** Who may assume the role: the principal for the trust policy and the identity they must carry. */
export interface EngineerPrincipal {
  /** An IAM user or role ARN (IAM does not accept session ARNs as principals). */
  principalArn: string;
  /** `sts:SourceIdentity` the engineer must set: the session name, or the user name. */
  sourceIdentity: string;
}

// Characters STS allows in a role session name and a source identity (2–64 of them).
const IDENTITY = '[\\w+=,.@-]{2,64}';
const PARTITION = '(aws|aws-cn|aws-us-gov)';
const ASSUMED_ROLE = new RegExp(`^arn:${PARTITION}:sts::(\\d{12}):assumed-role/([\\w+=,.@-]{1,64})/(${IDENTITY})$`);
const IAM_USER = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):user/((?:[\\w+=,.@-]+/)*)(${IDENTITY})$`);
// What STS accepts as an external id; it also keeps the example command safe to paste into a shell.
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/**
 * Maps the requester's caller ARN (API Gateway's `userArn`) to the trust policy's principal.
 * An assumed-role session `arn:aws:sts::A:assumed-role/R/S` becomes the role `arn:aws:iam::A:role/R`
 * with source identity S. A role with a path cannot be recovered from a session ARN (the path is
 * not in it), so such a grant fails at CreateRole rather than trusting something wider.
 * Account roots, federated users and anything else are refused: they name no single engineer.
 */
export function engineerPrincipal(requestedBy: string): EngineerPrincipal {
  const [, partition, account, role, sessionName] = ASSUMED_ROLE.exec(requestedBy) ?? [];
  if (sessionName) return { principalArn: `arn:${partition}:iam::${account}:role/${role}`, sourceIdentity: sessionName };
  const userName = IAM_USER.exec(requestedBy)?.[4];
  if (userName) return { principalArn: requestedBy, sourceIdentity: userName };
  throw new ValidationError('The requester is not an IAM user or assumed-role session, so no access role can trust them', {
    requestedBy,
  });
}

/** The account id in an IAM or STS ARN. */
export const accountOf = (arn: string): string | undefined => /^arn:[\w-]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];

/** The tenant's external id, or a refusal: a role without one is open to the confused deputy (T-2.4). */
export function requireExternalId(externalId: string | undefined, tenantId: string): string {
  if (!externalId) throw new ValidationError(`Tenant ${tenantId} has no external id; the iam provider grants nothing without one`);
  if (!EXTERNAL_ID.test(externalId)) throw new ValidationError(`Tenant ${tenantId} has an external id STS does not accept`);
  return externalId;
}

/** `lockbox-<requestId>`, refused when the id would make an invalid role or session name. */
export function roleNameFor(requestId: string): string {
  if (!new RegExp(`^${IDENTITY}$`).test(requestId) || requestId.length > 56) {
    throw new ValidationError(`Request id ${requestId} cannot name an IAM role`);
  }
  return `lockbox-${requestId}`;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * An ISO-8601 UTC instant in whole seconds (`2026-11-05T10:00:00Z`), rounded the way that never
 * widens access: a window's start up, its end down. Only `Z` timestamps are accepted (T-2.9).
 */
export function iamTime(instant: string, round: 'up' | 'down'): string {
  const ms = ISO_UTC.test(instant) ? Date.parse(instant) : Number.NaN;
  if (Number.isNaN(ms)) throw new ValidationError(`Not an ISO-8601 UTC timestamp: ${instant}`);
  const seconds = round === 'up' ? Math.ceil(ms / 1000) : Math.floor(ms / 1000);
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

export interface Window {
  accessStartsAt: string;
  accessExpiresAt: string;
}

/** The `aws:CurrentTime` bounds of a window, refusing an empty one. */
export function windowBounds({ accessStartsAt, accessExpiresAt }: Window): { notBefore: string; notAfter: string } {
  const notBefore = iamTime(accessStartsAt, 'up');
  const notAfter = iamTime(accessExpiresAt, 'down');
  if (Date.parse(notAfter) <= Date.parse(notBefore)) {
    throw new ValidationError(`The access window ${accessStartsAt} – ${accessExpiresAt} is empty`);
  }
  return { notBefore, notAfter };
}

/**
 * The role's trust: only the engineer's principal, only with the tenant's external
 * id, carrying the engineer as source identity and the request id as session name, only inside
 * the approved window.
 */
export function trustPolicy(input: { engineer: EngineerPrincipal; externalId: string; requestId: string; window: Window }): PolicyDocument {
  const { notBefore, notAfter } = windowBounds(input.window);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EngineerDuringApprovedWindow',
        Effect: 'Allow',
        Principal: { AWS: input.engineer.principalArn },
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
        Condition: {
          StringEquals: {
            'aws:PrincipalArn': input.engineer.principalArn,
            'sts:ExternalId': input.externalId,
            'sts:SourceIdentity': input.engineer.sourceIdentity,
            'sts:RoleSessionName': input.requestId,
          },
          DateGreaterThan: { 'aws:CurrentTime': notBefore },
          DateLessThan: { 'aws:CurrentTime': notAfter },
        },
      },
    ],
  };
}

/** Inline deny of everything after the window: access ends even if revoke never runs. */
export function expiryDenyPolicy(window: Window): PolicyDocument {
  return denyAll('DenyAllAfterAccessWindow', { DateGreaterThan: { 'aws:CurrentTime': windowBounds(window).notAfter } });
}

/**
 * Inline deny for every session issued before `revokedAt` (R-2.5 b): credentials already handed
 * out stop working, even though STS cannot recall them. Rounded up so the revoking second is covered.
 */
export function sessionKillPolicy(revokedAt: string): PolicyDocument {
  return denyAll('DenySessionsIssuedBeforeRevoke', { DateLessThan: { 'aws:TokenIssueTime': iamTime(revokedAt, 'up') } });
}

/** The trust after revoke (R-2.5 a): nobody may assume the role any more. */
export function revokedTrustPolicy(): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AccessRevoked',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
      },
    ],
  };
}

const denyAll = (sid: string, condition: Conditions): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Sid: sid, Effect: 'Deny', Action: '*', Resource: '*', Condition: condition }],
});

/** Tags that let an admin (and the reconciler) tell what a role is for and when it must be gone. */
export const grantTags = (input: { requestId: string; tenantId: string; accessExpiresAt: string }) => [
  { Key: 'lockbox:request-id', Value: input.requestId },
  { Key: 'lockbox:tenant', Value: input.tenantId },
  { Key: 'lockbox:expires-at', Value: iamTime(input.accessExpiresAt, 'down') },
];

/** STS `DurationSeconds` for a session now: the rest of the window, at most an hour, at least STS's minimum. */
export function sessionSeconds(accessExpiresAt: string, nowMs: number): number {
  const remaining = Math.floor((Date.parse(accessExpiresAt) - nowMs) / 1000);
  return Math.max(MIN_SESSION_SECONDS, Math.min(remaining, MAX_SESSION_SECONDS));
}

/** The command the engineer runs to use the grant. */
export const assumeRoleCommand = (input: {
  roleArn: string;
  requestId: string;
  sourceIdentity: string;
  externalId: string;
  durationSeconds: number;
}): string =>
  [
    'aws sts assume-role',
    `--role-arn ${input.roleArn}`,
    `--role-session-name ${input.requestId}`,
    `--source-identity ${input.sourceIdentity}`,
    `--external-id ${input.externalId}`,
    `--duration-seconds ${input.durationSeconds}`,
  ].join(' ');
