import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { DEFINITION_SUBSTITUTIONS, STATE_MACHINE_FILE } from '../../../lambdas/core/workflow-definition';

/** Lint of the real ASL file: the rules of docs/design.md §2 and docs/security-checklist.md R-3.x, checked as data. */
interface State {
  Type: string;
  Resource?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  TimestampPath?: string;
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
}
const text = readFileSync(join(__dirname, '../../..', STATE_MACHINE_FILE), 'utf8');
const definition = JSON.parse(text) as { StartAt: string; TimeoutSeconds?: number; States: Record<string, State> };
const states = Object.entries(definition.States);
const tasks = states.filter(([, state]) => state.Type === 'Task');
const callbacks = tasks.filter(([, state]) => state.Resource?.endsWith('.waitForTaskToken'));
/** The approval stages (the other callback holds while access is granted). */
const stages = callbacks.filter(([, state]) => state.Parameters?.Payload?.stage !== 'access');
const [holdName, hold] = callbacks.find(([, state]) => state.Parameters?.Payload?.stage === 'access')!;
const LAMBDA_TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

const successors = (state: State): string[] => [
  ...(state.Next ? [state.Next] : []),
  ...(state.Default ? [state.Default] : []),
  ...(state.Choices ?? []).map((choice) => choice.Next),
  ...(state.Catch ?? []).map((handler) => handler.Next),
];

function reachable(from: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...from];
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    queue.push(...successors(definition.States[name]));
  }
  return seen;
}

describe(`the state machine (${STATE_MACHINE_FILE})`, () => {
  it('passes asl-validator', () => {
    // asl-validator mutates its input: validate a copy.
    const result = aslValidator(structuredClone(definition));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('uses exactly the placeholders the deployment substitutes', () => {
    const placeholders = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));
    expect([...placeholders].sort()).toEqual([...DEFINITION_SUBSTITUTIONS].sort());
  });

  it('is JSONPath only (no JSONata, no Assign variables)', () => {
    expect(text).not.toMatch(/"QueryLanguage"|"Assign"|\{%/);
  });

  it('has a timeout for the whole execution and on every task', () => {
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    for (const [name, state] of tasks) {
      expect({ name, timeout: state.TimeoutSeconds ?? state.TimeoutSecondsPath }).toEqual({ name, timeout: expect.anything() });
    }
  });

  it('retries transient Lambda errors on every Lambda task', () => {
    for (const [name, state] of tasks) {
      const retried = new Set((state.Retry ?? []).flatMap((retry) => retry.ErrorEquals));
      expect({ name, missing: LAMBDA_TRANSIENT.filter((error) => !retried.has(error)) }).toEqual({ name, missing: [] });
    }
  });

  it("takes the approval stages' timeouts from the execution input, the hold's from the grant", () => {
    expect(stages.map(([, state]) => state.TimeoutSecondsPath).sort()).toEqual(['$.timeouts.customerSeconds', '$.timeouts.managerSeconds']);
    expect(hold.TimeoutSecondsPath).toBe('$.outcome.holdSeconds');
  });

  it('catches States.Timeout explicitly on every approval stage and sends it to an expiry step', () => {
    expect(stages).toHaveLength(2);
    for (const [, state] of stages) {
      const onTimeout = state.Catch?.find((handler) => handler.ErrorEquals.includes('States.Timeout'));
      expect(onTimeout).toBeDefined();
      const target = definition.States[onTimeout!.Next];
      expect(target.Parameters?.FunctionName).toBe('${ExpireFunctionArn}');
    }
  });

  it('catches a cancel (RequestCancelled) by name on every approval stage', () => {
    for (const [, state] of stages) {
      expect(state.Catch?.some((handler) => handler.ErrorEquals.includes('RequestCancelled'))).toBe(true);
    }
  });

  it('never passes the task token anywhere but to the notify function', () => {
    for (const [, state] of states) {
      if (JSON.stringify(state).includes('$$.Task.Token')) expect(state.Parameters?.FunctionName).toBe('${NotifyFunctionArn}');
    }
  });

  it('holds access on a callback (an early revoke ends it), then waits to accessExpiresAt and revokes', () => {
    const waits = states.filter(([, state]) => state.Type === 'Wait');
    expect(waits).toHaveLength(1);
    const [waitName, wait] = waits[0];
    expect(wait.TimestampPath).toMatch(/\.accessExpiresAt$/);
    expect(definition.States[wait.Next!].Parameters?.FunctionName).toBe('${RevokeFunctionArn}');
    // The hold's timer and any failure of the hold still lead to the revoke at the window's end.
    expect(hold.Catch?.find((handler) => handler.ErrorEquals.includes('States.Timeout'))?.Next).toBe(waitName);
    expect(hold.Catch?.find((handler) => handler.ErrorEquals.includes('States.ALL'))?.Next).toBe(waitName);
    expect(definition.States[definition.States['Grant access'].Next!]).toBe(hold);
    expect(holdName).toMatch(/Hold access/);
  });

  it('ends the execution with the revoke step itself, and an approved lifecycle enters at most 8 states', () => {
    const [, revoke] = tasks.find(([, state]) => state.Parameters?.FunctionName === '${RevokeFunctionArn}')!;
    expect(revoke.End).toBe(true);
    // The approved path: both stages and their choices, grant, hold, the rest of the window, revoke.
    const path = [
      'Ask the support managers',
      'Did the managers approve?',
      "Ask the customer's approvers",
      'Did the customer approve?',
      'Grant access',
      holdName,
      'Wait for the access window to end',
      'Revoke access',
    ];
    for (let i = 0; i + 1 < path.length; i++) expect(successors(definition.States[path[i]])).toContain(path[i + 1]);
    expect(path.length).toBeLessThanOrEqual(8);
  });

  it('retries the revoke with backoff, and no path from a failed revoke reaches Succeed', () => {
    const [name, revoke] = tasks.find(([, state]) => state.Parameters?.FunctionName === '${RevokeFunctionArn}')!;
    const retryAll = revoke.Retry?.find((retry) => retry.ErrorEquals.includes('States.ALL'));
    expect(retryAll?.MaxAttempts).toBeGreaterThanOrEqual(3);
    const onFailure = (revoke.Catch ?? []).map((handler) => handler.Next);
    expect(onFailure.length).toBeGreaterThan(0);
    const afterFailure = reachable(onFailure);
    expect([...afterFailure].filter((state) => definition.States[state].Type === 'Succeed')).toEqual([]);
    expect([...afterFailure].some((state) => definition.States[state].Type === 'Fail')).toBe(true);
    expect(afterFailure.has(name)).toBe(false);
  });

  it('reaches every state from the start', () => {
    expect([...reachable([definition.StartAt])].sort()).toEqual(Object.keys(definition.States).sort());
  });

  it('cannot reach the grant without passing the customer approval', () => {
    const [customerStage] = callbacks.find(([, state]) => state.Parameters?.Payload?.stage === 'customer')!;
    const [grant] = tasks.find(([, state]) => state.Parameters?.FunctionName === '${GrantFunctionArn}')!;
    // Remove the customer stage and its expiry (which may resume a committed approval): grant becomes unreachable.
    const guarded = new Set([
      customerStage,
      ...callbacks.flatMap(([, s]) => (s.Catch ?? []).filter((c) => c.ErrorEquals.includes('States.Timeout')).map((c) => c.Next)),
    ]);
    const seen = new Set<string>();
    const queue = [definition.StartAt];
    while (queue.length) {
      const current = queue.shift()!;
      if (seen.has(current) || guarded.has(current)) continue;
      seen.add(current);
      queue.push(...successors(definition.States[current]));
    }
    expect(seen.has(grant)).toBe(false);
  });
});
