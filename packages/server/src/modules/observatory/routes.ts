import {
  Envelope,
  Execution,
  ExecutionsQuery,
  IngestLogs,
  IngestResult,
  LOG_BODY_MAX,
  LOG_LEVELS,
  LogRecord,
  LogSettings,
  LogStreamQuery,
  LogsQuery,
  PutLogSettings,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import { type SseStream, openSse, sseEvent } from '../../platform/http/sse.js';
import { rfc3339 } from '../../platform/time.js';
import type { EffectiveSettings, ObservatoryService } from './service.js';
import type { ExecutionRow, NewRecord, StoredRecord } from './store.js';
import type { Tail } from './tail.js';
import { SEVERITY, filterOf, headerContext, toLogRecord } from './wire.js';

const read = { auth: { scopes: ['logs:read'] } };
const write = { auth: { scopes: ['logs:write'] } };
const admin = { auth: { scopes: ['logs:admin'] } };
const tags = ['Observatory'];

export interface TailOptions {
  heartbeatMs: number;
  maxBufferedBytes: number;
}

const toExecution = (e: ExecutionRow): Execution => ({
  execution_id: e.executionId,
  session_id: e.sessionId,
  workflow_id: e.workflowId,
  first_time: rfc3339(e.firstTime),
  last_time: rfc3339(e.lastTime),
  counts: Object.fromEntries(LOG_LEVELS.map((l, i) => [l, e.counts[i]])) as Execution['counts'],
  records: e.counts.reduce((a, b) => a + b, 0),
  status: e.counts[4] + e.counts[5] > 0 ? 'failed' : 'ok',
});

const toSettings = (s: EffectiveSettings): LogSettings => ({ retention_days: s.retentionDays, quota_records_per_minute: s.quotaPerMinute });

/** Ship, query and tail log records; the executions they belong to; the tenant's log settings. */
export function observatoryRoutes(app: LoamApp, logs: ObservatoryService, tail: TailOptions): void {
  app.post(
    '/api/v1/logs',
    {
      config: write,
      bodyLimit: LOG_BODY_MAX,
      schema: {
        tags,
        summary: 'Ship a batch of log records (≤ 5,000, ≤ 1 MiB); context from X-Loam-* / traceparent headers or each record',
        body: IngestLogs,
        response: { 202: Envelope(IngestResult) },
      },
    },
    async (request, reply) => {
      const h = headerContext(request);
      const records: NewRecord[] = request.body.records.map((r) => {
        const traceId = r.trace_id ?? h.traceId ?? null;
        return {
          time: r.time === undefined ? -1 : Date.parse(r.time),
          severity: SEVERITY[r.level],
          message: r.message,
          attributes: r.attributes ? JSON.stringify(r.attributes) : '{}',
          executionId: r.execution_id ?? h.executionId ?? traceId,
          sessionId: r.session_id ?? h.sessionId ?? null,
          workflowId: r.workflow_id ?? h.workflowId ?? null,
          traceId,
          spanId: r.span_id ?? h.spanId ?? null,
          kind: 'log',
        };
      });
      const accepted = await logs.ingest(contextOf(request), 'api', records);
      return sendEnvelope(request, reply, { accepted }, { status: 202 });
    },
  );

  app.get(
    '/api/v1/logs',
    {
      config: read,
      schema: {
        tags,
        summary: 'Log records by execution, session, level (or worse), words, time and `attr.<key>=value`; cursor pages',
        querystring: LogsQuery,
        response: { 200: Envelope(Type.Array(LogRecord)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await logs.query(
        contextOf(request),
        filterOf(request.query),
        request.query.order ?? 'asc',
        request.query,
      );
      return sendEnvelope(request, reply, items.map(toLogRecord), { pagination });
    },
  );

  app.get(
    '/api/v1/executions',
    {
      config: read,
      schema: {
        tags,
        summary: 'Executions, most recently active first: first and last time, records per level, status',
        querystring: ExecutionsQuery,
        response: { 200: Envelope(Type.Array(Execution)) },
      },
    },
    async (request, reply) => {
      const { session_id, workflow_id, status } = request.query;
      const filter = { sessionId: session_id, workflowId: workflow_id, failed: status === undefined ? undefined : status === 'failed' };
      const { items, pagination } = await logs.executions(contextOf(request), filter, request.query);
      return sendEnvelope(request, reply, items.map(toExecution), { pagination });
    },
  );

  app.get(
    '/api/v1/logs/stream',
    {
      config: read,
      schema: {
        tags,
        summary: 'Live tail (SSE): `ready`, then a `log` event per matching record stored from then on',
        querystring: LogStreamQuery,
      },
    },
    async (request, reply) => {
      let sse: SseStream | undefined;
      let ready = false;
      const held: StoredRecord[][] = [];
      const send = (batch: StoredRecord[]) => {
        let out = '';
        for (const r of batch) out += sseEvent('log', JSON.stringify(toLogRecord(r)), String(r.seq));
        sse?.write(out);
      };
      const subscription = await logs.subscribe(contextOf(request), filterOf(request.query), (batch) => {
        if (ready) send(batch);
        else held.push(batch);
      });
      sse = openSse(reply, tail);
      sse.onEnd(() => subscription.close());
      sse.write(sseEvent('ready', JSON.stringify({ filters: request.query })));
      ready = true;
      for (const batch of held) send(batch);
    },
  );

  app.get(
    '/api/v1/logs/settings',
    { config: read, schema: { tags, summary: "The tenant's log retention and ingest quota", response: { 200: Envelope(LogSettings) } } },
    async (request, reply) => sendEnvelope(request, reply, toSettings(await logs.settings(contextOf(request)))),
  );

  app.put(
    '/api/v1/logs/settings',
    {
      config: admin,
      schema: {
        tags,
        summary: "Set the tenant's log retention (days) and ingest quota",
        body: PutLogSettings,
        response: { 200: Envelope(LogSettings) },
      },
    },
    async (request, reply) => {
      const { retention_days, quota_records_per_minute } = request.body;
      const s = await logs.putSettings(contextOf(request), { retentionDays: retention_days, quotaPerMinute: quota_records_per_minute });
      return sendEnvelope(request, reply, toSettings(s));
    },
  );
}
