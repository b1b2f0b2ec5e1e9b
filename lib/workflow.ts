import { join } from 'node:path';
import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STATE_MACHINE_FILE, WORKFLOW_FUNCTIONS, type WorkflowFunction } from '../lambdas/core/workflow-definition';
import { PROJECT_ROOT } from './lockbox-function';

export interface WorkflowProps {
  /** The five Lambdas the ASL file invokes, by the name `WORKFLOW_FUNCTIONS` gives them. */
  readonly functions: Readonly<Record<WorkflowFunction, lambda.IFunction>>;
  /**
   * The state machine's name. Fixed rather than generated, so a function the machine invokes can
   * be given its ARN without referencing it (a cycle).
   */
  readonly stateMachineName: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Encrypts the log group. @default - CloudWatch Logs' own encryption */
  readonly logEncryptionKey?: kms.IKey;
  /** Of the log group. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The access-request workflow from the ASL file, invoking exactly its five Lambdas. */
export class Workflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** Execution history events, without their data (task tokens and emails pass through). */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // The vended-logs prefix keeps CloudWatch Logs' resource policy small.
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.logRemovalPolicy,
    });
    const workflowFunctions = Object.entries(WORKFLOW_FUNCTIONS).map(([fn, placeholder]) => ({
      placeholder,
      arn: props.functions[fn as WorkflowFunction].functionArn,
    }));
    this.stateMachine = new sfn.StateMachine(this, 'AccessRequest', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(join(PROJECT_ROOT, STATE_MACHINE_FILE)),
      definitionSubstitutions: Object.fromEntries(workflowFunctions.map(({ placeholder, arn }) => [placeholder, arn])),
      // Task tokens and emails pass through the states: log every event, never its data.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: workflowFunctions.map(({ arn }) => arn) }),
    );
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Step Functions log delivery (logs:CreateLogDelivery and friends) and X-Ray tracing support no resource-level permissions.',
    });
  }
}
