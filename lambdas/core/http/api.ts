import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  LockboxError,
  NotFoundError,
  ThrottledError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../domain/errors';
import { logKeys, observed } from '../observability';
import type { Caller, Logger } from '../usecases/deps';
import * as z from '../zod';

/**
 * The HTTP edge shared by the API Lambdas: routing on API Gateway's `resource`, JSON parsing with
 * zod, the caller from `requestContext.identity`, and the ONE place that turns errors into
 * `{"error": {code, message, details}}` responses. Nothing internal reaches a caller.
 */
export interface HttpRequest {
  event: APIGatewayProxyEvent;
  /** Parses the JSON body with a schema; malformed JSON and schema failures are 400s. */
  body<T>(schema: z.ZodMiniType<T>): T;
  query<T>(schema: z.ZodMiniType<T>): T;
  path<T>(name: string, schema: z.ZodMiniType<T>): T;
  caller(): Caller;
}

export type Route = (request: HttpRequest) => Promise<APIGatewayProxyResult>;

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: JSON_HEADERS,
  body: JSON.stringify(body),
});

export function errorResponse(error: unknown, log: Logger): APIGatewayProxyResult {
  if (error instanceof ThrottledError) {
    // An operator's only clue to what was too slow: the cause is not in the client's answer.
    log.warn('answered 503: a service did not answer in time', { error: error.message, cause: describeError(error.cause) });
    const response = json(error.statusCode, { error: error.toJSON() });
    return { ...response, headers: { ...response.headers, 'retry-after': String(error.retryAfterSeconds) } };
  }
  if (error instanceof LockboxError) return json(error.statusCode, { error: error.toJSON() });
  if (isOverloaded(error)) {
    return errorResponse(new ThrottledError('Lockbox is busy; nothing was changed. Try again in a moment.', 1, { cause: error }), log);
  }
  if (error instanceof z.ZodError) return json(400, { error: validationError(error).toJSON() });
  log.error('unhandled error', { error: describeError(error) });
  return json(500, { error: { code: 'INTERNAL', message: 'Something went wrong on our side. Try again later.' } });
}

const describeError = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/**
 * An AWS service refused or timed out under load, after the SDK's bounded retries. Answered 503:
 * nothing was committed (a transaction cancelled by contention or throttling commits nothing; a
 * write whose outcome was unknown has been fenced by its store, see DynamoRequestStore).
 */
const OVERLOADED = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionInProgressException',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'TimeoutError',
]);
const isOverloaded = (error: unknown): boolean =>
  error instanceof Error &&
  (OVERLOADED.has(error.name) || (error.name === 'TransactionCanceledException' && String(error.message).includes('TransactionConflict')));

export const validationError = (error: z.ZodError): ValidationError =>
  new ValidationError('The request is not valid', {
    issues: error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  });

export function rawBody(event: APIGatewayProxyEvent): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

export function httpRequest(event: APIGatewayProxyEvent): HttpRequest {
  return {
    event,
    body(schema) {
      const raw = rawBody(event);
      requireContentType(event, 'application/json', raw !== '');
      let value: unknown = {};
      if (raw.trim() !== '') {
        try {
          value = JSON.parse(raw);
        } catch {
          throw new ValidationError('The body is not valid JSON');
        }
      }
      return parse(schema, value);
    },
    // Copied into a plain object (API Gateway's maps are; local mode's have no prototype); a name
    // such as `__proto__` becomes an own key the strict schema refuses, never a prototype.
    query: (schema) => parse(schema, Object.fromEntries(Object.entries(event.queryStringParameters ?? {}))),
    path(name, schema) {
      const parsed = schema.safeParse(event.pathParameters?.[name]);
      if (!parsed.success) throw new NotFoundError('Nothing here by that id');
      return parsed.data;
    },
    caller() {
      const principal = event.requestContext?.identity?.userArn;
      if (!principal) throw new UnauthenticatedError('The call is not signed by an AWS principal');
      return { principal, sourceIp: event.requestContext.identity.sourceIp ?? undefined };
    },
  };
}

/** A header's value, whatever the case of its name (HTTP names are case-insensitive). */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {}))
    if (key.toLowerCase() === wanted && typeof value === 'string') return value;
  return undefined;
}

/**
 * The body must come as `mediaType` (parameters such as `charset=utf-8` allowed): any other
 * declared type is 415, and so is a body with no type at all. An empty body may come without one
 * (`curl -X POST` of a cancel).
 */
export function requireContentType(event: APIGatewayProxyEvent, mediaType: string, hasBody: boolean): void {
  const declared = header(event, 'content-type');
  if (declared === undefined && !hasBody) return;
  const type = declared?.split(';')[0]?.trim().toLowerCase();
  if (type !== mediaType)
    throw new UnsupportedMediaTypeError(`The body must be ${mediaType}`, { contentType: declared?.slice(0, 100) ?? null });
}

function parse<T>(schema: z.ZodMiniType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

/** A Lambda serving `routes`, keyed `"METHOD /resource/{param}"` as API Gateway names them. */
export function apiHandler(routes: Record<string, Route>, log: Logger) {
  return observed<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .handler(async (event) => {
      logKeys({ callerKind: 'api', principal: event.requestContext?.identity?.userArn ?? undefined, ...idKeys(event) });
      const route = routes[`${event.httpMethod} ${event.resource}`];
      if (!route) throw new NotFoundError('No such route');
      const response = await route(httpRequest(event));
      log.info('answered', { route: `${event.httpMethod} ${event.resource}`, statusCode: response.statusCode });
      return response;
    })
    .onError(async (request) => {
      request.response = errorResponse(request.error, log);
      log.info('answered', { route: `${request.event.httpMethod} ${request.event.resource}`, statusCode: request.response.statusCode });
    });
}

/** The path's id as a log key, named for what it is (`/requests/{id}`, `/tenants/{id}`). */
function idKeys(event: APIGatewayProxyEvent): { requestId?: string; tenantId?: string } {
  const id = event.pathParameters?.id;
  if (!id) return {};
  return event.resource?.startsWith('/requests/') ? { requestId: id } : event.resource?.startsWith('/tenants/') ? { tenantId: id } : {};
}
