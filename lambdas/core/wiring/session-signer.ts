import { KMSClient } from '@aws-sdk/client-kms';
import { KmsSigner, LocalSigner } from '../adapters/signers';
import { config } from '../config';
import { traced } from '../observability';
import { once } from './once';

/** The console's session signer: a KMS HMAC key of its own on AWS, a local key in local mode. */
export const sessionSigner = once(() =>
  config.consoleSessionSigner() === 'kms'
    ? new KmsSigner(traced(new KMSClient({})), 'console-1', { 'console-1': config.consoleSessionKmsKey() })
    : new LocalSigner('console-1', { 'console-1': Buffer.from(config.consoleSessionLocalKey(), 'base64') }),
);
