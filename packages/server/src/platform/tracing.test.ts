import { type Server, createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlp } from '../modules/observatory/otlp-proto.js';
import { type TestLoam, apiCaller, createTestLoam } from '../test/harness.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const traceparent = `00-${TRACE}-${PARENT}-01`;

describe('tracing off (no OTLP endpoint)', () => {
  let t: TestLoam;
  const api = apiCaller(() => t);
  beforeAll(async () => {
    t = await createTestLoam();
  });
  afterAll(() => t.close());

  it('loads no SDK, and a problem+json error still carries the incoming trace id', async () => {
    expect(t.loam.platform.tracing).toBeUndefined();
    const r = await api('GET', '/api/v1/logs?level=loud', undefined, { traceparent });
    expect(r.status).toBe(400);
    expect(r.json.trace_id).toBe(TRACE);
    expect((await api('GET', '/api/v1/logs?level=loud')).json.trace_id).toBeUndefined();
  });
});

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let t: TestLoam;
  let sink: Server;
  const bodies: Buffer[] = [];
  const api = apiCaller(() => t);
  beforeAll(async () => {
    sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;
    process.env.OTEL_TRACES_EXPORTER = 'otlp';
    process.env.OTEL_METRICS_EXPORTER = 'none';
    process.env.OTEL_LOGS_EXPORTER = 'none';
    t = await createTestLoam();
  });
  afterAll(async () => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_TRACES_EXPORTER;
    delete process.env.OTEL_METRICS_EXPORTER;
    delete process.env.OTEL_LOGS_EXPORTER;
    await t.close();
    sink.close();
  });

  it('continues the incoming traceparent: a server span under it, SQL spans under that, the trace id in problem+json', async () => {
    expect(t.loam.platform.tracing).toBeDefined();
    const ok = await api('POST', '/api/v1/logs', { records: [{ level: 'info', message: 'traced' }] }, { traceparent });
    expect(ok.status).toBe(202);
    const bad = await api('GET', '/api/v1/logs?level=loud', undefined, { traceparent });
    expect(bad.json.trace_id).toBe(TRACE);
    await t.loam.platform.tracing?.shutdown(); // flushes the batch
    const spans = bodies.flatMap((b) => {
      const req = decodeOtlp('traces', b) as { resourceSpans: { scopeSpans: { spans: Record<string, string>[] }[] }[] };
      return req.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    });
    const server = spans.find((s) => s.name === 'POST /api/v1/logs');
    expect(server).toMatchObject({ traceId: TRACE, parentSpanId: PARENT });
    const sql = spans.filter((s) => s.name === 'db.query' && s.parentSpanId === server?.spanId);
    expect(sql.length).toBeGreaterThan(0);
  });
});
