import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { DigestSigner } from '../ports';

/**
 * Digest signatures with a KMS ECC_NIST_P256 SIGN_VERIFY key. Only the sealer's role may
 * `kms:Sign` (the key policy denies everyone else); the API reads the public key
 * (`kms:GetPublicKey`) to publish it. KMS signs the SHA-256 digest of the payload, so the
 * signature verifies as ECDSA_SHA_256 over the payload itself with any crypto library.
 */
export class KmsDigestSigner implements DigestSigner {
  private publicKey?: Promise<string>;

  constructor(
    private readonly kms: KMSClient,
    /** The key's ARN: also the key id digests name. */
    readonly keyId: string,
  ) {}

  async sign(payload: Buffer): Promise<Buffer> {
    const { Signature } = await this.kms.send(
      new SignCommand({
        KeyId: this.keyId,
        Message: createHash('sha256').update(payload).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    if (!Signature) throw new Error('KMS returned no signature');
    return Buffer.from(Signature);
  }

  publicKeyPem(): Promise<string> {
    this.publicKey ??= this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId })).then(({ PublicKey }) => {
      if (!PublicKey) throw new Error('KMS returned no public key');
      return createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
    });
    this.publicKey.catch(() => (this.publicKey = undefined));
    return this.publicKey;
  }
}

/** Local mode: an ECDSA P-256 key held in memory (PKCS#8 PEM). Its id is derived from its public key. */
export class LocalDigestSigner implements DigestSigner {
  private readonly key: KeyObject;
  readonly keyId: string;

  constructor(privateKeyPem: string) {
    this.key = createPrivateKey(privateKeyPem);
    if (this.key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('the local digest key must be an EC P-256 key');
    const spki = createPublicKey(this.key).export({ type: 'spki', format: 'der' });
    this.keyId = `local-${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`;
  }

  async sign(payload: Buffer): Promise<Buffer> {
    return sign('sha256', payload, { key: this.key, dsaEncoding: 'der' });
  }

  async publicKeyPem(): Promise<string> {
    return createPublicKey(this.key).export({ type: 'spki', format: 'pem' }).toString();
  }
}
