import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  InvalidToken,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { LocalStepFunctions } from '../../local/stepfunctions';
import { waitFor } from './support/harness';

/**
 * Local mode's Step Functions endpoint through the real `@aws-sdk/client-sfn`: task tokens,
 * callback timeouts, execution names, errors the SDK maps to its own classes, and a definition
 * written for AWS (TimeoutSecondsPath after Parameters) running unchanged.
 */
const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:Test';
const FN = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

const definition = JSON.stringify({
  StartAt: 'Wait for a human',
  States: {
    'Wait for a human': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: '${AskFunctionArn}', Payload: { 'who.$': '$.who', 'taskToken.$': '$$.Task.Token' } },
      TimeoutSecondsPath: '$.timeouts.ask',
      ResultPath: '$.answer',
      Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 0, MaxAttempts: 1 }],
      Catch: [
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Timed out' },
        { ErrorEquals: ['Refused'], ResultPath: '$.error', Next: 'Refused' },
      ],
      Next: 'Do it',
    },
    'Do it': {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: '${DoFunctionArn}', 'Payload.$': '$' },
      ResultSelector: { 'done.$': '$.Payload.done' },
      ResultPath: '$.result',
      End: true,
    },
    'Timed out': { Type: 'Succeed' },
    Refused: { Type: 'Fail', Error: 'Refused', Cause: 'A human said no' },
  },
});

const asked: { who: string; taskToken: string }[] = [];
let failNextAsk: string | undefined;
const functions = {
  [FN('ask')]: async (event: unknown) => {
    const payload = event as { who: string; taskToken: string };
    if (failNextAsk) {
      const error = new Error(`cannot ask ${payload.who}`);
      error.name = failNextAsk;
      failNextAsk = undefined;
      throw error;
    }
    asked.push(payload);
    return { asked: payload.who };
  },
  [FN('do')]: async () => ({ done: true }),
};

let local: LocalStepFunctions;
let sfn: SFNClient;

beforeAll(async () => {
  local = new LocalStepFunctions({
    definitionText: definition,
    substitutions: { AskFunctionArn: FN('ask'), DoFunctionArn: FN('do') },
    functions,
    stateMachineArn: MACHINE,
  });
  const endpoint = await local.listen();
  sfn = new SFNClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});

afterAll(async () => {
  sfn.destroy();
  await local.stop();
});

const start = (name: string, input: object) =>
  sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, name, input: JSON.stringify(input) }));
const describeExecution = (name: string) =>
  sfn.send(new DescribeExecutionCommand({ executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}` }));
const ended = (name: string) =>
  waitFor(
    `${name} ended`,
    () => describeExecution(name),
    (execution) => execution.status !== 'RUNNING',
    10_000,
    50,
  );
const tokenFor = async (who: string) =>
  (await waitFor(`asked ${who}`, async () => asked.find((ask) => ask.who === who), Boolean, 5000, 20))!.taskToken;

describe('the local Step Functions endpoint', () => {
  it('completes a callback task with SendTaskSuccess, once', async () => {
    const started = await start('ok-1', { who: 'ann', timeouts: { ask: 30 } });
    expect(started.executionArn).toBe(`${MACHINE.replace(':stateMachine:', ':execution:')}:ok-1`);
    const token = await tokenFor('ann');
    expect(asked.find((ask) => ask.who === 'ann')).toEqual({ who: 'ann', taskToken: token }); // no local-only parameter reaches the function

    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ ok: true }) }));
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toBeInstanceOf(TaskTimedOut);
    const execution = await ended('ok-1');
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toMatchObject({ answer: { ok: true }, result: { done: true } });

    const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: execution.executionArn }));
    const types = events!.map((event) => event.type);
    expect(types.slice(0, 7)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('refuses tokens it never issued, as InvalidToken', async () => {
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'AQBforged', output: '{}' }))).rejects.toBeInstanceOf(InvalidToken);
  });

  it('times a callback out with States.Timeout, after which the token is TaskTimedOut', async () => {
    await start('slow-1', { who: 'bea', timeouts: { ask: 1 } });
    const token = await tokenFor('bea');
    const execution = await ended('slow-1');
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!).error.Error).toBe('States.Timeout');
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }))).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it('fails a callback task with SendTaskFailure, caught by its error name', async () => {
    await start('no-1', { who: 'cid', timeouts: { ask: 30 } });
    await sfn.send(new SendTaskFailureCommand({ taskToken: await tokenFor('cid'), error: 'Refused', cause: 'no' }));
    const execution = await ended('no-1');
    expect(execution).toMatchObject({ status: 'FAILED', error: 'Refused', cause: 'A human said no' });
  });

  it("surfaces a function's thrown error by its name, so Retry and Catch match it", async () => {
    failNextAsk = 'Flaky'; // retried once, then asked
    await start('retry-1', { who: 'dee', timeouts: { ask: 30 } });
    await sfn.send(new SendTaskFailureCommand({ taskToken: await tokenFor('dee'), error: 'Refused', cause: 'no' }));
    expect((await ended('retry-1')).status).toBe('FAILED');

    failNextAsk = 'Refused'; // caught at once
    await start('throw-1', { who: 'eve', timeouts: { ask: 30 } });
    expect(await ended('throw-1')).toMatchObject({ status: 'FAILED', error: 'Refused' });
    expect(asked.some((ask) => ask.who === 'eve')).toBe(false);
  });

  it('treats the execution name as an idempotency key', async () => {
    const first = await start('same-1', { who: 'fay', timeouts: { ask: 30 } });
    const again = await start('same-1', { who: 'fay', timeouts: { ask: 30 } });
    expect(again.executionArn).toBe(first.executionArn);
    await expect(start('same-1', { who: 'other', timeouts: { ask: 30 } })).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await sfn.send(new SendTaskSuccessCommand({ taskToken: await tokenFor('fay'), output: '{}' }));
    await ended('same-1');
    await expect(start('same-1', { who: 'fay', timeouts: { ask: 30 } })).rejects.toBeInstanceOf(ExecutionAlreadyExists);

    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: MACHINE }));
    expect(executions!.filter((execution) => execution.name === 'same-1')).toHaveLength(1);
    expect(executions![0].startDate).toBeInstanceOf(Date);
  });
});
