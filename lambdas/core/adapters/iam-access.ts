import { setTimeout as delay } from 'node:timers/promises';
import {
  AttachRolePolicyCommand,
  ConcurrentModificationException,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  IAMServiceException,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  type Tag,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import { ValidationError } from '../domain/errors';
import {
  accountOf,
  assumeRoleCommand,
  EXPIRY_DENY_POLICY,
  engineerPrincipal,
  expiryDenyPolicy,
  grantTags,
  MAX_SESSION_SECONDS,
  ROLE_PATH,
  requireExternalId,
  revokedTrustPolicy,
  roleNameFor,
  SESSION_KILL_POLICY,
  sessionKillPolicy,
  sessionSeconds,
  trustPolicy,
} from '../domain/iam-policies';
import type { AccessDetails, AccessRequest } from '../domain/request';
import type { AccessProvider, GrantInput } from '../ports';

/**
 * The `iam` access provider: one role per request, `/lockbox/lockbox-<requestId>`, that only the
 * requesting engineer may assume, only inside the approved window, with the tenant's external id.
 * The documents it writes are built in `../domain/iam-policies.ts`; this file only talks to IAM.
 *
 * Both calls converge: a repeat (Lambda or Step Functions retry) writes the same state again, and
 * a revoke that failed halfway finishes when run again.
 */

export type RevokeStep = 'deny-trust' | 'revoke-sessions' | 'detach-managed-policies' | 'delete-inline-policies' | 'delete-role';
export type StepOutcome = 'done' | 'already-done';
export type OnRevokeStep = (step: RevokeStep, outcome: StepOutcome) => void;

export interface RetryPolicy {
  /** Tries in all, the first one included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface IamAccessOptions {
  /**
   * The Lockbox permissions boundary every access role carries. Read only when granting,
   * so functions that only revoke need no such configuration.
   */
  boundaryArn: () => string;
  now: () => Date;
  /** Injected so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** For IAM's eventual consistency; default 6 tries, 0.5 s doubling to at most 8 s (~15 s in all). */
  retry?: RetryPolicy;
  /**
   * Member accounts (`LockboxTarget`): account id → the role to assume there. A tenant whose
   * access target names one of them gets its roles there; the others stay in Lockbox's account.
   * @default none
   */
  targets?: () => Readonly<Record<string, string>>;
  /** An IAM client that acts as the given role (assumed). Called once per account, then reused. */
  clientAs?: (roleArn: string) => IAMClient;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 8000 };
// IAM's throttling error has no modelled exception class; these are the codes it and STS use.
const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded']);

export class IamAccessProvider implements AccessProvider {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly retryPolicy: RetryPolicy;
  private readonly memberClients = new Map<string, IAMClient>();

  constructor(
    private readonly iam: IAMClient,
    private readonly options: IamAccessOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.retryPolicy = options.retry ?? DEFAULT_RETRY;
  }

  private targets(): Readonly<Record<string, string>> {
    return this.options.targets?.() ?? {};
  }

  /** The client for an account: its target role's, once assumed, or Lockbox's own for any other. */
  private iamIn(account: string | undefined): IAMClient {
    const roleArn = account ? this.targets()[account] : undefined;
    if (!account || !roleArn) return this.iam;
    let client = this.memberClients.get(account);
    if (!client) {
      if (!this.options.clientAs) throw new Error(`No way to act as ${roleArn}: the iam provider was built without clientAs`);
      client = this.options.clientAs(roleArn);
      this.memberClients.set(account, client);
    }
    return client;
  }

  /** The boundary in a member account: the policy of the same name and path there (LockboxTarget creates it). */
  private boundaryIn(account: string | undefined): string {
    const home = this.options.boundaryArn();
    if (!account || !this.targets()[account]) return home;
    const parts = home.split(':');
    parts[4] = account;
    return parts.join(':');
  }

  /**
   * 1. checks everything that can be checked before touching IAM (external id, principal, window,
   *    policies of the access level);
   * 2. creates the role with its trust, boundary and tags — or, if it exists, converges it;
   * 3. puts the deny-after-expiry policy, then attaches the level's managed policies, so the role
   *    never holds a permission without its time limit.
   */
  async grant({ request, tenant, accessStartsAt, accessExpiresAt }: GrantInput): Promise<AccessDetails> {
    const expectedAccount = tenant.accessTarget?.accountId;
    const iam = this.iamIn(expectedAccount);
    const externalId = requireExternalId(tenant.accessTarget?.externalId, tenant.tenantId);
    const engineer = engineerPrincipal(request.requestedBy);
    const roleName = roleNameFor(request.requestId);
    const window = { accessStartsAt, accessExpiresAt };
    const managedPolicyArns = tenant.accessLevels[request.accessLevel]?.managedPolicyArns ?? [];
    if (managedPolicyArns.length === 0) {
      throw new ValidationError(`Access level ${request.accessLevel} of tenant ${tenant.tenantId} names no managed policies`);
    }

    const role = {
      roleName,
      boundaryArn: this.boundaryIn(expectedAccount),
      trust: JSON.stringify(trustPolicy({ engineer, externalId, requestId: request.requestId, window })),
      tags: grantTags({ requestId: request.requestId, tenantId: tenant.tenantId, accessExpiresAt }),
      description: `Lockbox access for request ${request.requestId}, until ${accessExpiresAt}`,
    };
    const roleArn = (await this.createRole(iam, role)) ?? (await this.convergeRole(iam, role));

    if (expectedAccount && accountOf(roleArn) !== expectedAccount) {
      // The role holds no permission yet; the caller's clean-up revoke deletes it.
      throw new ValidationError(
        `Tenant ${tenant.tenantId} is in account ${expectedAccount}, but Lockbox's IAM credentials are in account ${accountOf(roleArn)}`,
      );
    }

    await this.retrying(() =>
      iam.send(
        new PutRolePolicyCommand({
          RoleName: roleName,
          PolicyName: EXPIRY_DENY_POLICY,
          PolicyDocument: JSON.stringify(expiryDenyPolicy(window)),
        }),
      ),
    );
    for (const policyArn of managedPolicyArns) {
      await this.retrying(() => iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn })));
    }

    const durationSeconds = sessionSeconds(accessExpiresAt, this.options.now().getTime());
    return {
      provider: 'iam',
      roleArn,
      externalId,
      roleSessionName: request.requestId,
      sourceIdentity: engineer.sourceIdentity,
      accessStartsAt,
      accessExpiresAt,
      maxSessionSeconds: MAX_SESSION_SECONDS,
      assumeRoleCommand: assumeRoleCommand({
        roleArn,
        requestId: request.requestId,
        sourceIdentity: engineer.sourceIdentity,
        externalId,
        durationSeconds,
      }),
    };
  }

  /**
   * Takes access back, in this order, each step idempotent (`NoSuchEntity` means done):
   * a. trust → deny-all, so no new session starts;
   * b. deny every session issued before now, so live credentials stop working;
   * c. detach the managed policies, then delete the inline policies;
   * d. delete the role.
   * Reports each step to `onStep` as it completes (for the audit log). A failure is thrown as
   * IAM raised it; running revoke again finishes the job.
   */
  async revoke(request: AccessRequest, onStep?: OnRevokeStep): Promise<void> {
    const roleName = roleNameFor(request.requestId);
    const grantedIn = typeof request.access?.roleArn === 'string' ? accountOf(request.access.roleArn) : undefined;
    // Granted: the role is in the account of its ARN. Not (a grant that failed halfway): it may be
    // in Lockbox's account or any member account, so revoke in each; a step is done if done anywhere.
    const accounts = grantedIn ? [grantedIn] : [undefined, ...Object.keys(this.targets())];
    if (accounts.length === 1) return this.revokeIn(this.iamIn(accounts[0]), roleName, onStep);
    const outcomes = new Map<RevokeStep, StepOutcome>();
    for (const account of accounts) {
      await this.revokeIn(this.iamIn(account), roleName, (step, outcome) => {
        if (outcome === 'done' || !outcomes.has(step)) outcomes.set(step, outcome);
      });
    }
    for (const [step, outcome] of outcomes) onStep?.(step, outcome);
  }

  private async revokeIn(iam: IAMClient, roleName: string, onStep?: OnRevokeStep): Promise<void> {
    const run = async (step: RevokeStep, action: () => Promise<StepOutcome>) => {
      // Not `onStep?.(step, await action())`: an absent callback would skip the action itself.
      const outcome = await action();
      onStep?.(step, outcome);
    };

    await run('deny-trust', () =>
      this.unlessGone(() =>
        iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: JSON.stringify(revokedTrustPolicy()) })),
      ),
    );
    await run('revoke-sessions', () =>
      this.unlessGone(() =>
        iam.send(
          new PutRolePolicyCommand({
            RoleName: roleName,
            PolicyName: SESSION_KILL_POLICY,
            PolicyDocument: JSON.stringify(sessionKillPolicy(this.options.now().toISOString())),
          }),
        ),
      ),
    );
    await run('detach-managed-policies', async () => {
      const arns = await this.attachedPolicyArns(iam, roleName);
      for (const policyArn of arns) {
        await this.unlessGone(() => iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn })));
      }
      return arns.length > 0 ? 'done' : 'already-done';
    });
    // The denies go last: with nothing attached any more, a live session holds no permission.
    await run('delete-inline-policies', async () => {
      const names = await this.inlinePolicyNames(iam, roleName);
      for (const policyName of names) {
        await this.unlessGone(() => iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })));
      }
      return names.length > 0 ? 'done' : 'already-done';
    });
    await run('delete-role', () => this.unlessGone(() => iam.send(new DeleteRoleCommand({ RoleName: roleName }))));
  }

  /** The new role's ARN, or undefined when it exists already. */
  private async createRole(iam: IAMClient, role: RoleSpec): Promise<string | undefined> {
    try {
      const { Role } = await this.retrying(() =>
        iam.send(
          new CreateRoleCommand({
            RoleName: role.roleName,
            Path: ROLE_PATH,
            AssumeRolePolicyDocument: role.trust,
            PermissionsBoundary: role.boundaryArn,
            MaxSessionDuration: MAX_SESSION_SECONDS,
            Description: role.description,
            Tags: role.tags,
          }),
        ),
      );
      return requireArn(Role?.Arn);
    } catch (error) {
      if (error instanceof EntityAlreadyExistsException) return undefined;
      throw error;
    }
  }

  /**
   * A repeated grant: writes the same trust, boundary, session limit and tags again. A role that
   * was revoked (it carries the session kill) is never reopened.
   */
  private async convergeRole(iam: IAMClient, role: RoleSpec): Promise<string> {
    const RoleName = role.roleName;
    const { Role } = await this.retrying(() => iam.send(new GetRoleCommand({ RoleName })));
    if (await this.hasInlinePolicy(iam, RoleName, SESSION_KILL_POLICY)) {
      throw new ValidationError(`Role ${RoleName} was revoked; a revoked grant is never reopened`);
    }
    await this.retrying(() => iam.send(new UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: role.trust })));
    await this.retrying(() => iam.send(new PutRolePermissionsBoundaryCommand({ RoleName, PermissionsBoundary: role.boundaryArn })));
    await this.retrying(() =>
      iam.send(new UpdateRoleCommand({ RoleName, MaxSessionDuration: MAX_SESSION_SECONDS, Description: role.description })),
    );
    await this.retrying(() => iam.send(new TagRoleCommand({ RoleName, Tags: role.tags })));
    return requireArn(Role?.Arn);
  }

  private async hasInlinePolicy(iam: IAMClient, RoleName: string, PolicyName: string): Promise<boolean> {
    try {
      await this.retrying(() => iam.send(new GetRolePolicyCommand({ RoleName, PolicyName })));
      return true;
    } catch (error) {
      if (error instanceof NoSuchEntityException) return false;
      throw error;
    }
  }

  /** All pages; none when the role is gone. */
  private async attachedPolicyArns(iam: IAMClient, RoleName: string): Promise<string[]> {
    const arns: string[] = [];
    let Marker: string | undefined;
    try {
      do {
        const page = await this.retrying(() => iam.send(new ListAttachedRolePoliciesCommand({ RoleName, Marker })));
        arns.push(...(page.AttachedPolicies ?? []).flatMap((policy) => (policy.PolicyArn ? [policy.PolicyArn] : [])));
        Marker = page.IsTruncated ? page.Marker : undefined;
      } while (Marker);
    } catch (error) {
      if (error instanceof NoSuchEntityException) return [];
      throw error;
    }
    return arns;
  }

  private async inlinePolicyNames(iam: IAMClient, RoleName: string): Promise<string[]> {
    const names: string[] = [];
    let Marker: string | undefined;
    try {
      do {
        const page = await this.retrying(() => iam.send(new ListRolePoliciesCommand({ RoleName, Marker })));
        names.push(...(page.PolicyNames ?? []));
        Marker = page.IsTruncated ? page.Marker : undefined;
      } while (Marker);
    } catch (error) {
      if (error instanceof NoSuchEntityException) return [];
      throw error;
    }
    return names;
  }

  /**
   * Roles under `/lockbox/` whose `lockbox:expires-at` tag has passed: access that outlived its
   * window (a revoke that never ran). ListRoles carries no tags, so each role's are read.
   */
  async listExpired(nowMs: number): Promise<string[]> {
    const expired = new Set<string>();
    for (const account of [undefined, ...Object.keys(this.targets())]) {
      for (const requestId of await this.listExpiredIn(this.iamIn(account), nowMs)) expired.add(requestId);
    }
    return [...expired];
  }

  private async listExpiredIn(iam: IAMClient, nowMs: number): Promise<string[]> {
    const expired: string[] = [];
    let marker: string | undefined;
    do {
      const page = await this.retrying(() => iam.send(new ListRolesCommand({ PathPrefix: ROLE_PATH, Marker: marker })));
      for (const role of page.Roles ?? []) {
        const tags = await this.retrying(() => iam.send(new ListRoleTagsCommand({ RoleName: role.RoleName })));
        const tag = (key: string) => tags.Tags?.find((candidate) => candidate.Key === key)?.Value;
        const expiresAt = Date.parse(tag('lockbox:expires-at') ?? '');
        const requestId = tag('lockbox:request-id');
        // A role without readable tags is not ours to judge: it stays for a human to look at.
        if (requestId && Number.isFinite(expiresAt) && expiresAt <= nowMs) expired.push(requestId);
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return expired;
  }

  /** Runs a revoke call; the role or policy being gone already counts as done. */
  private async unlessGone(call: () => Promise<unknown>): Promise<StepOutcome> {
    try {
      await this.retrying(call);
      return 'done';
    } catch (error) {
      if (error instanceof NoSuchEntityException) return 'already-done';
      throw error;
    }
  }

  /**
   * Retries what IAM's eventual consistency and rate limits cause, a bounded number of times with
   * doubling delays, then throws the last error. It never changes what is being written.
   */
  private async retrying<T>(call: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs } = this.retryPolicy;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (attempt >= attempts || !isTransient(error)) throw error;
        await this.sleep(Math.min(baseDelayMs * 2 ** (attempt - 1), maxDelayMs));
      }
    }
  }
}

interface RoleSpec {
  roleName: string;
  boundaryArn: string;
  trust: string;
  tags: Tag[];
  description: string;
}

/**
 * A principal created moments ago may not be visible to IAM yet ("Invalid principal in policy");
 * concurrent writes to one role fail with ConcurrentModification; throttling passes with time.
 */
function isTransient(error: unknown): boolean {
  if (error instanceof ConcurrentModificationException) return true;
  if (error instanceof MalformedPolicyDocumentException) return /invalid principal/i.test(error.message);
  return error instanceof IAMServiceException && THROTTLING.has(error.name);
}

function requireArn(arn: string | undefined): string {
  if (!arn) throw new Error('IAM returned a role without an ARN');
  return arn;
}
