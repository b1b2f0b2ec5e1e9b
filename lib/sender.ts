import { Stack } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { EmailProps } from './lockbox-props';

/** The SES identity Lockbox sends as: created here when asked to, otherwise only referenced. */
export class SenderIdentity extends Construct {
  /** The From address of every email. */
  readonly sender: string;
  /** ARN of the SES identity the functions may send as (the address or its domain). */
  readonly identityArn: string;
  /** The identity, when this construct created it. */
  readonly identity?: ses.EmailIdentity;

  constructor(scope: Construct, id: string, props: EmailProps) {
    super(scope, id);
    const identity = props.identity ?? props.sender;
    if (props.createIdentity) {
      this.identity = new ses.EmailIdentity(this, 'Identity', {
        identity: identity.includes('@') ? ses.Identity.email(identity) : ses.Identity.domain(identity),
      });
    }
    this.sender = props.sender;
    this.identityArn = Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: identity });
  }
}
