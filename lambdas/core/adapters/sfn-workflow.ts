import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidToken,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { Workflow } from '../ports';

/**
 * The request's Step Functions execution. The execution name is the request id, and the input
 * carries only the id and the callback timeouts — no table names, ARNs or personal data.
 */
export class SfnWorkflow implements Workflow {
  /** The ARN is read only to start executions: settling a task needs only its token. */
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: () => string,
  ) {}

  async start(requestId: string, timeouts: { managerSeconds: number; customerSeconds: number }): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn(),
          name: requestId,
          input: JSON.stringify(executionInput(requestId, timeouts)),
        }),
      );
    } catch (error) {
      // Already started by an earlier attempt of the same request: that is the point of the name.
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
  }

  succeed(taskToken: string, output: { status: string }) {
    return this.settle(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  }

  fail(taskToken: string, error: 'RequestCancelled', cause: string) {
    return this.settle(new SendTaskFailureCommand({ taskToken, error, cause }));
  }

  async runningExecutions(): Promise<Set<string>> {
    const names = new Set<string>();
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: this.stateMachineArn(), statusFilter: 'RUNNING', maxResults: 1000, nextToken }),
      );
      for (const execution of page.executions ?? []) if (execution.name) names.add(execution.name);
      nextToken = page.nextToken;
    } while (nextToken);
    return names;
  }

  async executionStatus(requestId: string): Promise<'running' | 'ended' | 'never-started'> {
    const executionArn = `${this.stateMachineArn().replace(':stateMachine:', ':execution:')}:${requestId}`;
    try {
      const { status } = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return status === 'RUNNING' || status === 'PENDING_REDRIVE' ? 'running' : 'ended';
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist) return 'never-started';
      throw error;
    }
  }

  private async settle(command: SendTaskSuccessCommand | SendTaskFailureCommand): Promise<'delivered' | 'lost-race'> {
    try {
      await this.sfn.send(command as SendTaskSuccessCommand);
      return 'delivered';
    } catch (error) {
      if (error instanceof TaskTimedOut || error instanceof InvalidToken || error instanceof TaskDoesNotExist) {
        return 'lost-race';
      }
      throw error;
    }
  }
}

/** The execution's input; the state machine reads the callback timeouts from it. */
export const executionInput = (requestId: string, timeouts: { managerSeconds: number; customerSeconds: number }) => ({
  requestId,
  timeouts,
});
