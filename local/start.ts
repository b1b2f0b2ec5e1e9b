import { parseArgs } from 'node:util';
import { PRINCIPAL_HEADER } from './gateway';
import { parseFaults, startLocal } from './local-mode';
import { CONSOLE_PERSONAS, PERSONAS } from './seed';

/**
 * `npm start` — Lockbox local mode.
 *
 *   npm start [-- --port 3000] [--data DIR] [--quiet]
 *
 * Environment: PORT (default 3000), MANAGER_APPROVAL_TIMEOUT (default PT10M), DURATION_CAP;
 * LOCKBOX_LOCAL_PARENT_PID (for test harnesses: stop when that process is gone);
 * LOCKBOX_LOCAL_RECONCILE_SECONDS (default 60) and LOCKBOX_LOCAL_FAULTS (JSON, see `LocalFaults`):
 * for the fault tests only; LOCKBOX_LOCAL_DIGEST_SECONDS (default 5): how often digests are sealed;
 * AUDIT_SETTLE_SECONDS (default 4): how old an audit event is before the listing shows it.
 * Ctrl-C stops everything, DynamoDB Local's java process included.
 */
const USAGE = `Usage: npm start -- [--port N] [--data DIR] [--quiet]
  --port N     port of the local API on localhost (default: $PORT or 3000; 0 = any free port)
  --data DIR   keep data in DIR between runs (default: in memory, gone when stopped)
  --quiet      do not log each API call`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      data: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Not a port: ${values.port ?? process.env.PORT}\n${USAGE}`);

  const reconcileEverySeconds = process.env.LOCKBOX_LOCAL_RECONCILE_SECONDS
    ? Number(process.env.LOCKBOX_LOCAL_RECONCILE_SECONDS)
    : undefined;
  if (reconcileEverySeconds !== undefined && !(reconcileEverySeconds > 0))
    throw new Error(`Not a number of seconds: LOCKBOX_LOCAL_RECONCILE_SECONDS=${process.env.LOCKBOX_LOCAL_RECONCILE_SECONDS}`);

  const digestEverySeconds = process.env.LOCKBOX_LOCAL_DIGEST_SECONDS ? Number(process.env.LOCKBOX_LOCAL_DIGEST_SECONDS) : undefined;
  if (digestEverySeconds !== undefined && !(digestEverySeconds > 0))
    throw new Error(`Not a number of seconds: LOCKBOX_LOCAL_DIGEST_SECONDS=${process.env.LOCKBOX_LOCAL_DIGEST_SECONDS}`);

  const local = await startLocal({
    port,
    data: values.data,
    reconcileEverySeconds,
    digestEverySeconds,
    faults: parseFaults(process.env.LOCKBOX_LOCAL_FAULTS),
    log: values.quiet ? undefined : (line) => console.log(`  ${new Date().toISOString().slice(11, 23)} ${line}`),
  });

  // tsx relays the terminal's Ctrl-C to this process, which also gets it from the terminal: a
  // repeat within a second is the same Ctrl-C. A later one stops at once (DynamoDB Local is still
  // killed by the exit hook), and so does a stop that hangs.
  let stoppingSince: number | undefined;
  const stop = (signal: string) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < 1000) return;
      console.log('Stopping now.');
      process.exit(1);
    }
    stoppingSince = Date.now();
    setTimeout(() => {
      console.error('Stopping took too long; exiting.');
      process.exit(1);
    }, 15_000).unref();
    console.log(`\n${signal}: stopping Lockbox local mode...`);
    local.stop().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Started by a test harness: stop when it is gone, so nothing outlives a crashed test run.
  const parent = Number(process.env.LOCKBOX_LOCAL_PARENT_PID);
  if (parent > 0) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        stop('parent process gone');
      }
    }, 2000).unref();
  }

  console.log(`Lockbox local mode ready on ${local.url}`);
  console.log(
    [
      `  started in ${(local.timings.total / 1000).toFixed(1)} s (${Object.entries(local.timings)
        .filter(([name]) => name !== 'total')
        .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)}`)
        .join(
          ', ',
        )}); data ${local.dataDir ? `in ${local.dataDir}` : 'in memory (gone when stopped)'}${local.resumed.length ? `; ${local.resumed.length} request(s) in flight picked up again` : ''}`,
      ...local.warnings.map((warning) => `  WARNING: ${warning}`),
      '',
      `  LOCAL MODE IS NOT FOR PRODUCTION. The ${PRINCIPAL_HEADER} header names the caller and is believed:`,
      '  it is a local-mode convenience standing in for the AWS_IAM signature API Gateway checks on AWS.',
      '',
      `Personas (lockbox --local-as <name>, or send the ARN as ${PRINCIPAL_HEADER}):`,
      ...Object.entries(PERSONAS).map(
        ([name, persona]) => `  ${name.padEnd(6)} ${persona.principal.padEnd(62)} ${persona.email.padEnd(24)} ${persona.role}`,
      ),
      '',
      `Console (${local.url}/console): sign in at the local OpenID Provider (${local.issuer}) with the login below and any password:`,
      ...Object.entries(CONSOLE_PERSONAS).map(([name, persona]) => `  ${name.padEnd(8)} ${persona.email.padEnd(24)} ${persona.role}`),
      '',
      'URLs:',
      `  API          ${local.url}/requests, ${local.url}/tenants/demo, ${local.url}/approvals/{token}`,
      `  console      ${local.url}/console           (approvers, admins, auditors sign in)`,
      `  overview     ${local.url}/_local`,
      `  outbox       ${local.url}/_local/outbox       (every email; open an approval link from here)`,
      `  grants       ${local.url}/_local/grants`,
      `  audit events ${local.url}/_local/events`,
      `  executions   ${local.url}/_local/executions   (and /_local/executions/<request id>)`,
      `  DynamoDB     ${local.dynamoEndpoint}   (DynamoDB Local: aws dynamodb list-tables --endpoint-url ${local.dynamoEndpoint})`,
      '',
      'The command line, as each persona (docs/cli.md; `lockbox` once the package is installed):',
      `  export LOCKBOX_ENDPOINT=${local.url}`,
      '  npm run lockbox -- --local-as alice request create -t demo --ticket SUP-1 -l ReadOnly -d PT15M -j "Read the backup logs"',
      '  npm run lockbox -- --local-as bob pending                    # then: approve <request id>',
      '  npm run lockbox -- --local-as carol pending -t demo          # then: approve <id>, or deny <id> -r "why"',
      '  npm run lockbox -- --local-as alice request wait <id>        # until access is granted',
      '  npm run lockbox -- --local-as carol revoke <id>              # end it early',
      '  npm run lockbox -- --local-as carol audit verify -t demo     # recompute the audit log here',
      '',
      'Walk through one request: npm run demo      Stop: Ctrl-C',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  console.error(`Lockbox local mode could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
