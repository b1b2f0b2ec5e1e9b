import { KMSClient } from '@aws-sdk/client-kms';
import { KmsSigner, LocalSigner } from '../adapters/signers';
import { config } from '../config';
import { traced } from '../observability';
import { once } from './once';

/** The link-token MAC: KMS HMAC keys (deployed), or local mode's secrets. */
export const signer = once(() =>
  config.linkSigner() === 'kms'
    ? new KmsSigner(traced(new KMSClient({})), config.linkCurrentKey(), config.linkKmsKeys())
    : new LocalSigner(
        config.linkCurrentKey(),
        Object.fromEntries(Object.entries(config.linkLocalKeys()).map(([kid, secret]) => [kid, Buffer.from(secret, 'base64')])),
      ),
);
