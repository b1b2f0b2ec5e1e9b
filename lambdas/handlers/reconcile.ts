import { log, wire } from '../core/container';
import { countMetric, logKeys, observed } from '../core/observability';
import { METRIC } from '../core/telemetry';
import { reconcile } from '../core/usecases/reconcile';
import { access } from '../core/wiring/access';
import { mailer } from '../core/wiring/mailer';
import { stores } from '../core/wiring/stores';
import { workflow } from '../core/wiring/workflow';

const deps = wire({ ...stores, access, mailer, workflow });

/**
 * Scheduled sweep (EventBridge Scheduler). Logs its report and counts its repairs
 * (`ReconcilerRepairs`, 0 when there was nothing to do): the alarm on it above 0 tells an operator
 * the workflow missed something.
 */
export const handler = observed().handler(async () => {
  logKeys({ callerKind: 'schedule' });
  const report = await reconcile(deps);
  const repairs =
    report.windowsEnded.length +
    report.leftoversRevoked.length +
    report.finished.length +
    report.redelivered.length +
    report.told.length +
    report.failed.length;
  log.info('reconciled', { ...report });
  countMetric(METRIC.reconcilerRepairs, undefined, repairs);
  return report;
});
