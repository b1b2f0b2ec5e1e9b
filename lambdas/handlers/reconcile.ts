import middy from '@middy/core';
import { deps, log } from '../core/container';
import { reconcile } from '../core/usecases/reconcile';

/**
 * Scheduled sweep (EventBridge Scheduler). Prints its report and, as a CloudWatch embedded
 * metric, how many repairs it made: the alarm on `LockboxReconcilerActions > 0` tells an operator
 * the workflow missed something.
 */
export const handler = middy().handler(async () => {
  const report = await reconcile(deps);
  const actions = report.windowsEnded.length + report.leftoversRevoked.length + report.finished.length + report.redelivered.length + report.failed.length;
  log.info('reconciled', { ...report });
  console.log(
    JSON.stringify({
      _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'Lockbox', Dimensions: [[]], Metrics: [{ Name: 'LockboxReconcilerActions', Unit: 'Count' }] }] },
      LockboxReconcilerActions: actions,
    }),
  );
  return report;
});
