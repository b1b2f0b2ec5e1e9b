/**
 * Domain errors. Business rules throw these; only the HTTP edge (`../http/errors.ts`) turns them
 * into responses, by class, in one place.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'THROTTLED'
  | 'INTERNAL';

export abstract class LockboxError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly statusCode: number;
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
  toJSON() {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export class ValidationError extends LockboxError {
  readonly code = 'VALIDATION_FAILED';
  readonly statusCode = 400;
}
export class UnauthenticatedError extends LockboxError {
  readonly code = 'UNAUTHENTICATED';
  readonly statusCode = 401;
}
export class ForbiddenError extends LockboxError {
  readonly code = 'FORBIDDEN';
  readonly statusCode = 403;
}
export class NotFoundError extends LockboxError {
  readonly code = 'NOT_FOUND';
  readonly statusCode = 404;
}
/** A body in a content type the route does not take (JSON routes: `application/json`). */
export class UnsupportedMediaTypeError extends LockboxError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  readonly statusCode = 415;
}
/** Wrong state, lost race or duplicate. Carries the request's current status when there is one. */
export class ConflictError extends LockboxError {
  readonly code = 'CONFLICT';
  readonly statusCode = 409;
}

/**
 * A conditional write found the request changed since it was read (a version bump, often benign:
 * a task token attached). Use cases re-read, re-check and try again (`withFreshRead`).
 */
export class ChangedMeanwhile extends ConflictError {}

/**
 * The store could not take the write in time (throttled, or its bounded retries ran out). Nothing
 * was committed and nothing will be: the client may retry after `retryAfterSeconds`.
 */
export class ThrottledError extends LockboxError {
  readonly code = 'THROTTLED';
  readonly statusCode = 503;
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, options);
  }
}
