/** Base of every error the SDK throws, so `catch (e) { if (e instanceof LoamError) … }` catches them all. */
export class LoamError extends Error {
  override name = 'LoamError';
}

/** One invalid field of a request, as reported in a problem+json `errors` array. */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/**
 * The server answered with a non-2xx status. Loam speaks two error formats — RFC 7807
 * problem+json under `/api/v1` and `{error, error_description}` on Atriumn routes — and both
 * map to the same classes with the same fields.
 */
export class APIError extends LoamError {
  override name = 'APIError';
  constructor(
    /** HTTP status, e.g. 404. */
    readonly status: number,
    /** Machine-readable code, e.g. `not_found`, `validation_error`, `invalid_client`. */
    readonly code: string,
    /** Human-readable explanation from the server. */
    readonly detail: string,
    /** The server's request id (quote it when reporting a problem). */
    readonly requestId: string | undefined,
    readonly headers: Headers,
    /** Field-level errors (problem+json `errors`), empty when the server gave none. */
    readonly fields: FieldError[] = [],
    /** The decoded error body as the server sent it. */
    readonly body?: unknown,
  ) {
    super(`${status} ${code}: ${detail}${requestId ? ` (request ${requestId})` : ''}`);
  }

  /** Builds the right subclass from a status, a decoded body (either format) and the headers. */
  static from(status: number, body: unknown, headers: Headers): APIError {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const code = str(b.code) ?? str(b.error) ?? statusCode(status);
    const detail =
      str(b.detail) ?? str(b.error_description) ?? str(b.title) ?? (typeof body === 'string' && body ? body : `HTTP ${status}`);
    const requestId = str(b.request_id) ?? headers.get('x-request-id') ?? undefined;
    const fields = Array.isArray(b.errors) ? (b.errors as FieldError[]) : [];
    const Cls = errorClass(status, code, fields.length > 0);
    return new Cls(status, code, detail, requestId, headers, fields, body);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

function statusCode(status: number): string {
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'internal_error';
  return 'unknown_error';
}

function errorClass(status: number, code: string, hasFields: boolean): typeof APIError {
  if (status === 400 || status === 422) return hasFields || code === 'validation_error' ? ValidationError : BadRequestError;
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionDeniedError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return InternalServerError;
  return APIError;
}

/** 400 (or 422) without field errors: the request is malformed or not allowed in this state. */
export class BadRequestError extends APIError {
  override name = 'BadRequestError';
}
/** 400/422 `validation_error`: see `fields` for what is wrong where. */
export class ValidationError extends APIError {
  override name = 'ValidationError';
}
/** 401: missing, invalid, expired or revoked credentials. */
export class AuthenticationError extends APIError {
  override name = 'AuthenticationError';
}
/** 403: authenticated but not allowed (scope, role, policy, or another tenant's object). */
export class PermissionDeniedError extends APIError {
  override name = 'PermissionDeniedError';
}
/** 404: no such object (or it belongs to another tenant). */
export class NotFoundError extends APIError {
  override name = 'NotFoundError';
}
/** 409: the object exists already or its state forbids the change. */
export class ConflictError extends APIError {
  override name = 'ConflictError';
}
/** 429: too many requests; wait `retryAfter` seconds. */
export class RateLimitError extends APIError {
  override name = 'RateLimitError';
  /** Seconds the server asked to wait (`Retry-After` header, else the body's `retry_after`). */
  get retryAfter(): number | undefined {
    const header = parseRetryAfter(this.headers.get('retry-after'));
    if (header !== undefined) return Math.ceil(header / 1000);
    const b = this.body as { retry_after?: unknown } | undefined;
    return typeof b?.retry_after === 'number' ? b.retry_after : undefined;
  }
}
/** 5xx: the server failed; the SDK has already retried it `maxRetries` times. */
export class InternalServerError extends APIError {
  override name = 'InternalServerError';
}
/** The request never got an answer (DNS, refused connection, reset). */
export class APIConnectionError extends LoamError {
  override name = 'APIConnectionError';
}
/** No answer within `timeout` milliseconds. */
export class APITimeoutError extends APIConnectionError {
  override name = 'APITimeoutError';
}
/** The caller aborted the request through its `AbortSignal`. */
export class APIUserAbortError extends LoamError {
  override name = 'APIUserAbortError';
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
