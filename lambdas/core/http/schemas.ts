import { STATUSES } from '../domain/status';
import { illFormed } from '../domain/text';
import * as z from '../zod';

/**
 * The shapes of every body, query and path parameter of the API (docs/design.md §4). Objects are strict:
 * an unknown field (`status`, `requestedBy`, `expiry`…) is refused, never ignored.
 */
const isoTime = z.iso.datetime({ offset: false, message: 'must be an ISO-8601 UTC time ending in Z' });

/**
 * Every free-text field: trimmed, bounded, and well formed — no lone surrogate, no control
 * character (multi-line fields keep tab and line breaks). See domain/text.ts (T-1.10).
 */
export const text = (max: number, options: { multiLine?: boolean; min?: number } = {}) =>
  z.pipe(
    z.pipe(
      z.string().check(
        z.superRefine((value, ctx) => {
          const problem = illFormed(value, options);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      ),
      z.transform((value) => value.trim()),
    ),
    z.string().check(z.minLength(options.min ?? 1), z.maxLength(max)),
  );
const reason = text(1000, { multiLine: true });
const durationText = z.string().check(z.minLength(2), z.maxLength(32));

export const tenantId = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes'));
export const requestId = z.string().check(z.regex(/^req-[0-9a-f]{32}$/, 'is not a request id'));

export const createRequestBody = z.strictObject({
  tenantId,
  ticketId: text(64),
  justification: text(2000, { multiLine: true }),
  accessLevel: text(64),
  duration: durationText,
  idempotencyKey: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits or . _ : -'))),
});

/** A refusal must say why: the engineer is told the reason. */
const needsReasonToRefuse = <T extends { decision: string; reason?: string }>(body: T) =>
  body.decision === 'APPROVE' || body.reason !== undefined;
const refusalMessage = { message: 'reason is required to reject or deny', path: ['reason'] };

export const managerDecisionBody = z
  .strictObject({ decision: z.enum(['APPROVE', 'REJECT']), reason: z.optional(reason) })
  .check(z.refine(needsReasonToRefuse, refusalMessage));

export const customerDecisionBody = z
  .strictObject({ decision: z.enum(['APPROVE', 'DENY']), reason: z.optional(reason) })
  .check(z.refine(needsReasonToRefuse, refusalMessage));

export const cancelBody = z.strictObject({});
export const revokeBody = z.strictObject({ reason: z.optional(reason) });

/** Decimal digits only: `0x10`, `1e1` or ` 5` are not limits (z.coerce would take them). */
const limit = z._default(
  z.pipe(
    z.pipe(z.string().check(z.regex(/^[0-9]{1,3}$/, 'must be a whole number from 1 to 100')), z.transform(Number)),
    z.int().check(z.minimum(1), z.maximum(100)),
  ),
  25,
);
const nextToken = z.optional(z.string().check(z.minLength(1), z.maxLength(2048)));

export const listRequestsQuery = z.strictObject({
  tenantId: z.optional(tenantId),
  status: z.optional(z.enum(STATUSES)),
  createdAfter: z.optional(isoTime),
  limit,
  nextToken,
});

export const auditQuery = z.strictObject({ from: z.optional(isoTime), to: z.optional(isoTime), limit, nextToken });

const principal = z.string().check(z.regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\x21-\x7e]+$/, 'must be an IAM or STS principal ARN'));
/** Admins and auditors: a principal ARN, or the email a person signs in with (the console). */
const principalOrEmail = z.union([principal, z.email()], 'must be an IAM or STS principal ARN, or a sign-in email');
const accountId = z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account id'));

/** A group name of the customer's IdP, as its group claim carries it. */
const groupName = z
  .string()
  .check(z.trim(), z.minLength(1), z.maxLength(256), z.regex(/^[^\u0000-\u001f]+$/, 'must not contain control characters'));
const groups = z.optional(z.array(groupName).check(z.maxLength(20)));

export const tenantBody = z.strictObject({
  displayName: text(200),
  lockboxEnabled: z.boolean(),
  approvers: z.array(z.strictObject({ email: z.email(), principal: z.optional(principal) })).check(z.maxLength(50)),
  admins: z.array(principalOrEmail).check(z.minLength(1), z.maxLength(50)),
  auditors: z._default(z.array(principalOrEmail).check(z.maxLength(50)), []),
  maxAccessDuration: durationText,
  approvalTimeout: durationText,
  accessLevels: z
    .record(
      z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/)),
      z.strictObject({
        description: z.optional(text(500, { multiLine: true, min: 0 })),
        managedPolicyArns: z.optional(
          z.array(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/.+$/))).check(z.maxLength(10)),
        ),
      }),
    )
    .check(z.refine((levels) => Object.keys(levels).length > 0, 'at least one access level')),
  accessTarget: z.optional(
    z.strictObject({
      accountId: z.optional(accountId),
      externalId: z.optional(z.string().check(z.regex(/^[\w+=,.@:/-]{2,1224}$/))),
    }),
  ),
  customerAccounts: z.optional(z.array(accountId).check(z.maxLength(20))),
  signInRequired: z.optional(z.boolean()),
  consoleGroups: z.optional(z.strictObject({ approvers: groups, admins: groups, auditors: groups })),
  version: z.int().check(z.minimum(1)),
});

/** `POST /tenants`: a tenant's settings with its id, and no version (a new tenant is version 1). */
export const createTenantBody = z.extend(z.omit(tenantBody, { version: true }), { tenantId });

/** `GET /tenants` takes no parameters: every tenant in one page. */
export const listTenantsQuery = z.strictObject({});

export const linkForm = z.strictObject({
  form: z.string().check(z.maxLength(64)),
  decision: z.enum(['APPROVE', 'REJECT', 'DENY']),
  reason: z.pipe(
    z.optional(text(1000, { multiLine: true, min: 0 })),
    z.transform((value) => (value ? value : undefined)),
  ),
});
