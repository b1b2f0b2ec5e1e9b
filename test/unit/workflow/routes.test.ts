import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { executionInput } from '../../../lambdas/core/adapters/sfn-workflow';
import { isTerminal, type Status } from '../../../lambdas/core/domain/status';
import { STATE_MACHINE_FILE, WORKFLOW_FUNCTIONS, type WorkflowFunction } from '../../../lambdas/core/workflow-definition';
import { LocalStepFunctions } from '../../../local/stepfunctions';
import { waitFor } from '../../e2e/support/harness';

/**
 * The real ASL file's routing, run by local mode's Step Functions with scripted steps: whatever
 * status a step finds in the database when it runs (a decision, cancel or revoke may have
 * committed before it), the execution reaches the step that status needs and ends SUCCEEDED.
 * A step that finds the request already past its stage completes its own task with that status,
 * as `openStage` and `holdAccess` do.
 */
const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:Routes';
const arn = (handler: string) => `arn:aws:lambda:us-east-1:000000000000:function:${handler}`;

/** What the database says when each callback step runs; the other steps act on it. */
interface Script {
  manager: Status;
  customer?: Status;
  /** ACTIVE: the hold waits for its timer. */
  access?: Status;
}

let script: Script;
let status: Status;
let local: LocalStepFunctions;

const steps: Record<WorkflowFunction, (event: any) => Promise<unknown>> = {
  notify: async ({ stage, taskToken }: { stage: keyof Script; taskToken: string }) => {
    status = script[stage] ?? status;
    // Still ACTIVE: the hold's token is attached and its timer runs out (then the Wait, the revoke).
    if (!(stage === 'access' && status === 'ACTIVE')) local.sendTaskSuccess({ taskToken, output: JSON.stringify({ status }) });
    return null;
  },
  expire: async () => ({ status }),
  grant: async () => {
    if (status === 'APPROVED') status = 'ACTIVE';
    return { status, accessExpiresAt: new Date(Date.now() + 1000).toISOString(), holdSeconds: 1 };
  },
  revoke: async () => {
    if (status === 'ACTIVE') status = 'COMPLETED';
    return { status };
  },
  // As `closeRequest`: only what has ended is closed.
  close: async () => {
    if (!isTerminal(status)) throw new Error(`closed while ${status}`);
    return { status };
  },
};

beforeAll(() => {
  local = new LocalStepFunctions({
    definitionText: readFileSync(join(__dirname, '../../..', STATE_MACHINE_FILE), 'utf8'),
    substitutions: Object.fromEntries(Object.entries(WORKFLOW_FUNCTIONS).map(([handler, name]) => [name, arn(handler)])),
    functions: Object.fromEntries(Object.entries(steps).map(([handler, step]) => [arn(handler), step])),
    stateMachineArn: MACHINE,
  });
});
afterAll(async () => local.stop());

let run = 0;
async function runWith(given: Script) {
  script = given;
  status = 'PENDING_MANAGER_APPROVAL';
  const name = `routes-${++run}`;
  const { executionArn } = local.startExecution({
    stateMachineArn: MACHINE,
    name,
    input: JSON.stringify(executionInput(name, { managerSeconds: 60, customerSeconds: 60 })),
  });
  const execution = await waitFor(
    `${name} ended`,
    async () => local.describeExecution({ executionArn }),
    (described) => described.status !== 'RUNNING',
    10_000,
    20,
  );
  const entered = local
    .getExecutionHistory({ executionArn })
    .events.filter((event) => event.type.endsWith('StateEntered'))
    .map((event) => (event.stateEnteredEventDetails as { name: string }).name);
  return { execution, entered, status };
}

describe('the state machine routes on the status the database holds', () => {
  it.each<{ name: string; given: Script; final: Status; through: string[] }>([
    {
      name: 'nothing decided early',
      given: { manager: 'PENDING_CUSTOMER_APPROVAL', customer: 'APPROVED', access: 'ACTIVE' },
      final: 'COMPLETED',
      through: ['Grant access', 'Revoke access'],
    },
    // Both decisions committed before the manager stage's step ran: the customer stage's step finds APPROVED.
    {
      name: 'both stages decided before the first step',
      given: { manager: 'APPROVED', access: 'ACTIVE' },
      final: 'COMPLETED',
      through: ["Ask the customer's approvers", 'Grant access'],
    },
    {
      name: 'revoked before the hold step',
      given: { manager: 'APPROVED', access: 'REVOKED' },
      final: 'REVOKED',
      through: ['Grant access', 'Tell the engineer the outcome'],
    },
    { name: 'rejected', given: { manager: 'REJECTED' }, final: 'REJECTED', through: ['Tell the engineer the outcome'] },
    {
      name: 'cancelled at the manager stage',
      given: { manager: 'CANCELLED' },
      final: 'CANCELLED',
      through: ['Tell the engineer the outcome'],
    },
    {
      name: 'denied before the customer stage step',
      given: { manager: 'DENIED' },
      final: 'DENIED',
      through: ['Tell the engineer the outcome'],
    },
    {
      name: 'denied',
      given: { manager: 'PENDING_CUSTOMER_APPROVAL', customer: 'DENIED' },
      final: 'DENIED',
      through: ['Tell the engineer the outcome'],
    },
    {
      name: 'cancelled at the customer stage',
      given: { manager: 'PENDING_CUSTOMER_APPROVAL', customer: 'CANCELLED' },
      final: 'CANCELLED',
      through: ['Tell the engineer the outcome'],
    },
  ])('$name: ends SUCCEEDED, the request $final', async ({ given, final, through }) => {
    const { execution, entered, status: after } = await runWith(given);
    expect({ status: execution.status, error: execution.error, cause: execution.cause }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
      cause: undefined,
    });
    expect(after).toBe(final);
    expect(entered).toEqual(expect.arrayContaining(through));
    if (!['ACTIVE', 'COMPLETED', 'REVOKED'].includes(final)) expect(entered).not.toContain('Grant access');
  });
});
