/**
 * The contract between the state machine file and whoever deploys or runs it (CDK, local mode):
 * where the file is, and the `${...}` placeholders it uses, one per workflow Lambda.
 */
export const STATE_MACHINE_FILE = 'statemachines/access-request.asl.json';

export const WORKFLOW_FUNCTIONS = {
  notify: 'NotifyFunctionArn',
  expire: 'ExpireFunctionArn',
  grant: 'GrantFunctionArn',
  revoke: 'RevokeFunctionArn',
  close: 'CloseFunctionArn',
} as const;

export type WorkflowFunction = keyof typeof WORKFLOW_FUNCTIONS;

/** Every placeholder of the ASL file; CDK must substitute exactly these. */
export const DEFINITION_SUBSTITUTIONS: readonly string[] = Object.values(WORKFLOW_FUNCTIONS);
