import { signRequest } from '../../../cli/sigv4';
import { referenceSignature, verifySignature } from '../../support/sigv4-reference';

/**
 * The CLI's signer against the published AWS Signature Version 4 test suite (aws-sig-v4-test-suite,
 * the 2015-08-30 vectors: credentials AKIDEXAMPLE, region us-east-1, service "service").
 * The signer runs with exactly the options the CLI uses for execute-api; only the service differs.
 */
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SIGNING_DATE = new Date('2015-08-30T12:36:00Z');
const SCOPE = 'Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

const sign = (method: string, url: string, body?: string) =>
  signRequest({ method, url: new URL(url), headers: {}, body }, CREDENTIALS, 'us-east-1', {
    service: 'service',
    signingDate: SIGNING_DATE,
  });

describe('SigV4 signing (aws-sig-v4-test-suite)', () => {
  it('get-vanilla', async () => {
    const headers = await sign('GET', 'https://example.amazonaws.com/');
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    expect(headers.authorization).toBe(
      `AWS4-HMAC-SHA256 ${SCOPE}, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31`,
    );
  });

  it('get-vanilla-query-order-key-case: the query is sorted before signing', async () => {
    const headers = await sign('GET', 'https://example.amazonaws.com/?Param2=value2&Param1=value1');
    expect(headers.authorization).toBe(
      `AWS4-HMAC-SHA256 ${SCOPE}, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500`,
    );
  });

  it('post-vanilla', async () => {
    const headers = await sign('POST', 'https://example.amazonaws.com/');
    expect(headers.authorization).toBe(
      `AWS4-HMAC-SHA256 ${SCOPE}, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b`,
    );
  });

  it('a second implementation (test/support/sigv4-reference.ts) agrees on get-vanilla', () => {
    expect(
      referenceSignature({
        method: 'GET',
        path: '/',
        query: [],
        headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
        signedHeaders: ['host', 'x-amz-date'],
        body: '',
        secretAccessKey: CREDENTIALS.secretAccessKey,
        region: 'us-east-1',
        service: 'service',
        amzDate: '20150830T123600Z',
      }),
    ).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });

  it.each([
    [
      'GET',
      'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/requests?tenantId=acme&status=PENDING_MANAGER_APPROVAL&limit=100',
      undefined,
    ],
    [
      'POST',
      'https://abc123.execute-api.eu-west-1.amazonaws.com/v1/requests/req-0123456789abcdef0123456789abcdef/customer-decision',
      '{"decision":"DENY","reason":"not today, thanks"}',
    ],
  ])('signs the API call %s %s as the specification says (execute-api, stage path, query, body)', async (method, url, body) => {
    const headers = await signRequest(
      { method, url: new URL(url), headers: body ? { 'content-type': 'application/json' } : {}, body },
      CREDENTIALS,
      'eu-west-1',
      { signingDate: SIGNING_DATE },
    );
    const verdict = verifySignature({ method, url: new URL(url).pathname + new URL(url).search, headers, body: body ?? '' }, (key) =>
      key === 'AKIDEXAMPLE' ? CREDENTIALS.secretAccessKey : undefined,
    );
    expect(verdict).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'eu-west-1', service: 'execute-api' });
    expect(headers.authorization).toContain(body ? 'SignedHeaders=content-type;host;x-amz-date' : 'SignedHeaders=host;x-amz-date');
  });

  it('adds the session token of temporary credentials as x-amz-security-token, and signs it', async () => {
    const headers = await signRequest(
      { method: 'GET', url: new URL('https://abc.execute-api.eu-west-1.amazonaws.com/v1/requests'), headers: {} },
      { ...CREDENTIALS, sessionToken: 'TOKEN' },
      'eu-west-1',
    );
    expect(headers['x-amz-security-token']).toBe('TOKEN');
    expect(headers.authorization).toMatch(
      /Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token,/,
    );
  });
});
