
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
  /** Principals that may read and change the tenant's settings (and revoke, audit). */
  admins: string[];
  /** Principals that may read the audit log. */
  auditors: string[];
  maxAccessDuration: string;
  approvalTimeout: string;
  accessLevels: Record<string, AccessLevel>;
  /** For the `iam` access provider: the account to grant in and the external id to require. */
  accessTarget?: { accountId?: string; externalId?: string };
  version: number;
  auditSeq?: number;
  auditHead?: string;
}

/** The approver a principal or email belongs to, if any. */
export const findApprover = (tenant: Tenant, by: { principal?: string; email?: string }): Approver | undefined =>
  tenant.approvers.find(
    (approver) =>
      (by.principal !== undefined && approver.principal === by.principal) ||
      (by.email !== undefined && approver.email.toLowerCase() === by.email.toLowerCase()),
  );

export const isTenantAdmin = (tenant: Tenant, principal: string): boolean => tenant.admins.includes(principal);

export const canReadAudit = (tenant: Tenant, principal: string): boolean =>
  isTenantAdmin(tenant, principal) ||
  tenant.auditors.includes(principal) ||
  tenant.approvers.some((approver) => approver.principal === principal);

