import { GenerateMacCommand, KMSClient, KMSInvalidMacException, VerifyMacCommand } from '@aws-sdk/client-kms';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { SesMailer } from '../../../lambdas/core/adapters/ses-mailer';
import { SfnWorkflow } from '../../../lambdas/core/adapters/sfn-workflow';
import { KmsSigner } from '../../../lambdas/core/adapters/signers';

const sfn = mockClient(SFNClient);
const ses = mockClient(SESClient);
const kms = mockClient(KMSClient);
const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:lockbox-access-request';

beforeEach(() => {
  sfn.reset();
  ses.reset();
  kms.reset();
});

describe('SfnWorkflow', () => {
  const workflow = new SfnWorkflow(new SFNClient({ region: 'eu-west-1' }), () => ARN);

  it('starts the execution named by the request id, with only the id and timeouts as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date() });
    await workflow.start('req-1', { managerSeconds: 60, customerSeconds: 120 });
    const input = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(input).toEqual({ stateMachineArn: ARN, name: 'req-1', input: expect.any(String) });
    expect(JSON.parse(input.input!)).toEqual({ requestId: 'req-1', timeouts: { managerSeconds: 60, customerSeconds: 120 } });
  });

  it('treats an execution that already exists as started', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    await expect(workflow.start('req-1', { managerSeconds: 1, customerSeconds: 1 })).resolves.toBeUndefined();
  });

  it('delivers a decision as SendTaskSuccess with the status', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await expect(workflow.succeed('token-1', { status: 'APPROVED' })).resolves.toBe('delivered');
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input).toEqual({ taskToken: 'token-1', output: '{"status":"APPROVED"}' });
  });

  it('delivers a cancel as SendTaskFailure named RequestCancelled', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    await workflow.fail('token-1', 'RequestCancelled', 'by requester');
    expect(sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input).toEqual({
      taskToken: 'token-1',
      error: 'RequestCancelled',
      cause: 'by requester',
    });
  });

  it.each([
    ['TaskTimedOut', new TaskTimedOut({ message: 'x', $metadata: {} })],
    ['InvalidToken', new InvalidToken({ message: 'x', $metadata: {} })],
    ['TaskDoesNotExist', new TaskDoesNotExist({ message: 'x', $metadata: {} })],
  ])('reports %s as a lost race, not an error', async (_name, error) => {
    sfn.on(SendTaskSuccessCommand).rejects(error);
    await expect(workflow.succeed('token-1', { status: 'APPROVED' })).resolves.toBe('lost-race');
  });

  it('throws any other failure so the caller sees it', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(new SFNServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'slow down', $metadata: {} }));
    await expect(workflow.succeed('token-1', { status: 'APPROVED' })).rejects.toThrow('slow down');
  });
});

describe('SesMailer', () => {
  it('sends both parts from the configured sender', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'm1' });
    await new SesMailer(new SESClient({ region: 'eu-west-1' }), 'lockbox@provider.example').send({
      to: ['a@b.example'],
      subject: 'S',
      text: 'T',
      html: '<p>H</p>',
    });
    expect(ses.commandCalls(SendEmailCommand)[0].args[0].input).toEqual({
      Source: 'lockbox@provider.example',
      Destination: { ToAddresses: ['a@b.example'] },
      Message: {
        Subject: { Data: 'S', Charset: 'UTF-8' },
        Body: { Text: { Data: 'T', Charset: 'UTF-8' }, Html: { Data: '<p>H</p>', Charset: 'UTF-8' } },
      },
    });
  });
});

describe('KmsSigner', () => {
  const signer = new KmsSigner(new KMSClient({ region: 'eu-west-1' }), 'k1', { k1: 'arn:aws:kms:eu-west-1:123456789012:key/abc' });
  const mac = Buffer.alloc(32, 7);

  it('signs with GenerateMac HMAC_SHA_256 on the key of the key id', async () => {
    kms.on(GenerateMacCommand).resolves({ Mac: mac });
    await expect(signer.sign('k1', Buffer.from('m'))).resolves.toEqual(mac);
    expect(kms.commandCalls(GenerateMacCommand)[0].args[0].input).toMatchObject({
      KeyId: 'arn:aws:kms:eu-west-1:123456789012:key/abc',
      MacAlgorithm: 'HMAC_SHA_256',
    });
  });

  it('verifies with VerifyMac, and a wrong MAC (KMSInvalidMacException) is simply invalid', async () => {
    kms
      .on(VerifyMacCommand)
      .resolvesOnce({ MacValid: true })
      .rejects(new KMSInvalidMacException({ message: 'bad', $metadata: {} }));
    await expect(signer.verify('k1', Buffer.from('m'), mac)).resolves.toBe(true);
    await expect(signer.verify('k1', Buffer.from('m'), mac)).resolves.toBe(false);
  });

  it('refuses an unknown key id or a MAC of the wrong length without asking KMS', async () => {
    await expect(signer.verify('k9', Buffer.from('m'), mac)).resolves.toBe(false);
    await expect(signer.verify('k1', Buffer.from('m'), mac.subarray(0, 31))).resolves.toBe(false);
    expect(kms.commandCalls(VerifyMacCommand)).toHaveLength(0);
  });
});
