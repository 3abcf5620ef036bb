import { type Span, SpanKind, SpanStatusCode, type Tracer, context, propagation, trace } from '@opentelemetry/api';
import type { LogEvent } from 'kysely';

/**
 * Loam's own traces: the OpenTelemetry Node SDK, started only when an OTLP endpoint is configured
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; the SDK reads the other
 * `OTEL_*` variables). Without one nothing is loaded and no hook is installed: tracing costs nothing.
 */
export interface Tracing {
  readonly tracer: Tracer;
  /** Ends an HTTP server span for a request (continuing its `traceparent`); `finish` records the status. */
  startRequest(method: string, route: string, headers: Record<string, unknown>): { span: Span; run<T>(fn: () => T): T };
  /** Runs a job handler in a span of its own. */
  job<T>(kind: string, id: string, fn: () => Promise<T>): Promise<T>;
  /** Records a finished SQL statement (Kysely's query log) as a span of the current trace. */
  query(event: LogEvent): void;
  shutdown(): Promise<void>;
}

export const tracingConfigured = (env: NodeJS.ProcessEnv = process.env): boolean =>
  Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== 'true';

export async function startTracing(version: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!tracingConfigured(env)) return undefined;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  // Traces only: Loam's metrics are Prometheus (`/metrics`) and its logs JSON lines.
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || 'loam',
    instrumentations: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const tracer = trace.getTracer('loam', version);
  return {
    tracer,
    startRequest(method, route, headers) {
      const parent = propagation.extract(context.active(), headers);
      const span = tracer.startSpan(
        `${method} ${route}`,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } },
        parent,
      );
      const ctx = trace.setSpan(parent, span);
      return { span, run: (fn) => context.with(ctx, fn) };
    },
    job(kind, id, fn) {
      return tracer.startActiveSpan(`job ${kind}`, { attributes: { 'loam.job.kind': kind, 'loam.job.id': id } }, async (span) => {
        try {
          return await fn();
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      });
    },
    query(event) {
      if (!trace.getSpan(context.active())) return; // only within a request or job
      const end = Date.now();
      const span = tracer.startSpan('db.query', {
        kind: SpanKind.CLIENT,
        startTime: end - event.queryDurationMillis,
        attributes: { 'db.query.text': event.query.sql.slice(0, 2000) },
      });
      if (event.level === 'error')
        span.setStatus({ code: SpanStatusCode.ERROR, message: String((event.error as Error)?.message ?? event.error) });
      span.end(end);
    },
    shutdown: () => sdk.shutdown(),
  };
}

export function endRequestSpan(span: Span, status: number, route: string | undefined): void {
  span.setAttribute('http.response.status_code', status);
  if (route) span.setAttribute('http.route', route);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id a request belongs to: its span's when tracing is on, else its `traceparent`'s. */
export function traceIdOf(traceparent: unknown, span?: Span): string | undefined {
  if (span) return span.spanContext().traceId;
  if (typeof traceparent !== 'string') return undefined;
  const m = TRACEPARENT.exec(traceparent);
  return m && !/^0+$/.test(m[1]) ? m[1] : undefined;
}
