import * as z from 'zod';
import { STATUSES } from '../domain/status';
import { illFormed } from '../domain/text';

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
  z
    .string()
    .superRefine((value, ctx) => {
      const problem = illFormed(value, options);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((value) => value.trim())
    .pipe(
      z
        .string()
        .min(options.min ?? 1)
        .max(max),
    );
const reason = text(1000, { multiLine: true });
const durationText = z.string().min(2).max(32);

export const tenantId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes');
export const requestId = z.string().regex(/^req-[0-9a-f]{32}$/, 'is not a request id');

export const createRequestBody = z.strictObject({
  tenantId,
  ticketId: text(64),
  justification: text(2000, { multiLine: true }),
  accessLevel: text(64),
  duration: durationText,
  idempotencyKey: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits or . _ : -')
    .optional(),
});

/** A refusal must say why: the engineer is told the reason. */
const needsReasonToRefuse = <T extends { decision: string; reason?: string }>(body: T) =>
  body.decision === 'APPROVE' || body.reason !== undefined;
const refusalMessage = { message: 'reason is required to reject or deny', path: ['reason'] };

export const managerDecisionBody = z
  .strictObject({ decision: z.enum(['APPROVE', 'REJECT']), reason: reason.optional() })
  .refine(needsReasonToRefuse, refusalMessage);

export const customerDecisionBody = z
  .strictObject({ decision: z.enum(['APPROVE', 'DENY']), reason: reason.optional() })
  .refine(needsReasonToRefuse, refusalMessage);

export const cancelBody = z.strictObject({});
export const revokeBody = z.strictObject({ reason: reason.optional() });

/** Decimal digits only: `0x10`, `1e1` or ` 5` are not limits (z.coerce would take them). */
const limit = z
  .string()
  .regex(/^[0-9]{1,3}$/, 'must be a whole number from 1 to 100')
  .transform(Number)
  .pipe(z.number().int().min(1).max(100))
  .default(25);
const nextToken = z.string().min(1).max(2048).optional();

export const listRequestsQuery = z.strictObject({
  tenantId: tenantId.optional(),
  status: z.enum(STATUSES).optional(),
  createdAfter: isoTime.optional(),
  limit,
  nextToken,
});

export const auditQuery = z.strictObject({ from: isoTime.optional(), to: isoTime.optional(), limit, nextToken });

const principal = z.string().regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\x21-\x7e]+$/, 'must be an IAM or STS principal ARN');
/** Admins and auditors: a principal ARN, or the email a person signs in with (the console). */
const principalOrEmail = z.union([principal, z.email()], 'must be an IAM or STS principal ARN, or a sign-in email');
const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');

/** A group name of the customer's IdP, as its group claim carries it. */
const groupName = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .regex(/^[^\u0000-\u001f]+$/, 'must not contain control characters');
const groups = z.array(groupName).max(20).optional();

export const tenantBody = z.strictObject({
  displayName: text(200),
  lockboxEnabled: z.boolean(),
  approvers: z.array(z.strictObject({ email: z.email(), principal: principal.optional() })).max(50),
  admins: z.array(principalOrEmail).min(1).max(50),
  auditors: z.array(principalOrEmail).max(50).default([]),
  maxAccessDuration: durationText,
  approvalTimeout: durationText,
  accessLevels: z
    .record(
      z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
      z.strictObject({
        description: text(500, { multiLine: true, min: 0 }).optional(),
        managedPolicyArns: z
          .array(z.string().regex(/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/.+$/))
          .max(10)
          .optional(),
      }),
    )
    .refine((levels) => Object.keys(levels).length > 0, 'at least one access level'),
  accessTarget: z
    .strictObject({
      accountId: accountId.optional(),
      externalId: z
        .string()
        .regex(/^[\w+=,.@:/-]{2,1224}$/)
        .optional(),
    })
    .optional(),
  customerAccounts: z.array(accountId).max(20).optional(),
  signInRequired: z.boolean().optional(),
  consoleGroups: z.strictObject({ approvers: groups, admins: groups, auditors: groups }).optional(),
  version: z.number().int().min(1),
});

/** `POST /tenants`: a tenant's settings with its id, and no version (a new tenant is version 1). */
export const createTenantBody = tenantBody.omit({ version: true }).extend({ tenantId });

/** `GET /tenants` takes no parameters: every tenant in one page. */
export const listTenantsQuery = z.strictObject({});

export const linkForm = z.strictObject({
  form: z.string().max(64),
  decision: z.enum(['APPROVE', 'REJECT', 'DENY']),
  reason: text(1000, { multiLine: true, min: 0 })
    .optional()
    .transform((value) => (value ? value : undefined)),
});
