/**
 * The deployment's rules when configuration says nothing, shared with the CDK construct (lib/)
 * so a deployed Lockbox and a Lambda reading its own fallbacks cannot disagree.
 */
export const POLICY_DEFAULTS = {
  durationFloor: 'PT15M',
  durationCap: 'PT4H',
  managerApprovalTimeout: 'PT12H',
  /** Longest approval timeout of a stage: both stages and the access window fit the state machine's 10-day timeout. */
  approvalTimeoutLimit: 'P3D',
} as const;
