export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/**
 * The one error type services throw. The HTTP layer renders it in the route family's format:
 * problem+json under /api/v1, `{error, error_description}` on the Atriumn routes.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly detail: string,
    readonly fields?: FieldError[],
    readonly headers?: Record<string, string>,
    readonly extra?: Record<string, unknown>,
  ) {
    super(detail);
    this.name = 'AppError';
  }
}

export const badRequest = (detail: string, fields?: FieldError[]) => new AppError('validation_error', 400, detail, fields);
export const notFound = (what = 'Resource') => new AppError('not_found', 404, `${what} not found`);
export const conflict = (detail: string) => new AppError('conflict', 409, detail);
export const forbidden = (detail = 'Access denied') => new AppError('forbidden', 403, detail);
export const unauthorized = (detail = 'Missing or invalid credentials') =>
  new AppError('unauthorized', 401, detail, undefined, { 'www-authenticate': 'Bearer' });
