import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoRefusalCounter } from '../../lambdas/core/adapters/dynamo-refusals';
import { DynamoAuditLog, DynamoRequestStore, DynamoTenantStore } from '../../lambdas/core/adapters/dynamo-store';
import { LocalAccessProvider } from '../../lambdas/core/adapters/local-access';
import { LocalSigner } from '../../lambdas/core/adapters/signers';
import type { Tenant } from '../../lambdas/core/domain/tenant';
import type { Email, Workflow } from '../../lambdas/core/ports';
import type { Deps } from '../../lambdas/core/usecases/deps';
import { DIRECTORY } from './fixtures';

/**
 * Use-case dependencies on real tables (DynamoDB Local), with the workflow and the mailbox as
 * recording fakes: the state machine itself is exercised by the end-to-end suite.
 */
export interface Harness {
  deps: Deps;
  outbox: Email[];
  workflow: Workflow & {
    delivered: { token: string; output?: unknown; error?: string }[];
    started: string[];
    lostRace: boolean;
    running: Set<string>;
  };
  clock: { now(): Date; set(ms: number): void; advance(ms: number): void };
  seedTenant(tenant: Tenant): Promise<void>;
}

export function harness(doc: DynamoDBDocumentClient, names: { requests: string; tenants: string; audit: string; grants: string }): Harness {
  let nowMs = Date.UTC(2026, 10, 29, 9, 0, 0);
  const clock = { now: () => new Date(nowMs), set: (ms: number) => void (nowMs = ms), advance: (ms: number) => void (nowMs += ms) };
  const outbox: Email[] = [];
  const workflow: Harness['workflow'] = {
    delivered: [],
    started: [],
    lostRace: false,
    running: new Set(),
    start: async (requestId) => void (workflow.started.push(requestId), workflow.running.add(requestId)),
    runningExecutions: async () => new Set(workflow.running),
    executionStatus: async (requestId) =>
      workflow.running.has(requestId) ? 'running' : workflow.started.includes(requestId) ? 'ended' : 'never-started',
    succeed: async (token, output) => (workflow.delivered.push({ token, output }), workflow.lostRace ? 'lost-race' : 'delivered'),
    fail: async (token, error) => (workflow.delivered.push({ token, error }), workflow.lostRace ? 'lost-race' : 'delivered'),
  };
  // Listing shows events at once (no settle window) on the test's clock; the listing tests set their own.
  const chain = new DynamoAuditLog(doc, names, { settleMs: 0, now: () => nowMs });
  const deps: Deps = {
    clock,
    requests: new DynamoRequestStore(doc, names, chain),
    tenants: new DynamoTenantStore(doc, names, chain),
    audit: chain,
    mailer: { send: async (email) => void outbox.push(email) },
    workflow,
    access: new LocalAccessProvider(doc, names.grants, clock.now),
    signer: new LocalSigner('k1', { k1: randomBytes(32) }),
    refusals: new DynamoRefusalCounter(doc, names.requests),
    directory: DIRECTORY,
    policy: { durationFloor: 'PT1S', durationCap: 'PT4H', managerApprovalTimeout: 'PT1H', linkBaseUrl: 'https://lockbox.example' },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  return {
    deps,
    outbox,
    workflow,
    clock,
    seedTenant: async (tenant) => void (await doc.send(new PutCommand({ TableName: names.tenants, Item: tenant }))),
  };
}

/** The link token in an email's text part. */
export const linkIn = (email: Email): string => {
  const match = /\/approvals\/([A-Za-z0-9_.-]+)/.exec(email.text);
  if (!match) throw new Error(`no link in ${email.subject}`);
  return match[1];
};
