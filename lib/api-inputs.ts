import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/core/config';
import { GATEWAY_ERRORS, type GatewayErrorType, RETRY_AFTER_SECONDS } from '../lambdas/core/http/gateway-errors';
import type { LockboxFunction } from './lockbox-function';

/**
 * The API Gateway's own refusals in the API's error format, `{"error": {code, message}}`: one
 * `GatewayResponse` per type of `GATEWAY_ERRORS` (the table local mode answers from too),
 * including DEFAULT_4XX and DEFAULT_5XX for any type not listed. Messages are fixed text, never
 * API Gateway's own (`$context.error.message` can name internals).
 */
export class GatewayErrorResponses extends Construct {
  constructor(scope: Construct, id: string, props: { readonly api: apigw.RestApi }) {
    super(scope, id);
    for (const [type, error] of Object.entries(GATEWAY_ERRORS)) {
      const retry: Record<string, string> = error.code === 'THROTTLED' ? { 'Retry-After': `'${RETRY_AFTER_SECONDS}'` } : {};
      new apigw.GatewayResponse(this, type, {
        restApi: props.api,
        type: apigw.ResponseType.of(type as GatewayErrorType),
        statusCode: String(error.status),
        responseHeaders: { 'Cache-Control': "'no-store'", 'X-Content-Type-Options': "'nosniff'", ...retry },
        templates: { 'application/json': JSON.stringify({ error: { code: error.code, message: error.message } }) },
      });
    }
  }
}

/**
 * The key of the API's paging tokens (domain/page-token.ts): a KMS HMAC key of its own. A function
 * that lists derives its signing key from it ONCE per container (one GenerateMac over a fixed
 * label) and then signs and checks tokens locally: one KMS call per cold start, none per page.
 * Not the link keys: the API functions must not be able to mint approval links.
 */
export class PageTokenKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Lockbox API paging tokens (nextToken)',
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      // Losing it only invalidates nextTokens in flight: a client starts its listing again.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
  }

  /** Sets PAGE_TOKEN_KEY and grants GenerateMac on this key only. */
  useIn(fn: LockboxFunction): void {
    fn.fn.addEnvironment(ENV.pageTokenKey, `kms:${this.key.keyArn}`);
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateMac'], resources: [this.key.keyArn] }));
  }
}
