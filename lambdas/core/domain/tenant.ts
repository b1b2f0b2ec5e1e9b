import { isEmailEntry } from './principals';

/** A customer tenant as stored (Tenants table), chain head included. */
export interface Approver {
  email: string;
  /** The approver's IAM principal, for decisions through the API; links work with the email alone. */
  principal?: string;
}

export interface AccessLevel {
  description?: string;
  /** For the `iam` access provider: managed policy ARNs attached to the per-request role. */
  managedPolicyArns?: string[];
}

export interface Tenant {
  tenantId: string;
  displayName: string;
  lockboxEnabled: boolean;
  approvers: Approver[];
  /** Principals (or sign-in emails) that may read and change the tenant's settings (and revoke, audit). */
  admins: string[];
  /** Principals (or sign-in emails) that may read the audit log. */
  auditors: string[];
  maxAccessDuration: string;
  approvalTimeout: string;
  accessLevels: Record<string, AccessLevel>;
  /** For the `iam` access provider: the account to grant in and the external id to require. */
  accessTarget?: { accountId?: string; externalId?: string };
  /**
   * AWS accounts whose principals belong to the customer: its approvers, admins and auditors must be
   * principals of these (or sign-in emails). @default - the access target's account
   */
  customerAccounts?: string[];
  /** Customer decisions only by a person signed in to the console: links then open the console. */
  signInRequired?: boolean;
  /** Groups of the customer's IdP (the sign-in's group claim) whose members hold a console role. */
  consoleGroups?: ConsoleGroups;
  version: number;
  auditSeq?: number;
  auditHead?: string;
}

export interface ConsoleGroups {
  approvers?: string[];
  admins?: string[];
  auditors?: string[];
}

/** Who a caller is to a tenant: the signed principal, and the verified email and IdP groups of a signed-in caller. */
export interface Who {
  principal?: string;
  email?: string;
  groups?: readonly string[];
}

const inGroup = (tenant: Tenant, role: keyof ConsoleGroups, who: Who): boolean =>
  (tenant.consoleGroups?.[role] ?? []).some((group) => who.groups?.includes(group));

/**
 * The approver a principal or email belongs to, if any. A signed-in member of an approvers group
 * is one by their email (they get no emails: they decide in the console).
 */
export function findApprover(tenant: Tenant, by: Who): Approver | undefined {
  const listed = tenant.approvers.find(
    (approver) =>
      (by.principal !== undefined && approver.principal === by.principal) ||
      (by.email !== undefined && approver.email.toLowerCase() === by.email.toLowerCase()),
  );
  if (listed) return listed;
  return by.email !== undefined && inGroup(tenant, 'approvers', by) ? { email: by.email.toLowerCase() } : undefined;
}

const whoOf = (who: Who | string): Who => (typeof who === 'string' ? { principal: who } : who);

/** An entry of `admins`/`auditors`: a principal ARN, or the email of a signed-in person. */
const holds = (entry: string, who: Who): boolean =>
  isEmailEntry(entry)
    ? who.email !== undefined && who.email.toLowerCase() === entry.toLowerCase()
    : who.principal !== undefined && entry === who.principal;

export const isTenantAdmin = (tenant: Tenant, who: Who | string): boolean =>
  tenant.admins.some((entry) => holds(entry, whoOf(who))) || inGroup(tenant, 'admins', whoOf(who));

export const canReadAudit = (tenant: Tenant, who: Who | string): boolean =>
  isTenantAdmin(tenant, who) ||
  tenant.auditors.some((entry) => holds(entry, whoOf(who))) ||
  inGroup(tenant, 'auditors', whoOf(who)) ||
  findApprover(tenant, whoOf(who)) !== undefined;
