import { LOG_LEVELS, type LogLevelName, type LogRecord } from '@loam/api';
import type { FastifyRequest } from 'fastify';
import { badRequest } from '../../platform/errors.js';
import { rfc3339 } from '../../platform/time.js';
import { type LogFilter, type StoredRecord, levelIndex } from './store.js';

/** Severity number of each level (the lowest of its OpenTelemetry range). */
export const SEVERITY: Record<LogLevelName, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };
export const levelOf = (severity: number): LogLevelName => LOG_LEVELS[levelIndex(severity)];

const CONTEXT_ID = /^[A-Za-z0-9._:/@-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** The execution context a request carries in its headers. */
export interface HeaderContext {
  executionId?: string;
  sessionId?: string;
  workflowId?: string;
  traceId?: string;
  spanId?: string;
}

export function headerContext(request: FastifyRequest): HeaderContext {
  const one = (name: string): string | undefined => {
    const v = request.headers[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !CONTEXT_ID.test(v))
      throw badRequest(`The ${name} header is not a valid id (1-128 of A-Z a-z 0-9 . _ : / @ -)`);
    return v;
  };
  const ctx: HeaderContext = {
    executionId: one('x-loam-execution-id'),
    sessionId: one('x-loam-session-id'),
    workflowId: one('x-loam-workflow-id'),
  };
  const tp = request.headers.traceparent;
  const m = typeof tp === 'string' ? TRACEPARENT.exec(tp) : null;
  if (m && !/^0+$/.test(m[1])) {
    ctx.traceId = m[1];
    ctx.spanId = m[2];
  }
  return ctx;
}

export function toLogRecord(r: StoredRecord): LogRecord {
  return {
    id: String(r.seq),
    time: rfc3339(r.time),
    level: levelOf(r.severity),
    message: r.message,
    attributes: JSON.parse(r.attributes),
    execution_id: r.executionId,
    session_id: r.sessionId,
    workflow_id: r.workflowId,
    trace_id: r.traceId,
    span_id: r.spanId,
    source: r.source,
    kind: r.kind,
  };
}

/** The filters of a query string (`attr.<key>=value` included). */
export function filterOf(query: Record<string, unknown>): LogFilter {
  const str = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : undefined);
  const attributes: [string, string][] = [];
  for (const [k, v] of Object.entries(query)) {
    if (!k.startsWith('attr.')) continue;
    const key = k.slice(5);
    if (!key || key.length > 256 || typeof v !== 'string' || v.length > 1024)
      throw badRequest(`${k}: an attribute filter needs a key and one value of at most 1024 characters`);
    attributes.push([key, v]);
  }
  if (attributes.length > 10) throw badRequest('At most 10 attr.<key> filters');
  const level = str('level') as LogLevelName | undefined;
  const q = str('q');
  const time = (k: string) => {
    const v = str(k);
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw badRequest(`${k} is not an RFC 3339 time`);
    return ms;
  };
  const words = q?.split(/\s+/).filter(Boolean).slice(0, 10);
  return {
    executionId: str('execution_id'),
    sessionId: str('session_id'),
    workflowId: str('workflow_id'),
    traceId: str('trace_id'),
    kind: str('kind') as LogFilter['kind'],
    minSeverity: level ? SEVERITY[level] : undefined,
    words: words?.length ? words : undefined,
    attributes: attributes.length ? attributes : undefined,
    from: time('from'),
    to: time('to'),
  };
}
