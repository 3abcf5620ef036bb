import { context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

describeEachDialect('observatory OTLP/HTTP', (dialect) => {
  let t: TestLoam;
  let base: string;
  const api = apiCaller(() => t);
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 1000 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(() => t.close());

  it('stores what the OpenTelemetry logs exporter (OTLP/HTTP JSON) ships with an API key as bearer', async () => {
    const key = await keyHeaders(t, 'default', { scopes: ['logs:write'] });
    const exporter = new OTLPLogExporter({ url: `${base}/v1/logs`, headers: { authorization: `Bearer ${key['x-api-key']}` } });
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    const logger = provider.getLogger('otlp-test');
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: 'hello from otel',
      attributes: { 'loam.execution_id': 'otel-exec-1', user: 'ada' },
    });
    logger.emit({ severityNumber: SeverityNumber.ERROR, body: { structured: true }, attributes: { 'loam.execution_id': 'otel-exec-1' } });
    await provider.forceFlush();
    await provider.shutdown();
    const r = await api('GET', '/api/v1/logs?execution_id=otel-exec-1');
    expect(r.status).toBe(200);
    // The simple processor exports each record in its own request: they may arrive in either order.
    const records = r.json.data as { message: string; level: string }[];
    expect(records.map((x) => [x.level, x.message]).sort()).toEqual([
      ['error', '{"structured":true}'],
      ['info', 'hello from otel'],
    ]);
    expect(records.find((x) => x.level === 'info')).toMatchObject({
      source: 'otlp',
      kind: 'log',
      attributes: { user: 'ada', 'otel.scope.name': 'otlp-test' },
    });
  });

  it('stores the spans the trace exporter (OTLP/HTTP protobuf) ships, under loam.execution_id else the trace id', async () => {
    const exporter = new OTLPTraceExporter({ url: `${base}/v1/traces`, headers: { authorization: `Bearer ${t.adminKey}` } });
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer('otlp-trace-test');
    let traceId = '';
    const parent = tracer.startSpan('parent op');
    traceId = parent.spanContext().traceId;
    const child = tracer.startSpan(
      'child op',
      { attributes: { 'loam.execution_id': 'otel-exec-2', rows: 3 } },
      trace.setSpan(context.active(), parent),
    );
    child.setStatus({ code: 2, message: 'it broke' });
    child.end();
    parent.end();
    await provider.forceFlush();
    await provider.shutdown();
    const byTrace = await api('GET', `/api/v1/logs?trace_id=${traceId}&kind=span`);
    expect(byTrace.json.data.map((x: { message: string }) => x.message).sort()).toEqual(['child op', 'parent op']);
    const stored = byTrace.json.data.find((x: { message: string }) => x.message === 'parent op');
    expect(stored.execution_id).toBe(traceId);
    const shipped = (await api('GET', '/api/v1/logs?execution_id=otel-exec-2')).json.data[0];
    expect(shipped).toMatchObject({
      level: 'error',
      kind: 'span',
      trace_id: traceId,
      attributes: { rows: 3, 'span.status': 'error', 'span.status_message': 'it broke', 'span.parent_id': stored.span_id },
    });
    expect(shipped.attributes['span.duration_ms']).toBeGreaterThanOrEqual(0);
  });

  it('answers 400 to a body that is not OTLP, 401 without a key and 403 without logs:write', async () => {
    const garbage = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0x0a, 0x05, 0x01]),
    });
    expect(garbage.status).toBe(400);
    const json = await api('POST', '/v1/logs', '[1,2]', { 'content-type': 'application/json' });
    expect(json.status).toBe(400);
    const anonymous = await fetch(`${base}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    const reader = await keyHeaders(t, 'default', { scopes: ['logs:read'] });
    const denied = await api('POST', '/v1/logs', { resourceLogs: [] }, reader);
    expect(denied.status).toBe(403);
  });
});
