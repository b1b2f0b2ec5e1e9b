import middy from '@middy/core';
import { log } from '../core/container';
import { sealAll, verifyAll } from '../core/usecases/ledger';
import { ledgerDeps } from '../core/wiring/ledger';

/**
 * Scheduled (EventBridge Scheduler): `{}` seals one signed digest per tenant (every few
 * minutes); `{"verify": true}` verifies every tenant's ledger (its own, slower schedule). Both
 * print a CloudWatch embedded metric: the alarm on `LockboxLedgerVerificationFailures > 0` (or
 * `LockboxDigestSealFailures > 0`) tells an operator the ledger needs looking at.
 */
export const handler = middy().handler(async (event: unknown) => {
  if ((event as { verify?: unknown } | undefined)?.verify === true) {
    const report = await verifyAll(ledgerDeps);
    log[report.failed.length ? 'error' : 'info']('ledger verified', { ...report });
    metric('LockboxLedgerVerificationFailures', report.failed.length);
    return report;
  }
  const report = await sealAll(ledgerDeps);
  log[report.failed.length ? 'error' : 'info']('digests sealed', { ...report });
  metric('LockboxDigestSealFailures', report.failed.length);
  return report;
});

const metric = (name: string, value: number) =>
  console.log(
    JSON.stringify({
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [{ Namespace: 'Lockbox', Dimensions: [[]], Metrics: [{ Name: name, Unit: 'Count' }] }],
      },
      [name]: value,
    }),
  );
