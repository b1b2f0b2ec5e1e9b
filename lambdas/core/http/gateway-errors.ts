import type { ErrorCode } from '../domain/errors';

/**
 * The refusals the API gateway makes itself, before any handler runs, in the API's error format
 * (docs/design.md §4). One table for both gateways: lib/api-inputs.ts makes them API Gateway
 * `GatewayResponse`s, local/gateway.ts answers with the same status, code and message.
 *
 * What REST API Gateway cannot tell apart: an unsigned call to an AWS_IAM route and a call to a
 * route or method that does not exist are the same response type, MISSING_AUTHENTICATION_TOKEN.
 * Both are answered 401 UNAUTHENTICATED with a message naming both causes (local mode does the
 * same, and adds which one it was in `details.localMode`). A bad signature (INVALID_SIGNATURE) and
 * an expired one (EXPIRED_TOKEN) are 401 too; a signed caller the resource policy does not list
 * is 403 (ACCESS_DENIED).
 */
export interface GatewayError {
  status: number;
  code: ErrorCode;
  message: string;
}

const UNAUTHENTICATED = 'The call is not signed (AWS SigV4), or there is no such route or method';

export const GATEWAY_ERRORS = {
  MISSING_AUTHENTICATION_TOKEN: { status: 401, code: 'UNAUTHENTICATED', message: UNAUTHENTICATED },
  INVALID_SIGNATURE: { status: 401, code: 'UNAUTHENTICATED', message: 'The signature of the call is not valid' },
  EXPIRED_TOKEN: { status: 401, code: 'UNAUTHENTICATED', message: 'The signature or credentials of the call have expired' },
  UNAUTHORIZED: { status: 401, code: 'UNAUTHENTICATED', message: 'The caller could not be authenticated' },
  ACCESS_DENIED: { status: 403, code: 'FORBIDDEN', message: 'This principal may not call the Lockbox API' },
  WAF_FILTERED: { status: 403, code: 'FORBIDDEN', message: 'The request was refused' },
  RESOURCE_NOT_FOUND: { status: 404, code: 'NOT_FOUND', message: 'No such route' },
  BAD_REQUEST_BODY: { status: 400, code: 'VALIDATION_FAILED', message: 'The body is not valid' },
  BAD_REQUEST_PARAMETERS: { status: 400, code: 'VALIDATION_FAILED', message: 'The request parameters are not valid' },
  REQUEST_TOO_LARGE: { status: 413, code: 'VALIDATION_FAILED', message: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'The content type is not supported' },
  THROTTLED: { status: 429, code: 'THROTTLED', message: 'Too many requests; retry after a second' },
  QUOTA_EXCEEDED: { status: 429, code: 'THROTTLED', message: 'Too many requests; retry later' },
  DEFAULT_4XX: { status: 400, code: 'VALIDATION_FAILED', message: 'The request was refused' },
  INTEGRATION_TIMEOUT: { status: 504, code: 'INTERNAL', message: 'Lockbox did not answer in time; read the request again before retrying' },
  DEFAULT_5XX: { status: 500, code: 'INTERNAL', message: 'Something went wrong on our side. Try again later.' },
} as const satisfies Record<string, GatewayError>;

export type GatewayErrorType = keyof typeof GATEWAY_ERRORS;

/** Headers too large: only local mode answers this itself (API Gateway's own limit answers before any of the above). */
export const HEADERS_TOO_LARGE: GatewayError = { status: 431, code: 'VALIDATION_FAILED', message: 'The request headers are too large' };

/** Seconds a throttled caller should wait (the `Retry-After` of 429s and 503s). */
export const RETRY_AFTER_SECONDS = 1;

/** The body of a gateway refusal. */
export const gatewayErrorBody = (error: GatewayError, details?: Record<string, unknown>): string =>
  JSON.stringify({ error: { code: error.code, message: error.message, ...(details ? { details } : {}) } });
