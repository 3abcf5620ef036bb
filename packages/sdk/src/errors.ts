/** Base of every error the SDK throws. */
export class LoamError extends Error {
  override name = 'LoamError';
}

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/** The server answered with a non-2xx status; both error formats (problem+json, Atriumn) map here. */
export class APIError extends LoamError {
  override name = 'APIError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly requestId: string | undefined,
    readonly headers: Headers,
    readonly fields: FieldError[] = [],
  ) {
    super(`${status} ${code}: ${detail}`);
  }

  static from(status: number, body: unknown, headers: Headers): APIError {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const code = String(b.code ?? b.error ?? 'unknown_error');
    const detail = String(b.detail ?? b.error_description ?? b.title ?? `HTTP ${status}`);
    const requestId = (b.request_id as string | undefined) ?? headers.get('x-request-id') ?? undefined;
    const fields = Array.isArray(b.errors) ? (b.errors as FieldError[]) : [];
    const Cls =
      status === 400 || status === 422
        ? fields.length
          ? ValidationError
          : BadRequestError
        : status === 401
          ? AuthenticationError
          : status === 403
            ? PermissionDeniedError
            : status === 404
              ? NotFoundError
              : status === 409
                ? ConflictError
                : status === 429
                  ? RateLimitError
                  : status >= 500
                    ? InternalServerError
                    : APIError;
    return new Cls(status, code, detail, requestId, headers, fields);
  }
}
export class BadRequestError extends APIError {
  override name = 'BadRequestError';
}
export class ValidationError extends APIError {
  override name = 'ValidationError';
}
export class AuthenticationError extends APIError {
  override name = 'AuthenticationError';
}
export class PermissionDeniedError extends APIError {
  override name = 'PermissionDeniedError';
}
export class NotFoundError extends APIError {
  override name = 'NotFoundError';
}
export class ConflictError extends APIError {
  override name = 'ConflictError';
}
export class RateLimitError extends APIError {
  override name = 'RateLimitError';
  /** Seconds the server asked to wait, from `Retry-After`. */
  get retryAfter(): number | undefined {
    const v = this.headers.get('retry-after');
    return v ? Number(v) : undefined;
  }
}
export class InternalServerError extends APIError {
  override name = 'InternalServerError';
}
/** The request never got an answer (DNS, refused connection, reset). */
export class APIConnectionError extends LoamError {
  override name = 'APIConnectionError';
}
export class APITimeoutError extends APIConnectionError {
  override name = 'APITimeoutError';
}
