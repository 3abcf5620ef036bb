import { type Static, Type } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/** Log levels, least to most severe; a query's `level` means that level or worse. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const LogLevel = Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)));

/** Largest batch of `POST /api/v1/logs`, in records (the body is limited to 1 MiB as well). */
export const LOG_BATCH_MAX = 5000;
export const LOG_BODY_MAX = 1024 * 1024;

const ContextId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:/@-]+$' });

/** One log record as a client ships it; missing context fields come from the request's headers. */
export const LogRecordIn = Type.Object(
  {
    time: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339; the time it was received when absent' })),
    level: LogLevel,
    message: Type.String({ maxLength: 65_536 }),
    attributes: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.Unknown())),
    execution_id: Type.Optional(ContextId),
    session_id: Type.Optional(ContextId),
    workflow_id: Type.Optional(ContextId),
    trace_id: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' })),
    span_id: Type.Optional(Type.String({ pattern: '^[0-9a-f]{16}$' })),
  },
  { additionalProperties: false },
);
export type LogRecordIn = Static<typeof LogRecordIn>;

export const IngestLogs = Type.Object(
  { records: Type.Array(LogRecordIn, { minItems: 1, maxItems: LOG_BATCH_MAX }) },
  { additionalProperties: false },
);
export type IngestLogs = Static<typeof IngestLogs>;

export const IngestResult = Type.Object({ accepted: Type.Integer() });
export type IngestResult = Static<typeof IngestResult>;

/** A stored log record. */
export const LogRecord = Type.Object({
  id: Type.String({ description: 'Increases with each record stored' }),
  time: Timestamp,
  level: LogLevel,
  message: Type.String(),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  execution_id: Type.Union([Type.String(), Type.Null()]),
  session_id: Type.Union([Type.String(), Type.Null()]),
  workflow_id: Type.Union([Type.String(), Type.Null()]),
  trace_id: Type.Union([Type.String(), Type.Null()]),
  span_id: Type.Union([Type.String(), Type.Null()]),
  source: Type.Union([Type.Literal('api'), Type.Literal('otlp'), Type.Literal('loam')], {
    description: '`loam`: written by Loam itself (each call of the LLM gateway, as the execution that made it)',
  }),
  kind: Type.Union([Type.Literal('log'), Type.Literal('span')], {
    description: '`span`: an OpenTelemetry span (name as message; start, end, duration_ms, parent, status in attributes)',
  }),
});
export type LogRecord = Static<typeof LogRecord>;

/** The filters of a log query and of the live tail; `attr.<key>=value` matches an attribute too. */
const LogFilters = {
  execution_id: Type.Optional(ContextId),
  session_id: Type.Optional(ContextId),
  workflow_id: Type.Optional(ContextId),
  trace_id: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' })),
  level: Type.Optional(LogLevel),
  kind: Type.Optional(Type.Union([Type.Literal('log'), Type.Literal('span')])),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Words the message contains (all of them, any case)' })),
};

export const LogsQuery = Type.Object({
  ...LogFilters,
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 128 })),
});
export type LogsQuery = Static<typeof LogsQuery>;

export const LogStreamQuery = Type.Object(LogFilters);
export type LogStreamQuery = Static<typeof LogStreamQuery>;

/** One execution: the span of its records and how many of each level. */
export const Execution = Type.Object({
  execution_id: Type.String(),
  session_id: Type.Union([Type.String(), Type.Null()]),
  workflow_id: Type.Union([Type.String(), Type.Null()]),
  first_time: Timestamp,
  last_time: Timestamp,
  counts: Type.Record(LogLevel, Type.Integer()),
  records: Type.Integer(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('failed')], { description: '`failed` once a record at error or worse arrived' }),
});
export type Execution = Static<typeof Execution>;

export const ExecutionsQuery = Type.Object({
  session_id: Type.Optional(ContextId),
  workflow_id: Type.Optional(ContextId),
  status: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('failed')])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 256 })),
});
export type ExecutionsQuery = Static<typeof ExecutionsQuery>;

/** A tenant's log settings. */
export const LogSettings = Type.Object({
  retention_days: Type.Integer({ minimum: 1, maximum: 3650 }),
  quota_records_per_minute: Type.Integer({ minimum: 1, description: 'Records a tenant may ship per minute (429 beyond)' }),
});
export type LogSettings = Static<typeof LogSettings>;

export const PutLogSettings = Type.Object(
  {
    retention_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    quota_records_per_minute: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
  },
  { additionalProperties: false },
);
export type PutLogSettings = Static<typeof PutLogSettings>;
