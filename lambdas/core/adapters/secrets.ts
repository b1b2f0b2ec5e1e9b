import { Sha256 } from '@aws-crypto/sha256-js';
import { fromEnv } from '@aws-sdk/credential-providers';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * One call of Secrets Manager, `GetSecretValue`, for the console's OIDC client secret when its
 * issuer needs a confidential client. A SigV4-signed POST with the function's own credentials
 * (the Lambda environment's): the project carries no Secrets Manager SDK client for one call a
 * container. The secret is read once, when the first sign-in needs it, and kept in memory.
 */
export async function getSecretString(secretId: string, region = process.env.AWS_REGION ?? 'us-east-1'): Promise<string> {
  const host = `secretsmanager.${region}.amazonaws.com`;
  const request = new HttpRequest({
    method: 'POST',
    protocol: 'https:',
    hostname: host,
    path: '/',
    headers: { host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
    body: JSON.stringify({ SecretId: secretId }),
  });
  const signer = new SignatureV4({ service: 'secretsmanager', region, credentials: fromEnv(), sha256: Sha256 });
  const signed = await signer.sign(request);
  const response = await fetch(`https://${host}/`, {
    method: 'POST',
    headers: signed.headers as Record<string, string>,
    body: signed.body as string,
  });
  const body = (await response.json()) as { SecretString?: string; __type?: string; message?: string };
  if (!response.ok || typeof body.SecretString !== 'string') {
    throw new Error(`Secrets Manager GetSecretValue failed: ${response.status} ${body.__type ?? ''}`.trim());
  }
  return body.SecretString;
}
