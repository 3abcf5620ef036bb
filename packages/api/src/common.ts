import { type Static, type TSchema, Type } from '@sinclair/typebox';

/** RFC 7807 problem details, the error shape of every `/api/v1` route. */
export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  instance: Type.String(),
  code: Type.String(),
  request_id: Type.String(),
  timestamp: Type.String(),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), code: Type.String(), message: Type.String() }))),
  retry_after: Type.Optional(Type.Integer()),
  trace_id: Type.Optional(Type.String({ description: 'The W3C trace id of the request (its traceparent, or the span Loam started)' })),
});
export type Problem = Static<typeof Problem>;

/** The error shape of every Atriumn-compatible route. */
export const AtriumnError = Type.Object({
  error: Type.String(),
  error_description: Type.String(),
  request_id: Type.Optional(Type.String()),
});
export type AtriumnError = Static<typeof AtriumnError>;

export const Pagination = Type.Object({
  cursor: Type.Optional(Type.String({ description: 'Pass as ?cursor= for the next page (links.next)' })),
  prev_cursor: Type.Optional(Type.String({ description: 'Pass as ?cursor= for the previous page (links.prev); absent on the first page' })),
  has_more: Type.Boolean(),
  page_size: Type.Integer(),
  total_count: Type.Optional(Type.Integer()),
});
export type Pagination = Static<typeof Pagination>;

/** The `/api/v1` success envelope around `data`. */
export const Envelope = <T extends TSchema>(data: T) =>
  Type.Object({
    request_id: Type.String(),
    timestamp: Type.String(),
    status: Type.Literal('success'),
    data,
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    links: Type.Optional(Type.Record(Type.String(), Type.String())),
    pagination: Type.Optional(Pagination),
  });
export interface EnvelopeOf<T> {
  request_id: string;
  timestamp: string;
  status: 'success';
  data: T;
  metadata?: Record<string, unknown>;
  links?: Record<string, string>;
  pagination?: Pagination;
}

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  count: Type.Optional(Type.Boolean()),
});
export type ListQuery = Static<typeof ListQuery>;

export const IdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }) });
export type IdParams = Static<typeof IdParams>;

/** RFC 3339 UTC timestamp, e.g. `2026-11-22T10:00:00Z`. */
export const Timestamp = Type.String({ format: 'date-time' });
