import { createHash, createHmac, type Hmac, type Hash as NodeHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { GetPolicyCommand, GetRoleCommand, IAMClient, ListAccountAliasesCommand, NoSuchEntityException } from '@aws-sdk/client-iam';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, SourceData } from '@smithy/types';
import { IamAccessProvider } from '../../lambdas/core/adapters/iam-access';
import { ENV } from '../../lambdas/core/config';
import { engineerPrincipal, ROLE_PATH } from '../../lambdas/core/domain/iam-policies';
import type { AccessRequest } from '../../lambdas/core/domain/request';
import type { Tenant } from '../../lambdas/core/domain/tenant';

/**
 * The gated integration test of the `iam` access provider against real AWS (R-6.6; T-2.1, T-2.4,
 * T-2.5 in part, T-2.7's boundary, T-2.8). It is not part of jest: `npm run test:aws`.
 *
 *   LOCKBOX_AWS_IT=1 [AWS_PROFILE=…] [LOCKBOX_STACK_NAME=Lockbox | ACCESS_BOUNDARY_ARN=…] npm run test:aws
 *
 * Without LOCKBOX_AWS_IT=1 and AWS credentials it says SKIPPED and exits 0: it never passes
 * without having run. With them, in the account the credentials belong to, where Lockbox is
 * deployed (its permissions boundary must exist), it:
 *  1. grants a role for a made-up request, to the caller's own principal (as if the caller were
 *     the engineer), with the AWS managed policy IAMReadOnlyAccess as the access level;
 *  2. assumes it with the external id, source identity and session name (retrying while IAM
 *     makes the new role visible), and without the external id (must fail);
 *  3. with the session: lists account aliases (allowed by the access level) and reads its own
 *     role (allowed by the access level, denied by the boundary);
 *  4. revokes, then retries the old session (bounded, with backoff) until it is denied, and checks
 *     that the role can no longer be assumed;
 *  5. always revokes again at the end (idempotent), so nothing is left behind, whatever failed.
 * Exit code 0 only when every check passed.
 */

const SKIPPED = "SKIPPED: set LOCKBOX_AWS_IT=1 with credentials for an account where Lockbox's boundary exists";
const REGION = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
/** How long a revoked session may keep working before the check fails (R-2.6: "a few minutes"). */
const REVOKE_DEADLINE_MS = 5 * 60_000;
/** How long a new role may take to become assumable (T-2.8). */
const ASSUMABLE_DEADLINE_MS = 2 * 60_000;
const EXTERNAL_ID = `lockbox-it-${randomBytes(8).toString('hex')}`;

let failures = 0;

async function check(name: string, run: () => Promise<string | void>): Promise<boolean> {
  const started = Date.now();
  try {
    const note = await run();
    console.log(`  ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)${note ? `: ${note}` : ''}`);
    return true;
  } catch (error) {
    failures++;
    console.log(`  FAIL  ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

async function main(): Promise<number> {
  if (process.env.LOCKBOX_AWS_IT !== '1') {
    console.log(`${SKIPPED} (LOCKBOX_AWS_IT is not 1; nothing was tested)`);
    return 0;
  }
  const iam = new IAMClient({ region: REGION });
  let credentials: AwsCredentialIdentity;
  try {
    credentials = await iam.config.credentials();
  } catch (error) {
    console.log(`${SKIPPED} (no AWS credentials: ${error instanceof Error ? error.message : String(error)}; nothing was tested)`);
    return 0;
  }

  console.log('Lockbox iam access provider against AWS');
  const caller = await sts(credentials, { Action: 'GetCallerIdentity' });
  const callerArn = field(caller, 'Arn');
  const account = field(caller, 'Account');
  const partition = callerArn.split(':')[1];
  const engineer = engineerPrincipal(callerArn); // refuses roots and federated users, as the grant does
  // The boundary's name as lib/access-boundary.ts builds it: `/lockbox/<stack>-AccessBoundary`.
  const boundaryArn =
    process.env[ENV.accessBoundaryArn] ??
    `arn:${partition}:iam::${account}:policy${ROLE_PATH}${process.env.LOCKBOX_STACK_NAME ?? 'Lockbox'}-AccessBoundary`;
  console.log(
    `  caller ${callerArn}\n  trusted principal ${engineer.principalArn}, source identity ${engineer.sourceIdentity}\n  boundary ${boundaryArn}`,
  );

  try {
    await iam.send(new GetPolicyCommand({ PolicyArn: boundaryArn }));
  } catch (error) {
    if (!(error instanceof NoSuchEntityException)) throw error;
    console.log(
      `  FAIL  the boundary ${boundaryArn} does not exist: deploy Lockbox in account ${account}, or set ${ENV.accessBoundaryArn} / LOCKBOX_STACK_NAME`,
    );
    return 1;
  }

  const now = new Date();
  const requestId = `req-it-${now.getTime().toString(36)}-${randomBytes(3).toString('hex')}`;
  const request: AccessRequest = {
    requestId,
    tenantId: 'lockbox-it',
    ticketId: 'IT-1',
    justification: 'Lockbox integration test',
    accessLevel: 'ReadIam',
    duration: 'PT20M',
    requestedBy: callerArn,
    status: 'APPROVED',
    createdAt: now.toISOString(),
    version: 1,
    parties: [],
    timeouts: { managerSeconds: 60, customerSeconds: 60 },
  };
  const tenant: Tenant = {
    tenantId: 'lockbox-it',
    displayName: 'Lockbox integration test',
    lockboxEnabled: true,
    approvers: [],
    admins: [],
    auditors: [],
    maxAccessDuration: 'PT4H',
    approvalTimeout: 'PT12H',
    accessLevels: { ReadIam: { managedPolicyArns: [`arn:${partition}:iam::aws:policy/IAMReadOnlyAccess`] } },
    accessTarget: { accountId: account, externalId: EXTERNAL_ID },
    version: 1,
  };
  const provider = new IamAccessProvider(iam, { boundaryArn: () => boundaryArn, now: () => new Date() });
  let roleArn = '';
  const assume = (externalId: string | undefined) =>
    sts(credentials, {
      Action: 'AssumeRole',
      RoleArn: roleArn,
      RoleSessionName: requestId,
      SourceIdentity: engineer.sourceIdentity,
      DurationSeconds: '900',
      ...(externalId ? { ExternalId: externalId } : {}),
    });

  try {
    const granted = await check(`grant ${requestId}`, async () => {
      const access = await provider.grant({
        request,
        tenant,
        accessStartsAt: now.toISOString(),
        accessExpiresAt: new Date(now.getTime() + 20 * 60_000).toISOString(),
      });
      roleArn = access.roleArn as string;
      return roleArn;
    });
    if (!granted) return 1;

    let session: AwsCredentialIdentity | undefined;
    await check('assume with external id, source identity and session name', async () => {
      const answer = await retryUntil(
        ASSUMABLE_DEADLINE_MS,
        async () => assume(EXTERNAL_ID),
        (reply) => reply.ok,
      );
      if (!answer.ok) throw new Error(`still refused after ${ASSUMABLE_DEADLINE_MS / 1000} s: ${answer.code} ${answer.message}`);
      session = {
        accessKeyId: field(answer, 'AccessKeyId'),
        secretAccessKey: field(answer, 'SecretAccessKey'),
        sessionToken: field(answer, 'SessionToken'),
      };
    });
    await check('assume without the external id is refused (T-2.4)', async () => {
      const answer = await assume(undefined);
      if (answer.ok) throw new Error('AssumeRole succeeded without the external id');
      return answer.code;
    });
    await check('assume with another external id is refused (T-2.4)', async () => {
      const answer = await assume(`${EXTERNAL_ID}-other`);
      if (answer.ok) throw new Error('AssumeRole succeeded with a wrong external id');
      return answer.code;
    });
    if (!session) return 1;
    const asEngineer = new IAMClient({ region: REGION, credentials: session, maxAttempts: 1 });

    await check('the session may do what the access level grants (iam:ListAccountAliases)', async () => {
      const answer = await retryUntil(
        60_000,
        () => attempt(() => asEngineer.send(new ListAccountAliasesCommand({}))),
        (outcome) => outcome === 'allowed',
      );
      if (answer !== 'allowed') throw new Error(`denied: ${answer}`);
    });
    await check('the boundary denies what the access level grants on /lockbox/ (iam:GetRole on its own role)', async () => {
      const outcome = await attempt(() => asEngineer.send(new GetRoleCommand({ RoleName: roleArn.split('/').pop() })));
      if (outcome === 'allowed')
        throw new Error('GetRole on its own role was allowed: the boundary is missing or does not deny iam:* on /lockbox/');
      return outcome;
    });

    const steps: string[] = [];
    const revokedAt = Date.now();
    await check('revoke', async () => {
      await provider.revoke(request, (step, outcome) => steps.push(`${step}: ${outcome}`));
      return steps.join(', ');
    });
    await check(`the old session is denied within ${REVOKE_DEADLINE_MS / 60_000} minutes of the revoke (R-2.6, T-2.1)`, async () => {
      const outcome = await retryUntil(
        REVOKE_DEADLINE_MS,
        () => attempt(() => asEngineer.send(new ListAccountAliasesCommand({}))),
        (result) => result !== 'allowed',
      );
      if (outcome === 'allowed') throw new Error('the session still works');
      return `${outcome} after ${((Date.now() - revokedAt) / 1000).toFixed(0)} s`;
    });
    await check('the role can no longer be assumed', async () => {
      const answer = await assume(EXTERNAL_ID);
      if (answer.ok) throw new Error('AssumeRole succeeded after the revoke');
      return answer.code;
    });
  } finally {
    // Always: the revoke is idempotent and finishes whatever a failed step left behind.
    await check('clean-up: revoke again, nothing left under /lockbox/ for this request', async () => {
      await provider.revoke(request);
      const left = await attempt(() => iam.send(new GetRoleCommand({ RoleName: `lockbox-${requestId}` })));
      if (left === 'allowed') throw new Error(`role lockbox-${requestId} still exists`);
    });
  }
  return failures === 0 ? 0 : 1;
}

/** Runs a call; `allowed`, or the error's name (AccessDenied, NoSuchEntity, …). */
async function attempt(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'allowed';
  } catch (error) {
    return error instanceof Error ? error.name : String(error);
  }
}

/** Repeats `read` with doubling delays (1 s to 16 s) until `done` or the deadline; returns the last value. */
async function retryUntil<T>(deadlineMs: number, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (let wait = 1000; ; wait = Math.min(wait * 2, 16_000)) {
    const value = await read();
    if (done(value) || Date.now() + wait > until) return value;
    await delay(wait);
  }
}

// ---- STS over its Query API --------------------------------------------------------------------
// The project depends on no STS client (the SDK's own is internal to its credential providers),
// so the two calls this test makes are signed here with the SDK's signer.

interface StsReply {
  ok: boolean;
  code?: string;
  message?: string;
  xml: string;
}

class Sha256 {
  private readonly hash: NodeHash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const bytes = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

async function sts(credentials: AwsCredentialIdentity, params: Record<string, string>): Promise<StsReply> {
  const hostname = `sts.${REGION}.amazonaws.com`;
  const body = new URLSearchParams({ ...params, Version: '2011-06-15' }).toString();
  const signer = new SignatureV4({ credentials, region: REGION, service: 'sts', sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'https:',
    hostname,
    path: '/',
    query: {},
    headers: { host: hostname, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  const response = await fetch(`https://${hostname}/`, { method: 'POST', headers: signed.headers, body });
  const xml = await response.text();
  if (response.ok) return { ok: true, xml };
  return { ok: false, code: tag(xml, 'Code') ?? String(response.status), message: tag(xml, 'Message'), xml };
}

const tag = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

function field(reply: StsReply, name: string): string {
  if (!reply.ok) throw new Error(`STS refused: ${reply.code} ${reply.message ?? ''}`);
  const value = tag(reply.xml, name);
  if (value === undefined) throw new Error(`STS answered without ${name}`);
  return value;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`  FAIL  ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
