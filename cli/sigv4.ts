import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * SigV4 for API Gateway's AWS_IAM (service `execute-api`), with Smithy's signer — the one the AWS
 * SDK itself uses. Checked against the published aws-sig-v4-test-suite vectors
 * (test/unit/cli/sigv4.test.ts) with exactly these options.
 */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface Unsigned {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export async function signRequest(
  request: Unsigned,
  credentials: Credentials,
  region: string,
  options: { service?: string; signingDate?: Date } = {},
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: options.service ?? 'execute-api', region, credentials, sha256: Sha256, applyChecksum: false });
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      port: request.url.port ? Number(request.url.port) : undefined,
      // The path as it is sent (already percent-encoded once); the signer encodes it again, as
      // SigV4 wants for every service but S3.
      path: request.url.pathname,
      query,
      headers: { host: request.url.host, ...request.headers },
      body: request.body,
    }),
    { signingDate: options.signingDate },
  );
  return signed.headers as Record<string, string>;
}
