import type { Clock } from '../domain/clock';
import type { MacSigner } from '../domain/link-token';
import type { Directory } from '../domain/principals';
import type { AccessProvider, AuditLog, Mailer, RefusalCounter, RequestStore, TenantStore, Workflow } from '../ports';

/** Deployment-wide rules (from configuration, validated when the deployment is synthesized). */
export interface Policy {
  /** Shortest duration a request may ask for (deployed default PT15M; local mode PT1S). */
  durationFloor: string;
  /** Longest duration any tenant may allow (default PT4H). */
  durationCap: string;
  /** How long managers have to decide (default PT12H). */
  managerApprovalTimeout: string;
  /** Base URL of the public API; approval links are `${linkBaseUrl}/approvals/{token}`. */
  linkBaseUrl: string;
}

/** Everything a use case may touch. Handlers build one from `../container.ts`; tests build their own. */
export interface Deps {
  clock: Clock;
  requests: RequestStore;
  tenants: TenantStore;
  audit: AuditLog;
  mailer: Mailer;
  workflow: Workflow;
  access: AccessProvider;
  signer: MacSigner;
  /** Limits refused-link events per link and source (usecases/links.ts). */
  refusals: RefusalCounter;
  directory: Directory;
  policy: Policy;
  log: Logger;
}

export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** Who is calling through the API (from API Gateway's `requestContext.identity`, never the body). */
export interface Caller {
  /** The IAM ARN that signed the call (for a signed-in console caller: whatever the console sets). */
  principal: string;
  sourceIp?: string;
  /** A verified OIDC sign-in (the console): the person key is then `email:<email, lower case>`. */
  signIn?: { issuer: string; subject: string; email: string; groups: string[] };
}
