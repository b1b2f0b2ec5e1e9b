import { KMSClient } from '@aws-sdk/client-kms';
import { KmsDigestSigner, LocalDigestSigner } from '../adapters/digest-signers';
import { config } from '../config';
import { systemClock } from '../domain/clock';
import { log, traced } from '../observability';
import type { LedgerDeps } from '../usecases/ledger';
import { once } from './once';
import { stores } from './stores';

/** The digest signer: the KMS ECC_NIST_P256 key (deployed), or local mode's P-256 key. */
const digestSigner = once(() =>
  config.digestSigner() === 'kms'
    ? new KmsDigestSigner(traced(new KMSClient({})), config.digestKmsKey())
    : new LocalDigestSigner(config.digestLocalKey()),
);

/** What the digest sealer, the verification and the digest routes use, built lazily. */
export const ledgerDeps: LedgerDeps = Object.defineProperties({} as LedgerDeps, {
  clock: { value: systemClock },
  log: { value: log },
  ledger: { get: stores.audit },
  digestSigner: { get: digestSigner },
});
