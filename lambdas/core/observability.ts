import { Logger as Powertools } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from './telemetry';
import type { Logger } from './usecases/deps';

/**
 * Logs, metrics and traces: Powertools for AWS Lambda, one instance of each per function.
 * - `logger`: JSON lines with the Lambda request id (`function_request_id`), the caller's kind and
 *   the Lockbox `requestId` as keys (`logKeys`). Never log a token, a link or a secret: the e2e
 *   log test greps every line for task tokens and link tokens.
 * - `countMetric`: the one way to emit a metric (names in telemetry.ts), flushed by `observed`.
 * - `tracer`: X-Ray; every SDK client is built through `traced` (lambdas/core/wiring/).
 * Local mode sets `POWERTOOLS_DEV=true` and prints the same lines compactly (local/log-format.ts).
 */
const logger = new Powertools({ serviceName: SERVICE_NAME });
const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
  // Its own warnings go to the log, except the one of every invocation that counted nothing.
  logger: {
    debug: (...args: unknown[]) => logger.debug(String(args[0])),
    info: (...args: unknown[]) => logger.info(String(args[0])),
    warn: (...args: unknown[]) => {
      if (!String(args[0]).startsWith('No application metrics to publish')) logger.warn(String(args[0]));
    },
    error: (...args: unknown[]) => logger.error(String(args[0])),
  },
});
const tracer = new Tracer({ serviceName: SERVICE_NAME });

/** The use cases' `Logger` port over Powertools. */
export const log: Logger = {
  info: (message, data) => logger.info(message, { ...data }),
  warn: (message, data) => logger.warn(message, { ...data }),
  error: (message, data) => logger.error(message, { ...data }),
};

/** Who is calling, as the logs name them: an IAM-signed API call, a link, a console sign-in, the workflow, the schedule. */
export type CallerKind = 'api' | 'link' | 'console' | 'workflow' | 'schedule';

/** Keys on every later line of this invocation (cleared at the next one). Ids only, never tokens. */
export const logKeys = (keys: { callerKind?: CallerKind; principal?: string; requestId?: string; tenantId?: string }) =>
  logger.appendKeys(keys);

/**
 * Counts one event (`value` times). With `dimensions` it is emitted at once as its own metric
 * (Powertools' `singleMetric`), so the dimensions apply to it alone; otherwise it is flushed with
 * the invocation's other metrics: call it inside an `observed()` handler, which flushes them.
 */
export function countMetric(name: MetricName, dimensions?: Record<string, string>, value = 1): void {
  if (!dimensions) {
    metrics.addMetric(name, MetricUnit.Count, value);
    return;
  }
  const single = metrics.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, MetricUnit.Count, value);
}

/** Adds an SDK client to the function's X-Ray trace (a no-op where tracing is off: tests, local mode). */
export const traced = <T>(client: T): T => tracer.captureAWSv3Client(client);

/**
 * A middy handler with the Powertools middlewares every handler runs with: a trace segment, the
 * Lambda context and a clean set of keys on the logger, and the metrics flushed at the end. They
 * come first, so the handler's own `after`/`onError` run inside them and still log with its keys.
 */
export function observed<E, R>(): MiddyfiedHandler<E, R> {
  return middy<E, R>()
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
