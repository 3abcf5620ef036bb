import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldError } from '../errors.js';
import { isApiV1, rfc3339 } from './context.js';
import { traceIdOf } from '../tracing.js';

const DEFAULT_CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'rate_limited',
  500: 'internal_error',
  503: 'service_unavailable',
};

const titleOf = (code: string) =>
  code
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldErrorsOf(validation: AjvError[]): FieldError[] {
  return validation.map((v) => {
    const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const missing = v.params.missingProperty as string | undefined;
    const extra = v.params.additionalProperty as string | undefined;
    const field = [base, missing ?? extra].filter(Boolean).join('.') || '(root)';
    const code =
      v.keyword === 'required'
        ? 'required_field_missing'
        : v.keyword === 'type'
          ? 'invalid_type'
          : v.keyword === 'additionalProperties'
            ? 'unknown_field'
            : ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems'].includes(
                  v.keyword,
                )
              ? 'out_of_range'
              : ['format', 'pattern'].includes(v.keyword)
                ? 'invalid_format'
                : 'invalid_value';
    return { field, code, message: `${field} ${v.message ?? 'is invalid'}` };
  });
}

/** Turns anything thrown while handling a request into an AppError (and says if it was unexpected). */
export function toAppError(error: unknown): { appError: AppError; unexpected: boolean } {
  if (error instanceof AppError) return { appError: error, unexpected: false };
  const fe = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe?.validation) {
    const fields = fieldErrorsOf(fe.validation);
    const context = fe.validationContext ?? 'body';
    const code = context === 'body' ? 'validation_error' : 'invalid_param';
    const detail = `Invalid ${context === 'querystring' ? 'query parameter' : context}: ${fields.map((f) => f.message).join('; ')}`;
    return { appError: new AppError(code, 400, detail, fields), unexpected: false };
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    let code = DEFAULT_CODES[status] ?? 'invalid_request';
    let detail = fe.message || titleOf(code);
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') detail = 'The request body is larger than the server accepts';
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      detail = `Unsupported Content-Type: ${fe.message.replace(/^Unsupported Media Type:?\s*/i, '')}`;
    if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') detail = 'The request body is empty but Content-Type says JSON';
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      code = 'invalid_request';
      detail = `Malformed request body: ${fe.message}`;
    }
    return { appError: new AppError(code, status, detail), unexpected: false };
  }
  return { appError: new AppError('internal_error', 500, 'An unexpected error occurred'), unexpected: true };
}

/**
 * Errors Fastify raises before routing (it calls them "framework errors"): a URL whose percent-
 * encoding is malformed, or a path parameter over the router's length limit. Their default
 * answers echo the whole URL in Fastify's own format; these speak the route family's.
 */
export function frameworkError(error: FastifyError): AppError {
  if (error.code === 'FST_ERR_BAD_URL') return new AppError('invalid_request', 400, 'The URL is not validly percent-encoded');
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
    return new AppError('uri_too_long', 414, `A path segment is longer than ${MAX_PARAM_LENGTH} characters`);
  return new AppError('internal_error', 500, 'An unexpected error occurred');
}

/** The router's longest path parameter (Fastify answers 414 beyond it). */
export const MAX_PARAM_LENGTH = 500;

// Error texts may quote what the client sent; a quote is cut here, so that no answer (nor log line)
// grows with the input.
const MAX_DETAIL = 1_000;
const MAX_FIELD = 200;
const MAX_FIELD_ERRORS = 50;
const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}… (truncated)`);

function bounded(error: AppError): { detail: string; fields?: FieldError[] } {
  return {
    detail: cut(error.detail, MAX_DETAIL),
    fields: error.fields
      ?.slice(0, MAX_FIELD_ERRORS)
      .map((f) => ({ field: cut(f.field, MAX_FIELD), code: f.code, message: cut(f.message, MAX_FIELD * 2) })),
  };
}

/** Sends `error` in the family's format: problem+json under /api/v1, Atriumn's pair elsewhere. */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError) {
  const requestId = String(request.id);
  const { detail, fields } = bounded(error);
  if (error.headers) reply.headers(error.headers);
  reply.code(error.status);
  if (isApiV1(request.url)) {
    const body: Record<string, unknown> = {
      type: `https://loam.dev/errors/${error.code.replaceAll('_', '-')}`,
      title: titleOf(error.code),
      status: error.status,
      detail,
      instance: cut(request.url.split('?')[0], MAX_FIELD),
      code: error.code,
      request_id: requestId,
      ...traceField(request),
      timestamp: rfc3339(Date.now()),
      ...(fields?.length ? { errors: fields } : {}),
      ...error.extra,
    };
    return reply.type('application/problem+json').serializer(JSON.stringify).send(body);
  }
  return reply
    .type('application/json')
    .serializer(JSON.stringify)
    .send({ error: error.code, error_description: detail, request_id: requestId, ...error.extra });
}

/** `trace_id` of the request's trace (its span, or the `traceparent` it came with), when it has one. */
function traceField(request: FastifyRequest): { trace_id?: string } {
  const traceId = traceIdOf(request.headers.traceparent, request.span);
  return traceId ? { trace_id: traceId } : {};
}
