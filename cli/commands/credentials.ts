import type { Command } from 'commander';
import { action, type Context } from '../context';
import { CliError, EXIT } from '../errors';
import { relative } from '../time';
import { type RequestView, TERMINAL } from '../views';
import { requestPath } from './requests';

/**
 * Engineers: `credentials <requestId>` — assumes the role a grant created (the `iam` access
 * provider), with the grant's external id, source identity and session name, and prints the
 * temporary credentials: as `export` lines, as JSON, or in the AWS CLI's `credential_process`
 * format. Each run assumes again (the AWS CLI runs it whenever its credentials expire), so
 * sessions renew within the window; once the window is over it fails with exit code 7.
 *
 * What only a real AWS account proves: that the role's trust accepts exactly these values and
 * refuses others, that sessions stop at the window's end (docs/iam-access.md, npm run test:aws).
 * The tests here run against moto's STS, which checks the call's shape, not IAM's decision.
 */
export function registerCredentials(program: Command): void {
  program
    .command('credentials')
    .description('assume the role of your granted request; print its temporary AWS credentials')
    .argument('<requestId>')
    .option('--credential-process', "print the AWS CLI's credential_process JSON (use in ~/.aws/config)")
    .addHelpText(
      'after',
      `
Run it as the identity that filed the request (the role trusts only that principal).

  eval "$(lockbox credentials req-…)"                 # exports AWS_ACCESS_KEY_ID, … in this shell

  # ~/.aws/config — the AWS CLI and SDKs call lockbox whenever the credentials expire:
  [profile acme-support]
  credential_process = lockbox credentials req-… --credential-process --profile <your profile>

Sessions last at most an hour and never past the window; after the window (or a revoke) the
command fails with exit code 7 and says why.`,
    )
    .action(action(assumeGrant));
}

interface Access {
  provider?: string;
  roleArn?: string;
  externalId?: string;
  roleSessionName?: string;
  sourceIdentity?: string;
  maxSessionSeconds?: number;
}

async function assumeGrant(context: Context<{ credentialProcess?: boolean }>, requestId: string): Promise<void> {
  const api = await context.api();
  const { body: request } = await api.call<RequestView>('GET', `/requests/${requestPath(requestId)}`);
  const expiresMs = Date.parse(request.accessExpiresAt ?? '');
  if (request.status !== 'ACTIVE' || !(expiresMs > Date.now())) {
    const ended = TERMINAL.includes(request.status) || request.status === 'ACTIVE';
    throw new CliError(
      EXIT.wrongState,
      ended
        ? `${requestId} is ${request.status}${request.accessExpiresAt ? `: its access window ended ${request.endedAt ?? request.accessExpiresAt}` : ''} — nothing to assume; file a new request`
        : `${requestId} is ${request.status}: access is not granted yet (lockbox request wait ${requestId})`,
    );
  }
  const access = request.access as Access | undefined;
  if (!access)
    throw new CliError(EXIT.refused, `${requestId}: the grant's details go only to its requester — run this as the identity that filed it`);
  if (access.provider !== 'iam' || !access.roleArn || !access.roleSessionName) {
    throw new CliError(
      EXIT.refused,
      `${requestId} was granted by the "${access.provider ?? 'unknown'}" access provider: there is no AWS role to assume (local mode grants nothing in AWS)`,
    );
  }

  const remaining = Math.floor((expiresMs - Date.now()) / 1000);
  // STS takes 900 s at least; the role's own deny after the window still ends a longer session.
  const durationSeconds = Math.max(900, Math.min(remaining, access.maxSessionSeconds ?? 3600));
  const { STSClient, AssumeRoleCommand } = require('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts'); // lazy
  const sts = new STSClient({ region: api.settings.region ?? 'us-east-1', credentials: await api.awsCredentials(), maxAttempts: 3 });
  let assumed;
  try {
    assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: access.roleArn,
        RoleSessionName: access.roleSessionName,
        ExternalId: access.externalId,
        SourceIdentity: access.sourceIdentity,
        DurationSeconds: durationSeconds,
      }),
    );
  } catch (error) {
    const name = (error as Error).name;
    const code = /Expired|InvalidClientTokenId|SignatureDoesNotMatch/.test(name)
      ? EXIT.credentials
      : /AccessDenied/.test(name)
        ? EXIT.refused
        : EXIT.unavailable;
    throw new CliError(code, `STS AssumeRole of ${access.roleArn} failed: ${name}: ${(error as Error).message}`, error);
  } finally {
    sts.destroy();
  }
  const credentials = assumed.Credentials;
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
    throw new CliError(EXIT.unavailable, 'STS AssumeRole answered without credentials');
  }
  const expiration = new Date(Math.min(credentials.Expiration?.getTime() ?? expiresMs, expiresMs)).toISOString();

  if (context.flags.credentialProcess) {
    process.stdout.write(
      `${JSON.stringify({ Version: 1, AccessKeyId: credentials.AccessKeyId, SecretAccessKey: credentials.SecretAccessKey, SessionToken: credentials.SessionToken, Expiration: expiration })}\n`,
    );
    return;
  }
  const value = {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
    expiration,
    roleArn: access.roleArn,
    requestId,
  };
  context.out.result(value, () =>
    [
      `export AWS_ACCESS_KEY_ID=${credentials.AccessKeyId}`,
      `export AWS_SECRET_ACCESS_KEY=${credentials.SecretAccessKey}`,
      `export AWS_SESSION_TOKEN=${credentials.SessionToken}`,
      `# ${access.roleArn} for ${requestId}, valid until ${expiration} (${relative(expiration)})`,
    ].join('\n'),
  );
}
