import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { DEFAULTS } from './lockbox-props';

export interface LinkKeysProps {
  /**
   * One KMS HMAC key per id; the last signs new links, the others still verify.
   * @default ['k1']
   */
  readonly keyIds?: readonly string[];
}

/** The HMAC keys that sign and verify approval links (KMS GenerateMac / VerifyMac). */
export class LinkKeys extends Construct {
  /** The keys by key id. */
  readonly keys: Readonly<Record<string, kms.Key>>;
  /** The id of the key that signs new links (the last one listed). */
  readonly currentKeyId: string;

  constructor(scope: Construct, id: string, props: LinkKeysProps = {}) {
    super(scope, id);
    const keyIds = props.keyIds ?? DEFAULTS.linkKeyIds;
    this.keys = Object.fromEntries(
      keyIds.map((kid) => [
        kid,
        new kms.Key(this, kid, {
          description: `Lockbox approval links, key id ${kid}`,
          keySpec: kms.KeySpec.HMAC_256,
          keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
          // A dropped key id only ever verified links of at most 12 hours.
          removalPolicy: RemovalPolicy.DESTROY,
          pendingWindow: Duration.days(7),
        }),
      ]),
    );
    this.currentKeyId = keyIds.at(-1) as string;
  }
}
