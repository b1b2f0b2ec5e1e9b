import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { LISTEN_BACKLOG, LOCAL_SERVER } from './net';

/**
 * Step Functions on one machine: `aws-local-stepfunctions` runs the real ASL file, and this module
 * adds what it lacks and the handlers need, behind an endpoint that speaks the Step Functions JSON
 * protocol (`X-Amz-Target: AWSStepFunctions.<Action>`), so the handlers' own `@aws-sdk/client-sfn`
 * talks to it unchanged:
 * - task tokens (`$$.Task.Token`), SendTaskSuccess / SendTaskFailure, callback timeouts;
 * - execution names as idempotency keys, executions' status and history, StopExecution;
 * - `lambda:invoke` and `lambda:invoke.waitForTaskToken` pointed at in-process functions;
 * - errors in the service's shapes, so the SDK raises its own exception classes.
 *
 * The definition is adapted in memory only (see `prepareDefinition`); the file stays as deployed.
 */

/** An in-process Lambda function: takes the event, returns the result or throws. */
export type LocalFunction = (event: unknown) => Promise<unknown>;

export interface LocalStepFunctionsOptions {
  /** The ASL text exactly as deployed, `${Placeholder}`s included. */
  definitionText: string;
  /** Placeholder name → the function ARN it stands for. */
  substitutions: Record<string, string>;
  /** Function ARN → the function. */
  functions: Record<string, LocalFunction>;
  stateMachineArn: string;
  /** Role shown in the execution history (nothing assumes it). */
  roleArn?: string;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

interface Execution {
  name: string;
  executionArn: string;
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
  /** The state whose entry the history shows last and whose exit it does not show yet. */
  currentState?: string;
  /** Task events of a state the history has not shown entering yet (the runner reports asynchronously). */
  pendingTaskEvents: Map<string, HistoryEvent[]>;
  /** Tokens read from `$$.Task.Token` that no task has taken yet. */
  unboundTokens: Set<string>;
  aborted: boolean;
  abort: () => void;
  done: Promise<void>;
}

type TokenStatus = 'issued' | 'waiting' | 'succeeded' | 'failed' | 'timed-out' | 'closed';

interface TaskToken {
  token: string;
  execution: Execution;
  status: TokenStatus;
  stateName?: string;
  resource?: string;
  deadlineMs?: number;
  settle?: { resolve: (output: unknown) => void; reject: (error: Error) => void };
  timer?: NodeJS.Timeout;
}

/** An error as the service returns it: HTTP 400 with `__type`, so the SDK maps it to its class. */
export class SfnServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = code;
  }
}

/** A failed task as a Catch/Retry sees it: `name` is the error code. */
class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
/** Parameter carrying a callback's timeout in the local copy only (see prepareDefinition). */
export const LOCAL_TIMEOUT_PARAMETER = 'LockboxLocalTimeoutSeconds';
const TOKEN_REDACTED = '<task token>';

type JsonObject = Record<string, unknown>;
type TaskState = JsonObject & { Type: 'Task'; Resource: string; Parameters?: JsonObject; TimeoutSecondsPath?: string };

/**
 * The local copy of the definition:
 * 1. `${Placeholder}`s are replaced by the function ARNs (as CDK's DefinitionSubstitutions do);
 * 2. fidelity gap of the runner: it resolves `TimeoutSecondsPath` against the task's input AFTER
 *    `Parameters`, AWS against the state's input. A task with both gets one more parameter carrying
 *    the value, and its path points at it. The extra parameter is removed before the function is
 *    invoked, so the function sees exactly the payload it gets on AWS.
 * Only the two Lambda integrations are supported; anything else is refused at start-up.
 */
export function prepareDefinition(text: string, substitutions: Record<string, string>): StateMachineDefinition {
  const substituted = text.replace(/\$\{(\w+)\}/g, (_match, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`The state machine uses \${${name}}, which local mode does not substitute`);
    return JSON.stringify(value).slice(1, -1);
  });
  const definition = JSON.parse(substituted) as StateMachineDefinition;
  for (const [name, state] of Object.entries(definition.States as unknown as Record<string, JsonObject>)) {
    if (state.Type === 'Parallel' || state.Type === 'Map') {
      throw new Error(`State "${name}": ${String(state.Type)} states are not supported by local mode's task wiring`);
    }
    if (state.Type !== 'Task') continue;
    const task = state as TaskState;
    if (task.Resource !== LAMBDA_INVOKE && task.Resource !== LAMBDA_CALLBACK) {
      throw new Error(
        `State "${name}": resource ${task.Resource} is not supported in local mode (only lambda:invoke and lambda:invoke.waitForTaskToken)`,
      );
    }
    if (task.TimeoutSecondsPath && task.Parameters) {
      task.Parameters = { ...task.Parameters, [`${LOCAL_TIMEOUT_PARAMETER}.$`]: task.TimeoutSecondsPath };
      task.TimeoutSecondsPath = `$.${LOCAL_TIMEOUT_PARAMETER}`;
    }
  }
  return definition;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

export class LocalStepFunctions {
  private readonly machine: StateMachine;
  private readonly definition: StateMachineDefinition;
  private readonly executions = new Map<string, Execution>();
  private readonly tokens = new Map<string, TaskToken>();
  private server?: Server;
  private stopped = false;

  constructor(private readonly options: LocalStepFunctionsOptions) {
    this.definition = prepareDefinition(options.definitionText, options.substitutions);
    for (const [name, arn] of Object.entries(options.substitutions)) {
      if (!options.functions[arn]) throw new Error(`No local function for \${${name}} (${arn})`);
    }
    // Not validated again here (a second of start-up): the file is checked by asl-validator in
    // test/unit/workflow/state-machine.test.ts, and by Step Functions when it is deployed.
    this.machine = new StateMachine(this.definition, { validationOptions: { noValidate: true } });
  }

  get stateMachineArn(): string {
    return this.options.stateMachineArn;
  }

  /** Every task token issued so far (local-mode check that none leaves the server). */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  // ---- the API -------------------------------------------------------------------------------

  startExecution(request: { stateMachineArn?: string; name?: string; input?: string }): { executionArn: string; startDate: Date } {
    this.requireMachine(request.stateMachineArn);
    const name = request.name ?? randomBytes(16).toString('hex');
    if (!NAME_PATTERN.test(name)) throw new SfnServiceError('InvalidName', `Invalid Name: '${name}'`);
    const input = request.input ?? '{}';
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new SfnServiceError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not valid JSON');
    }
    const existing = this.executions.get(name);
    if (existing) {
      // As the service: same name and input while running → the same execution; otherwise refused.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn: existing.executionArn, startDate: existing.startDate };
      }
      throw new SfnServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${existing.executionArn}'`);
    }
    if (this.stopped) throw new SfnServiceError('ServiceUnavailable', 'Local Step Functions is stopping', 503);
    const execution = this.run(name, input, parsed);
    return { executionArn: execution.executionArn, startDate: execution.startDate };
  }

  sendTaskSuccess(request: { taskToken?: string; output?: string }): Record<string, never> {
    let output: unknown;
    try {
      output = JSON.parse(request.output ?? '');
    } catch {
      throw new SfnServiceError('InvalidOutput', 'Invalid Output: not valid JSON');
    }
    const record = this.waitingTask(request.taskToken);
    record.status = 'succeeded';
    this.taskEvent(record.execution, record.stateName!, 'TaskSucceeded', {
      taskSucceededEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken', output: request.output },
    });
    this.release(record);
    afterAnswer(() => record.settle?.resolve(output));
    return {};
  }

  sendTaskFailure(request: { taskToken?: string; error?: string; cause?: string }): Record<string, never> {
    const record = this.waitingTask(request.taskToken);
    record.status = 'failed';
    const error = request.error ?? '';
    const cause = request.cause ?? '';
    this.taskEvent(record.execution, record.stateName!, 'TaskFailed', {
      taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken', error, cause },
    });
    this.release(record);
    afterAnswer(() => record.settle?.reject(new TaskError(error, cause)));
    return {};
  }

  /** As an operator stopping it in the console: the execution ends ABORTED, its waiting task with it. */
  stopExecution(request: { executionArn?: string }): { stopDate: Date } {
    const execution = this.execution(request.executionArn);
    if (execution.status === 'RUNNING') {
      execution.abort();
      for (const record of this.tokens.values()) {
        if (record.execution !== execution || record.status !== 'waiting') continue;
        this.release(record);
        record.settle?.reject(new TaskError('States.Runtime', 'Execution stopped'));
      }
    }
    return { stopDate: execution.stopDate ?? new Date() };
  }

  describeExecution(request: { executionArn?: string }) {
    const execution = this.execution(request.executionArn);
    return {
      executionArn: execution.executionArn,
      stateMachineArn: this.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate,
      stopDate: execution.stopDate,
      input: execution.input,
      inputDetails: { included: true },
      output: execution.output,
      outputDetails: execution.output === undefined ? undefined : { included: true },
      error: execution.error,
      cause: execution.cause,
    };
  }

  listExecutions(request: { stateMachineArn?: string; statusFilter?: ExecutionStatus; maxResults?: number; nextToken?: string }) {
    this.requireMachine(request.stateMachineArn);
    const all = [...this.executions.values()]
      .filter((execution) => !request.statusFilter || execution.status === request.statusFilter)
      .reverse(); // newest first, as the service lists them
    const { page, nextToken } = paginate(all, request.maxResults, request.nextToken, 1000);
    return {
      executions: page.map((execution) => ({
        executionArn: execution.executionArn,
        stateMachineArn: this.stateMachineArn,
        name: execution.name,
        status: execution.status,
        startDate: execution.startDate,
        stopDate: execution.stopDate,
      })),
      nextToken,
    };
  }

  getExecutionHistory(request: {
    executionArn?: string;
    maxResults?: number;
    reverseOrder?: boolean;
    nextToken?: string;
    includeExecutionData?: boolean;
  }) {
    const execution = this.execution(request.executionArn);
    const events = request.reverseOrder ? [...execution.history].reverse() : execution.history;
    const { page, nextToken } = paginate(events, request.maxResults, request.nextToken, 1000);
    const withData = request.includeExecutionData ?? true;
    return { events: withData ? page : page.map(withoutData), nextToken };
  }

  // ---- the endpoint --------------------------------------------------------------------------

  /** Serves the JSON protocol on 127.0.0.1:`port` (0 = any free port); returns the endpoint URL. */
  async listen(port = 0): Promise<string> {
    const server = createServer(LOCAL_SERVER, (req, res) => void this.serve(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, () => resolve());
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
    const reply = (status: number, body: unknown, errorType?: string) => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': randomBytes(16).toString('hex'),
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      // The protocol writes timestamps as epoch seconds (the replacer sees a Date only through `this`).
      res.end(
        JSON.stringify(body, function (this: Record<string, unknown>, key, value: unknown) {
          const raw = this[key];
          return raw instanceof Date ? raw.getTime() / 1000 : value;
        }),
      );
    };
    try {
      if (req.method !== 'POST') throw new SfnServiceError('UnknownOperationException', 'POST only');
      let body: JsonObject;
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject) : {};
      } catch {
        throw new SfnServiceError('SerializationException', 'The request body is not valid JSON');
      }
      const actions: Record<string, (input: JsonObject) => unknown> = {
        StartExecution: (input) => this.startExecution(input),
        SendTaskSuccess: (input) => this.sendTaskSuccess(input),
        SendTaskFailure: (input) => this.sendTaskFailure(input),
        DescribeExecution: (input) => this.describeExecution(input),
        StopExecution: (input) => this.stopExecution(input),
        ListExecutions: (input) => this.listExecutions(input),
        GetExecutionHistory: (input) => this.getExecutionHistory(input),
      };
      const run = actions[action];
      if (!run) throw new SfnServiceError('UnknownOperationException', `Local mode does not implement ${action || 'this operation'}`);
      reply(200, run(body));
    } catch (error) {
      if (error instanceof SfnServiceError) {
        reply(error.statusCode, { __type: error.code, message: error.message }, error.code);
      } else {
        reply(500, { __type: 'InternalFailure', message: String(error) }, 'InternalFailure');
      }
    }
  }

  /** Aborts every running execution, settles every waiting task, closes the endpoint. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const execution of this.executions.values()) if (execution.status === 'RUNNING') execution.abort();
    // Waiting tasks end too, so the runner leaves its loop and clears its timers.
    for (const record of this.tokens.values()) {
      if (record.status !== 'waiting') continue;
      this.release(record);
      record.settle?.reject(new TaskError('States.Runtime', 'Local mode stopped'));
    }
    // Bounded: a run stuck in the runner must not keep local mode from stopping.
    await Promise.race([
      Promise.all([...this.executions.values()].map((execution) => execution.done)),
      new Promise((resolve) => setTimeout(resolve, 3000).unref()),
    ]);
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
  }

  // ---- running ---------------------------------------------------------------------------------

  private run(name: string, input: string, parsed: unknown): Execution {
    const executionArn = this.options.stateMachineArn.replace(':stateMachine:', ':execution:') + `:${name}`;
    const execution: Execution = {
      name,
      executionArn,
      input,
      status: 'RUNNING',
      startDate: new Date(),
      history: [],
      pendingTaskEvents: new Map(),
      unboundTokens: new Set(),
      aborted: false,
      abort: () => {
        execution.aborted = true;
      },
      done: Promise.resolve(),
    };
    this.executions.set(name, execution);
    this.record(execution, 'ExecutionStarted', {
      executionStartedEventDetails: { input, inputDetails: { truncated: false }, roleArn: this.options.roleArn },
    });
    execution.done = new Promise((resolve) => afterAnswer(() => resolve(this.begin(execution, parsed))));
    return execution;
  }

  /** Runs the started execution's states (stopped before its first state: it ends ABORTED). */
  private begin(execution: Execution, parsed: unknown): Promise<void> {
    const { name, executionArn } = execution;
    if (execution.aborted) {
      execution.status = 'ABORTED';
      this.finish(execution, 'ExecutionAborted', { executionAbortedEventDetails: {} });
      return Promise.resolve();
    }
    const issueToken = () => {
      const token = `AQB${randomBytes(48).toString('base64url')}`;
      this.tokens.set(token, { token, execution, status: 'issued' });
      execution.unboundTokens.add(token);
      return token;
    };
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of Object.entries(this.states())) {
      if (state.Type !== 'Task') continue;
      const task = state as TaskState;
      handlers[stateName] =
        task.Resource === LAMBDA_CALLBACK
          ? (taskInput) => this.callbackTask(execution, stateName, taskInput as JsonObject)
          : (taskInput) => this.invokeTask(execution, stateName, taskInput as JsonObject);
    }
    const { result, abort, eventLogs } = this.machine.run(parsed as never, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: executionArn, Name: name, RoleArn: this.options.roleArn },
        StateMachine: { Id: this.options.stateMachineArn, Name: this.options.stateMachineArn.split(':').pop() },
        Task: {
          get Token() {
            return issueToken();
          },
        },
        // Read when a state's Parameters are evaluated, i.e. as the state is entered.
        State: {
          get EnteredTime() {
            return new Date().toISOString();
          },
        },
      },
    });
    execution.abort = () => {
      execution.aborted = true;
      abort();
    };
    const logged = this.follow(execution, eventLogs);
    return result.then(
      async (output) => {
        await logged;
        if (execution.aborted) {
          // noThrowOnAbort: an aborted run resolves with null
          execution.status = 'ABORTED';
          this.finish(execution, 'ExecutionAborted', { executionAbortedEventDetails: {} });
          return;
        }
        execution.status = 'SUCCEEDED';
        execution.output = JSON.stringify(output);
        this.finish(execution, 'ExecutionSucceeded', {
          executionSucceededEventDetails: { output: execution.output, outputDetails: { truncated: false } },
        });
      },
      async (error: unknown) => {
        await logged;
        if (error instanceof ExecutionTimeoutError) {
          execution.status = 'TIMED_OUT';
          this.finish(execution, 'ExecutionTimedOut', { executionTimedOutEventDetails: {} });
        } else if (error instanceof ExecutionAbortedError) {
          execution.status = 'ABORTED';
          this.finish(execution, 'ExecutionAborted', { executionAbortedEventDetails: {} });
        } else {
          execution.status = 'FAILED';
          execution.error ??= (error as Error).name;
          execution.cause ??= (error as Error).message;
          this.finish(execution, 'ExecutionFailed', { executionFailedEventDetails: { error: execution.error, cause: execution.cause } });
        }
      },
    );
  }

  /** Turns the runner's event log into the service's history events (tasks record their own). */
  private async follow(execution: Execution, events: AsyncGenerator<unknown>): Promise<void> {
    for await (const logged of events) {
      const event = logged as { type: string; [key: string]: unknown };
      const state = event.state as { name: string; type: string; input: unknown; output?: unknown } | undefined;
      switch (event.type) {
        case 'StateEntered':
          this.record(execution, `${state!.type}StateEntered`, {
            stateEnteredEventDetails: { name: state!.name, input: stringify(state!.input) },
          });
          this.enter(execution, state!.name);
          break;
        case 'StateRetried':
          this.enter(execution, state!.name); // the next attempt's task events follow
          break;
        case 'StateExited':
          this.enter(execution, state!.name);
          this.record(execution, `${state!.type}StateExited`, {
            stateExitedEventDetails: { name: state!.name, output: stringify(state!.output) },
          });
          execution.currentState = undefined;
          break;
        case 'ExecutionFailed':
          execution.error = String(event.Error);
          execution.cause = typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause ?? '');
          break;
        default:
          break; // started/succeeded/aborted are recorded when the result settles; retries show as new TaskScheduled
      }
    }
  }

  private finish(execution: Execution, type: string, details: JsonObject): void {
    for (const events of execution.pendingTaskEvents.values()) for (const event of events) this.append(execution, event);
    execution.pendingTaskEvents.clear();
    execution.stopDate = new Date();
    this.record(execution, type, details);
    execution.unboundTokens.clear();
    for (const record of this.tokens.values()) {
      if (record.execution === execution && (record.status === 'waiting' || record.status === 'issued')) this.release(record);
    }
  }

  /** `lambda:invoke`: the function's result as `{StatusCode, Payload}`, or its error as the task's. */
  private async invokeTask(execution: Execution, stateName: string, input: JsonObject): Promise<unknown> {
    const { FunctionName, Payload } = this.taskParameters(input);
    this.taskEvent(execution, stateName, 'TaskScheduled', {
      taskScheduledEventDetails: { resourceType: 'lambda', resource: 'invoke', region: this.region(), parameters: stringify(input) },
    });
    this.taskEvent(execution, stateName, 'TaskStarted', { taskStartedEventDetails: { resourceType: 'lambda', resource: 'invoke' } });
    try {
      const result = await this.invoke(FunctionName, Payload);
      const output = { ExecutedVersion: '$LATEST', Payload: result, SdkHttpMetadata: { HttpStatusCode: 200 }, StatusCode: 200 };
      this.taskEvent(execution, stateName, 'TaskSucceeded', {
        taskSucceededEventDetails: { resourceType: 'lambda', resource: 'invoke', output: stringify(output) },
      });
      return output;
    } catch (error) {
      const failure = asTaskError(error);
      this.taskEvent(execution, stateName, 'TaskFailed', {
        taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', error: failure.name, cause: failure.message },
      });
      throw failure;
    }
  }

  /**
   * `lambda:invoke.waitForTaskToken`: invokes the function with the payload (token included) and
   * waits until SendTaskSuccess / SendTaskFailure, or the state's timeout (`States.Timeout`). A
   * function that throws fails the task at once with its error, unless the task was settled first.
   */
  private callbackTask(execution: Execution, stateName: string, input: JsonObject): Promise<unknown> {
    const timeoutSeconds = Number(input[LOCAL_TIMEOUT_PARAMETER] ?? this.states()[stateName]?.TimeoutSeconds ?? 0);
    const { FunctionName, Payload } = this.taskParameters(input);
    const token = findToken(Payload, execution.unboundTokens);
    if (!token) return Promise.reject(new TaskError('States.Runtime', 'A waitForTaskToken task must pass $$.Task.Token'));
    execution.unboundTokens.delete(token);
    const record = this.tokens.get(token)!;
    record.status = 'waiting';
    record.stateName = stateName;
    this.taskEvent(execution, stateName, 'TaskScheduled', {
      taskScheduledEventDetails: {
        resourceType: 'lambda',
        resource: 'invoke.waitForTaskToken',
        region: this.region(),
        parameters: stringify(redact(this.taskParameters(input), token)),
        timeoutInSeconds: timeoutSeconds || undefined,
      },
    });
    const pending = new Promise<unknown>((resolve, reject) => {
      record.settle = { resolve, reject };
    });
    if (timeoutSeconds > 0) {
      record.deadlineMs = Date.now() + timeoutSeconds * 1000;
      record.timer = setTimeout(() => {
        if (record.status !== 'waiting') return;
        record.status = 'timed-out';
        this.taskEvent(execution, stateName, 'TaskTimedOut', {
          taskTimedOutEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken', error: 'States.Timeout', cause: '' },
        });
        this.release(record);
        record.settle?.reject(new TaskError('States.Timeout', ''));
      }, timeoutSeconds * 1000);
    }
    this.taskEvent(execution, stateName, 'TaskStarted', {
      taskStartedEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken' },
    });
    this.invoke(FunctionName, Payload).then(
      (result) => {
        if (record.status !== 'waiting') return;
        const output = { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 };
        this.taskEvent(execution, stateName, 'TaskSubmitted', {
          taskSubmittedEventDetails: { resourceType: 'lambda', resource: 'invoke.waitForTaskToken', output: stringify(output) },
        });
      },
      (error: unknown) => {
        if (record.status !== 'waiting') return; // settled first: the task's outcome stands
        const failure = asTaskError(error);
        record.status = 'failed';
        this.taskEvent(execution, stateName, 'TaskFailed', {
          taskFailedEventDetails: {
            resourceType: 'lambda',
            resource: 'invoke.waitForTaskToken',
            error: failure.name,
            cause: failure.message,
          },
        });
        this.release(record);
        record.settle?.reject(failure);
      },
    );
    return pending;
  }

  private async invoke(functionArn: string, payload: unknown): Promise<unknown> {
    if (this.stopped) throw new TaskError('States.Runtime', 'Local mode stopped');
    const fn = this.options.functions[functionArn];
    if (!fn) throw new TaskError('Lambda.ResourceNotFoundException', `Function not found: ${functionArn}`);
    // A copy through JSON, as the payload travels on AWS: no shared objects, no undefined.
    const result = await fn(JSON.parse(JSON.stringify(payload ?? {})));
    return result === undefined ? null : JSON.parse(JSON.stringify(result));
  }

  private taskParameters(input: JsonObject): { FunctionName: string; Payload: unknown } {
    const { [LOCAL_TIMEOUT_PARAMETER]: _timeout, ...parameters } = input;
    return parameters as { FunctionName: string; Payload: unknown };
  }

  /** The token of a task that is still waiting, or the service's error for it. */
  private waitingTask(token: string | undefined): TaskToken {
    const record = token ? this.tokens.get(token) : undefined;
    if (!record) throw new SfnServiceError('InvalidToken', "Invalid Token: 'Invalid token'");
    if (record.status === 'waiting' && record.deadlineMs !== undefined && Date.now() >= record.deadlineMs) {
      // The timer is due this very moment: the task has timed out, whatever fires first.
      throw new SfnServiceError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    if (record.status === 'issued') throw new SfnServiceError('TaskDoesNotExist', 'Task Does Not Exist');
    if (record.status !== 'waiting') {
      throw new SfnServiceError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    return record;
  }

  private release(record: TaskToken): void {
    if (record.timer) clearTimeout(record.timer);
    record.timer = undefined;
    if (record.status === 'waiting' || record.status === 'issued') record.status = 'closed';
  }

  private execution(arn: string | undefined): Execution {
    const name = arn?.startsWith(this.options.stateMachineArn.replace(':stateMachine:', ':execution:') + ':')
      ? arn.split(':').pop()!
      : undefined;
    const execution = name ? this.executions.get(name) : undefined;
    if (!execution) throw new SfnServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn ?? ''}'`);
    return execution;
  }

  private requireMachine(arn: string | undefined): void {
    if (arn !== this.options.stateMachineArn) {
      throw new SfnServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn ?? ''}'`);
    }
  }

  private record(execution: Execution, type: string, details: JsonObject): void {
    this.append(execution, { timestamp: new Date(), type, id: 0, previousEventId: 0, ...details });
  }

  private append(execution: Execution, event: HistoryEvent): void {
    const id = execution.history.length + 1;
    execution.history.push({ ...event, id, previousEventId: id - 1 });
  }

  /**
   * A task's own event (scheduled, started, succeeded...). The runner reports state entries
   * asynchronously, so an event of a state not shown entering yet waits for that entry: the
   * history then reads in the service's order (entered, scheduled, started, succeeded, exited).
   */
  private taskEvent(execution: Execution, stateName: string, type: string, details: JsonObject): void {
    const event: HistoryEvent = { timestamp: new Date(), type, id: 0, previousEventId: 0, ...details };
    if (execution.currentState === stateName) return this.append(execution, event);
    const pending = execution.pendingTaskEvents.get(stateName) ?? [];
    pending.push(event);
    execution.pendingTaskEvents.set(stateName, pending);
  }

  private enter(execution: Execution, stateName: string): void {
    execution.currentState = stateName;
    for (const event of execution.pendingTaskEvents.get(stateName) ?? []) this.append(execution, event);
    execution.pendingTaskEvents.delete(stateName);
  }

  private states(): Record<string, JsonObject> {
    return this.definition.States as unknown as Record<string, JsonObject>;
  }

  private region(): string {
    return this.options.stateMachineArn.split(':')[3] ?? '';
  }
}

/**
 * The service answers StartExecution, SendTaskSuccess and SendTaskFailure first and runs the next
 * state asynchronously. Here the next state runs in this process, on a later turn of the event
 * loop, so that the caller's answer is written before the next step's Lambda starts (on AWS it
 * would not compete with the caller at all).
 */
const afterAnswer = (next: () => void): void => {
  setTimeout(next, NEXT_STATE_AFTER_MS);
};
const NEXT_STATE_AFTER_MS = 10;

function asTaskError(error: unknown): TaskError {
  if (error instanceof TaskError) return error;
  // As the lambda:invoke integration reports an unhandled function error: name = errorType.
  const name = error instanceof Error && error.name ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return new TaskError(name, JSON.stringify({ errorType: name, errorMessage: message }));
}

function findToken(value: unknown, tokens: Set<string>): string | undefined {
  if (typeof value === 'string') return tokens.has(value) ? value : undefined;
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) {
      const found = findToken(child, tokens);
      if (found) return found;
    }
  }
  return undefined;
}

/** Task tokens never leave the server, not even in the local admin's history view. */
function redact(value: unknown, token: string): unknown {
  return JSON.parse(JSON.stringify(value).split(token).join(TOKEN_REDACTED));
}

const stringify = (value: unknown): string => JSON.stringify(value ?? null);

function withoutData(event: HistoryEvent): HistoryEvent {
  const copy: HistoryEvent = { ...event };
  for (const [key, value] of Object.entries(copy)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') {
      const { input: _input, output: _output, parameters: _parameters, ...rest } = value as JsonObject;
      copy[key] = rest;
    }
  }
  return copy;
}

function paginate<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined, max: number) {
  const size = Math.min(Math.max(maxResults || max, 1), max);
  let start = 0;
  if (nextToken) {
    start = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw new SfnServiceError('InvalidToken', 'Invalid nextToken');
  }
  const page = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
  return { page, nextToken: next };
}
