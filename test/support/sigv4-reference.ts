import { createHash, createHmac } from 'node:crypto';

/**
 * A second, minimal SigV4 written from the specification with node:crypto, for tests only: it
 * checks the published vectors too, then the CLI's signatures of real API shapes (stage path,
 * query, JSON body), and the stand-in servers verify incoming signatures with it. Handles paths
 * of unreserved characters only — all the API has.
 */
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface ReferenceInput {
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  signedHeaders: string[];
  body: string;
  secretAccessKey: string;
  region: string;
  service: string;
  amzDate: string;
}

export function referenceSignature(input: ReferenceInput): string {
  const query = [...input.query]
    .map(([k, v]) => [encode(k), encode(v)])
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signed = [...input.signedHeaders].sort();
  const canonicalHeaders = signed.map((name) => `${name}:${input.headers[name].trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [input.method, input.path, query, canonicalHeaders, signed.join(';'), sha256(input.body)].join('\n');
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${input.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${input.secretAccessKey}`, date);
  for (const part of [input.region, input.service, 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** Verifies a request's Authorization header (as a stand-in server receives it). */
export function verifySignature(
  request: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string },
  secretFor: (accessKeyId: string) => string | undefined,
): { ok: boolean; accessKeyId?: string; region?: string; service?: string } {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      String(request.headers.authorization ?? ''),
    );
  if (!match) return { ok: false };
  const [, accessKeyId, , region, service, signedHeaders, signature] = match;
  const secret = secretFor(accessKeyId);
  if (!secret) return { ok: false, accessKeyId };
  const url = new URL(request.url, 'http://stand-in');
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name.toLowerCase(),
      Array.isArray(value) ? value.join(',') : String(value ?? ''),
    ]),
  );
  const expected = referenceSignature({
    method: request.method,
    path: url.pathname,
    query: [...url.searchParams],
    headers,
    signedHeaders: signedHeaders.split(';'),
    body: request.body,
    secretAccessKey: secret,
    region,
    service,
    amzDate: headers['x-amz-date'],
  });
  return { ok: expected === signature, accessKeyId, region, service };
}
