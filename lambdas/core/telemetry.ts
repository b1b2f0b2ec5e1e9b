/**
 * Names that cross layers for logs, metrics and traces: the functions' environment (lib/), the
 * alarms (lib/), local mode and the handlers use these, so they cannot drift apart. No imports:
 * CDK code reads them without loading Powertools.
 */
export const SERVICE_NAME = 'lockbox';
export const METRICS_NAMESPACE = 'Lockbox';

/** Every metric Lockbox emits (namespace `Lockbox`, dimension `service`, plus the ones listed). */
export const METRIC = {
  /** A manager or customer decision was committed (dimensions `stage`, `decision`). */
  decisions: 'Decisions',
  /** Access was granted for an approved request. */
  grants: 'Grants',
  /** Access was revoked (dimension `reason`: `window-ended`, `early`). */
  revokes: 'Revokes',
  /** What the reconciler repaired in one sweep (ended windows, left-over access, re-deliveries, failures); alarmed above 0. */
  reconcilerRepairs: 'ReconcilerRepairs',
  /** Sealing or verifying an audit digest failed; alarmed above 0. */
  digestFailures: 'DigestFailures',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The functions' Powertools settings, as CDK sets them and local mode copies them. */
export const POWERTOOLS_ENV = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
} as const;
