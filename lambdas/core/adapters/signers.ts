import { createHmac, timingSafeEqual } from 'node:crypto';
import { GenerateMacCommand, type KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import type { MacSigner } from '../domain/link-token';

/**
 * Link-token MACs with a KMS HMAC_256 key. The notify function may only GenerateMac and the
 * approval-link function may only VerifyMac. `keys` maps the short key id carried in tokens to
 * KMS key ids; keep a retired key in the map until its last token has expired (≥ 12 h).
 */
export class KmsSigner implements MacSigner {
  constructor(
    private readonly kms: KMSClient,
    readonly currentKeyId: string,
    private readonly keys: Record<string, string>,
  ) {}

  async sign(keyId: string, message: Buffer): Promise<Buffer> {
    const { Mac } = await this.kms.send(
      new GenerateMacCommand({ KeyId: this.keys[keyId], MacAlgorithm: 'HMAC_SHA_256', Message: message }),
    );
    if (!Mac) throw new Error('KMS returned no MAC');
    return Buffer.from(Mac);
  }

  async verify(keyId: string, message: Buffer, mac: Buffer): Promise<boolean> {
    const kmsKeyId = this.keys[keyId];
    if (!kmsKeyId || mac.length !== 32) return false;
    try {
      const { MacValid } = await this.kms.send(
        new VerifyMacCommand({ KeyId: kmsKeyId, MacAlgorithm: 'HMAC_SHA_256', Message: message, Mac: mac }),
      );
      return MacValid === true;
    } catch (error) {
      // KMS answers a wrong MAC with KMSInvalidMacException rather than MacValid=false.
      if ((error as Error).name === 'KMSInvalidMacException') return false;
      throw error;
    }
  }
}

/** Local mode: HMAC-SHA256 with keys held in memory, compared in constant time. */
export class LocalSigner implements MacSigner {
  constructor(
    readonly currentKeyId: string,
    private readonly keys: Record<string, Buffer>,
  ) {}

  async sign(keyId: string, message: Buffer): Promise<Buffer> {
    const key = this.keys[keyId];
    if (!key) throw new Error(`unknown link key ${keyId}`);
    return createHmac('sha256', key).update(message).digest();
  }

  async verify(keyId: string, message: Buffer, mac: Buffer): Promise<boolean> {
    const key = this.keys[keyId];
    if (!key) return false;
    const expected = createHmac('sha256', key).update(message).digest();
    // timingSafeEqual throws on different lengths: a wrong length is simply invalid.
    return mac.length === expected.length && timingSafeEqual(mac, expected);
  }
}

/** What the page-token key is derived from: a fixed label, so every container derives the same key. */
export const PAGE_TOKEN_LABEL = 'lockbox page tokens v1';

/**
 * The paging-token key on AWS: the HMAC of a fixed label under a KMS HMAC key of its own, asked
 * for once per container (one GenerateMac per cold start, then local HMACs: no KMS call per
 * page). Its own key, because the API functions must not be able to mint link tokens.
 */
export async function kmsDerivedKey(kms: KMSClient, keyId: string, label = PAGE_TOKEN_LABEL): Promise<Buffer> {
  const { Mac } = await kms.send(new GenerateMacCommand({ KeyId: keyId, MacAlgorithm: 'HMAC_SHA_256', Message: Buffer.from(label) }));
  if (!Mac) throw new Error('KMS returned no MAC');
  return Buffer.from(Mac);
}
