import { AppError, badRequest } from '../../platform/errors.js';
import { contextOf } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import { decodeOtlp } from './otlp-proto.js';
import type { ObservatoryService } from './service.js';
import type { NewRecord } from './store.js';

/** OTLP requests are larger than Loam's own batches (an exporter's default batch is 512 items). */
const OTLP_BODY_MAX = 4 * 1024 * 1024;
const OTLP_ITEMS_MAX = 10_000;
const PROTOBUF = 'application/x-protobuf';

type Json = Record<string, unknown>;
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}

/** An OTLP AnyValue as plain JSON (64-bit integers beyond 2^53 stay strings). */
export function anyValue(v: AnyValue | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : String(v.intValue);
  }
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue) return attributes(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

function attributes(list: KeyValue[] | undefined): Json {
  const out: Json = {};
  for (const kv of list ?? []) if (typeof kv?.key === 'string') out[kv.key] = anyValue(kv.value);
  return out;
}

/** Nanoseconds since the epoch (string or number) to milliseconds; 0 when absent. */
const nanosToMs = (n: unknown): number => {
  if (n === undefined || n === null || n === '' || n === 0 || n === '0') return 0;
  try {
    return Number(BigInt(String(n)) / 1_000_000n);
  } catch {
    throw badRequest('A timeUnixNano is not an integer');
  }
};

const hexId = (v: unknown, length: number): string | null =>
  typeof v === 'string' && v.length === length && /^[0-9a-f]+$/i.test(v) && !/^0+$/.test(v) ? v.toLowerCase() : null;

const idOf = (v: unknown): string | null => (typeof v === 'string' && /^[A-Za-z0-9._:/@-]{1,128}$/.test(v) ? v : null);

/** The execution context of an item: `loam.*` attributes of the item, else of its resource, else the trace. */
function context(attrs: Json, resource: Json, traceId: string | null) {
  const pick = (key: string) => idOf(attrs[key]) ?? idOf(resource[key]);
  return {
    executionId: pick('loam.execution_id') ?? traceId,
    sessionId: pick('loam.session_id'),
    workflowId: pick('loam.workflow_id'),
  };
}

/** OpenTelemetry severity text when the number is unspecified. */
const SEVERITY_TEXT: Record<string, number> = { trace: 1, debug: 5, info: 9, warn: 13, warning: 13, error: 17, fatal: 21, critical: 21 };

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** The records of an OTLP logs export request (JSON shape). */
export function logsToRecords(body: unknown, now: number): NewRecord[] {
  const out: NewRecord[] = [];
  for (const rl of list<Json>((body as Json)?.resourceLogs)) {
    const resource = attributes(list<KeyValue>((rl.resource as Json | undefined)?.attributes));
    for (const sl of list<Json>(rl.scopeLogs)) {
      const scope = (sl.scope as Json | undefined)?.name;
      for (const lr of list<Json>(sl.logRecords)) {
        const own = attributes(list<KeyValue>(lr.attributes));
        const traceId = hexId(lr.traceId, 32);
        const body = anyValue(lr.body as AnyValue | undefined);
        const number = Number(lr.severityNumber ?? 0);
        const severity = number >= 1 && number <= 24 ? number : (SEVERITY_TEXT[String(lr.severityText ?? '').toLowerCase()] ?? 9);
        out.push({
          time: nanosToMs(lr.timeUnixNano) || nanosToMs(lr.observedTimeUnixNano) || now,
          severity,
          message: typeof body === 'string' ? body : body === null ? '' : JSON.stringify(body),
          attributes: JSON.stringify({ ...resource, ...(typeof scope === 'string' && scope ? { 'otel.scope.name': scope } : {}), ...own }),
          ...context(own, resource, traceId),
          traceId,
          spanId: hexId(lr.spanId, 16),
          kind: 'log',
        });
        if (out.length > OTLP_ITEMS_MAX) throw tooMany();
      }
    }
  }
  return out;
}

/** The spans of an OTLP trace export request (JSON shape), one record each. */
export function spansToRecords(body: unknown, now: number): NewRecord[] {
  const out: NewRecord[] = [];
  for (const rs of list<Json>((body as Json)?.resourceSpans)) {
    const resource = attributes(list<KeyValue>((rs.resource as Json | undefined)?.attributes));
    for (const ss of list<Json>(rs.scopeSpans)) {
      const scope = (ss.scope as Json | undefined)?.name;
      for (const span of list<Json>(ss.spans)) {
        const own = attributes(list<KeyValue>(span.attributes));
        const traceId = hexId(span.traceId, 32);
        const start = nanosToMs(span.startTimeUnixNano) || now;
        const end = nanosToMs(span.endTimeUnixNano) || start;
        const status = (span.status as Json | undefined) ?? {};
        const code = Number(status.code ?? 0);
        const events = list<Json>(span.events).map((e) => ({
          name: e.name,
          time: nanosToMs(e.timeUnixNano),
          attributes: attributes(list<KeyValue>(e.attributes)),
        }));
        out.push({
          time: start,
          severity: code === 2 ? 17 : 9,
          message: typeof span.name === 'string' ? span.name : '',
          attributes: JSON.stringify({
            ...resource,
            ...(typeof scope === 'string' && scope ? { 'otel.scope.name': scope } : {}),
            ...own,
            'span.kind': Number(span.kind ?? 0),
            'span.parent_id': hexId(span.parentSpanId, 16),
            'span.start': start,
            'span.end': end,
            'span.duration_ms': Math.max(0, end - start),
            'span.status': code === 2 ? 'error' : code === 1 ? 'ok' : 'unset',
            ...(status.message ? { 'span.status_message': status.message } : {}),
            ...(events.length ? { 'span.events': events } : {}),
          }),
          ...context(own, resource, traceId),
          traceId,
          spanId: hexId(span.spanId, 16),
          kind: 'span',
        });
        if (out.length > OTLP_ITEMS_MAX) throw tooMany();
      }
    }
  }
  return out;
}

const tooMany = () => new AppError('payload_too_large', 413, `An OTLP request carries at most ${OTLP_ITEMS_MAX} log records or spans`);

/**
 * OTLP/HTTP receivers (`/v1/logs`, `/v1/traces`, JSON or protobuf) so any OpenTelemetry SDK or
 * Collector ships to Loam with an API key as bearer token.
 */
export async function otlpRoutes(app: LoamApp, logs: ObservatoryService): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser(PROTOBUF, { parseAs: 'buffer', bodyLimit: OTLP_BODY_MAX }, (_req, body, done) => done(null, body));
    for (const kind of ['logs', 'traces'] as const) {
      scope.post(
        `/v1/${kind}`,
        {
          config: { auth: { scopes: ['logs:write'] } },
          bodyLimit: OTLP_BODY_MAX,
          schema: {
            tags: ['Observatory'],
            summary: `OTLP/HTTP ${kind} receiver (application/json or application/x-protobuf); \`loam.execution_id\` names the execution, else the trace id`,
          },
        },
        async (request, reply) => {
          const isProto = String(request.headers['content-type'] ?? '').startsWith(PROTOBUF);
          let body: unknown = request.body;
          if (isProto) {
            try {
              body = decodeOtlp(kind, request.body as Buffer);
            } catch {
              throw badRequest('The body is not an OTLP protobuf export request');
            }
          }
          if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('The body is not an OTLP export request');
          const now = Date.now();
          const records = kind === 'logs' ? logsToRecords(body, now) : spansToRecords(body, now);
          await logs.ingest(contextOf(request), 'otlp', records);
          // An empty Export*ServiceResponse: full success.
          if (isProto) return reply.code(200).header('content-type', PROTOBUF).send(Buffer.alloc(0));
          return reply.code(200).send({});
        },
      );
    }
  });
}
