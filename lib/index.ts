/**
 * The package's entry (`import { Lockbox } from 'lockbox'`): the `Lockbox` construct, the
 * constructs it is composed of, and their props.
 */
export { AccessBoundary, type AccessBoundaryProps, type LockboxResources } from './access-boundary';
export { LockboxAlarms, type LockboxAlarmsProps } from './alarms';
export { API_STAGE, APPROVAL_THROTTLE, LockboxApi, type LockboxApiProps } from './api';
export { AuditBus } from './audit-bus';
export { AuditStream, type AuditStreamProps, EXPORT_RETRY_ATTEMPTS } from './audit-stream';
export { ConfigError, loadConfig, parseConfig } from './config';
export { LockboxData, type LockboxDataProps } from './data';
export { FUNCTIONS, type LockboxFunctionName, LockboxFunctions, type LockboxFunctionsProps } from './functions';
export { LinkKeys, type LinkKeysProps } from './link-keys';
export { Lockbox } from './lockbox';
export { LockboxFunction, type LockboxFunctionProps } from './lockbox-function';
export type { EmailProps, LockboxConfig, LockboxProps, ManagerProps, PersonProps, TenantSeedProps } from './lockbox-props';
export { LockboxStack, type LockboxStackProps } from './lockbox-stack';
export { RECONCILE_EVERY, Reconciler, type ReconcilerProps } from './reconciler';
export { SenderIdentity } from './sender';
export { LockboxTarget, type LockboxTargetProps, targetRoleArn } from './target';
export { TenantSeed, type TenantSeedConstructProps } from './tenant-seed';
export { Workflow, type WorkflowProps } from './workflow';
