import { LogSink, Loam, parseSSE } from '@loam/sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, ManualClock, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

const rec = (level: string, message: string, extra: Record<string, unknown> = {}) => ({ level, message, ...extra });

describeEachDialect('observatory', (dialect) => {
  let t: TestLoam;
  let base: string;
  const clock = new ManualClock(Date.now());
  const api = apiCaller(() => t);
  beforeAll(async () => {
    t = await createTestLoam({ dialect, clock, config: { rateLimitMultiplier: 1000, busHeartbeatMs: 50 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(() => t.close());

  const ship = (records: unknown[], headers: Record<string, string> = {}) => api('POST', '/api/v1/logs', { records }, headers);

  it('takes the execution context from headers and traceparent, and each record may name its own', async () => {
    const r = await ship([rec('info', 'started'), rec('warn', 'slow step', { execution_id: 'exec-other', attributes: { step: 2 } })], {
      'x-loam-execution-id': 'exec-h1',
      'x-loam-session-id': 'sess-1',
      'x-loam-workflow-id': 'wf-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(r.status).toBe(202);
    expect(r.json.data).toEqual({ accepted: 2 });
    const own = await api('GET', '/api/v1/logs?execution_id=exec-h1');
    expect(own.json.data).toHaveLength(1);
    expect(own.json.data[0]).toMatchObject({
      level: 'info',
      message: 'started',
      session_id: 'sess-1',
      workflow_id: 'wf-1',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
      source: 'api',
      kind: 'log',
    });
    const other = await api('GET', '/api/v1/logs?execution_id=exec-other');
    expect(other.json.data.map((x: { message: string }) => x.message)).toEqual(['slow step']);
    // Without an execution id, the trace id names the execution.
    await ship([rec('info', 'traced only')], { traceparent: '00-11111111111111111111111111111111-2222222222222222-01' });
    const traced = await api('GET', '/api/v1/logs?execution_id=11111111111111111111111111111111');
    expect(traced.json.data[0].message).toBe('traced only');
  });

  it('filters by level (that level or worse), words, attributes and time, and pages with a cursor', async () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const records = Array.from({ length: 25 }, (_, i) =>
      rec(['debug', 'info', 'warn', 'error', 'fatal'][i % 5], `item ${i} ${i % 2 ? 'Payment FAILED' : 'ok'}`, {
        time: new Date(t0 + i * 1000).toISOString(),
        attributes: { region: i % 3 === 0 ? 'eu' : 'us', n: i },
      }),
    );
    expect((await ship(records, { 'x-loam-execution-id': 'exec-q' })).status).toBe(202);
    const levels = await api('GET', '/api/v1/logs?execution_id=exec-q&level=error&limit=100');
    expect(levels.json.data.map((x: { level: string }) => x.level)).toEqual(records.filter((_, i) => i % 5 >= 3).map((r) => r.level));
    const words = await api('GET', '/api/v1/logs?execution_id=exec-q&q=payment%20failed');
    expect(words.json.data).toHaveLength(12);
    const attr = await api('GET', '/api/v1/logs?execution_id=exec-q&attr.region=eu');
    expect(attr.json.data.map((x: { attributes: { n: number } }) => x.attributes.n)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24]);
    const numeric = await api('GET', '/api/v1/logs?execution_id=exec-q&attr.n=7');
    expect(numeric.json.data.map((x: { message: string }) => x.message)).toEqual(['item 7 Payment FAILED']);
    const window = await api(
      'GET',
      `/api/v1/logs?execution_id=exec-q&from=${new Date(t0 + 5000).toISOString()}&to=${new Date(t0 + 8000).toISOString()}`,
    );
    expect(window.json.data.map((x: { attributes: { n: number } }) => x.attributes.n)).toEqual([5, 6, 7]);

    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await api('GET', `/api/v1/logs?execution_id=exec-q&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.json.data.map((x: { attributes: { n: number } }) => x.attributes.n));
      cursor = page.json.pagination.cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const desc = await api('GET', '/api/v1/logs?execution_id=exec-q&order=desc&limit=3');
    expect(desc.json.data.map((x: { attributes: { n: number } }) => x.attributes.n)).toEqual([24, 23, 22]);
    expect((await api('GET', '/api/v1/logs?cursor=nonsense')).status).toBe(400);
  });

  it('lists executions with first and last time, counts per level and status', async () => {
    await ship([rec('info', 'a', { time: '2026-02-01T00:00:00Z' }), rec('info', 'b', { time: '2026-02-01T00:00:05Z' })], {
      'x-loam-execution-id': 'exec-ok',
      'x-loam-session-id': 'sess-x',
    });
    await ship([rec('info', 'c'), rec('error', 'boom')], { 'x-loam-execution-id': 'exec-bad', 'x-loam-session-id': 'sess-x' });
    await ship([rec('debug', 'a later one', { time: '2026-01-31T00:00:00Z' })], { 'x-loam-execution-id': 'exec-ok' });
    const r = await api('GET', '/api/v1/executions?session_id=sess-x');
    expect(r.status).toBe(200);
    const byId = Object.fromEntries(r.json.data.map((e: { execution_id: string }) => [e.execution_id, e]));
    expect(byId['exec-ok']).toMatchObject({
      first_time: '2026-01-31T00:00:00Z',
      last_time: '2026-02-01T00:00:05Z',
      records: 3,
      status: 'ok',
      counts: { trace: 0, debug: 1, info: 2, warn: 0, error: 0, fatal: 0 },
    });
    expect(byId['exec-bad']).toMatchObject({ status: 'failed', counts: { info: 1, error: 1 } });
    const failed = await api('GET', '/api/v1/executions?session_id=sess-x&status=failed');
    expect(failed.json.data.map((e: { execution_id: string }) => e.execution_id)).toEqual(['exec-bad']);
    const first = await api('GET', '/api/v1/executions?session_id=sess-x&limit=1');
    const second = await api('GET', `/api/v1/executions?session_id=sess-x&limit=1&cursor=${first.json.pagination.cursor}`);
    expect([first.json.data[0].execution_id, second.json.data[0].execution_id].sort()).toEqual(['exec-bad', 'exec-ok']);
  });

  it('takes what the SDK LogSink ships, per execution, through the TypeScript client', async () => {
    const loam = new Loam({ baseURL: base, apiKey: t.adminKey });
    const sink = new LogSink({ logs: loam.logs, maxBatch: 1000, flushOnExit: false });
    const log = sink.withExecution({ executionId: 'sink-1' }).withExecution({ sessionId: 'sink-session' });
    for (let i = 0; i < 5; i++) log.info(`sink line ${i}`, { i });
    await sink.close();
    const got = [];
    for await (const r of loam.logs.list({ execution_id: 'sink-1', attributes: { i: '3' } })) got.push(r);
    expect(got.map((r) => [r.message, r.session_id])).toEqual([['sink line 3', 'sink-session']]);
  });

  it('enforces its limits: 5,000 records, 1 MiB, valid headers and levels, the logs:write scope', async () => {
    const many = Array.from({ length: 5001 }, () => rec('info', 'x'));
    expect((await ship(many)).status).toBe(400);
    const big = [rec('info', 'y'.repeat(60_000))];
    const huge = Array.from({ length: 20 }, () => big[0]);
    const tooLarge = await ship(huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['content-type']).toContain('application/problem+json');
    expect((await ship([rec('loud', 'x')])).status).toBe(400);
    expect((await ship([rec('info', 'x')], { 'x-loam-execution-id': 'bad id with spaces' })).status).toBe(400);
    const reader = await keyHeaders(t, 'default', { scopes: ['logs:read'] });
    expect((await ship([rec('info', 'x')], reader)).status).toBe(403);
    const writer = await keyHeaders(t, 'default', { scopes: ['logs:write'] });
    expect((await ship([rec('info', 'x')], writer)).status).toBe(202);
    expect((await api('GET', '/api/v1/logs', undefined, writer)).status).toBe(403);
  });

  it('tails matching records live over SSE', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/v1/logs/stream?execution_id=exec-live&level=warn`, {
      headers: t.admin,
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const events: { event?: string; data: string; id?: string }[] = [];
    const reading = (async () => {
      try {
        for await (const e of parseSSE(res.body as ReadableStream<Uint8Array>)) {
          events.push(e);
          if (e.event === 'ready') {
            await ship([rec('info', 'quiet'), rec('error', 'loud 1')], { 'x-loam-execution-id': 'exec-live' });
            await ship([rec('warn', 'elsewhere')], { 'x-loam-execution-id': 'exec-other-live' });
            await ship([rec('fatal', 'loud 2')], { 'x-loam-execution-id': 'exec-live' });
          }
          if (events.filter((x) => x.event === 'log').length >= 2) break;
        }
      } finally {
        controller.abort();
      }
    })();
    await reading.catch((err) => {
      if ((err as Error).name !== 'AbortError') throw err;
    });
    const logs = events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data));
    expect(logs.map((l) => l.message)).toEqual(['loud 1', 'loud 2']);
    expect(Number(events.find((e) => e.event === 'log')?.id)).toBeGreaterThan(0);
  });

  it('answers 429 beyond the tenant quota, with Retry-After, and takes records again after a minute', async () => {
    const key = await keyHeaders(t, 'quota-t', { roles: ['admin'] });
    const set = await api('PUT', '/api/v1/logs/settings', { quota_records_per_minute: 100 }, key);
    expect(set.json.data).toEqual({ retention_days: 14, quota_records_per_minute: 100 });
    const batch = Array.from({ length: 60 }, () => rec('info', 'q'));
    expect((await ship(batch, key)).status).toBe(202);
    const over = await ship(batch, key);
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.json.code).toBe('quota_exceeded');
    // Another tenant is not affected.
    expect((await ship(batch)).status).toBe(202);
    clock.advance(60_000);
    expect((await ship(batch, key)).status).toBe(202);
  });

  it('shares the quota between Loam instances on one database (a bucket per tenant, not per process)', async () => {
    const other = await createTestLoam({
      dialect,
      clock,
      dataDir: t.dataDir,
      databaseUrl: t.databaseUrl,
      config: { rateLimitMultiplier: 1000 },
    });
    try {
      const viaOther = apiCaller(() => other);
      const key = await keyHeaders(t, 'quota-shared', { roles: ['admin'] });
      await api('PUT', '/api/v1/logs/settings', { quota_records_per_minute: 100 }, key);
      const batch = Array.from({ length: 60 }, () => rec('info', 'q'));
      const shipTo = (caller: typeof api) => caller('POST', '/api/v1/logs', { records: batch }, key);
      expect((await shipTo(api)).status).toBe(202);
      const over = await shipTo(viaOther);
      expect(over.status).toBe(429);
      expect(Number(over.headers['retry-after'])).toBe(12); // 20 records short at 100 a minute
      clock.advance(60_000);
      expect((await shipTo(viaOther)).status).toBe(202);
      expect((await shipTo(api)).status).toBe(429);
    } finally {
      await other.stop();
    }
  });

  it('purges records older than each tenant retention (default 14 days) with the logs.purge job', async () => {
    const key = await keyHeaders(t, 'short-t', { roles: ['admin'] });
    await api('PUT', '/api/v1/logs/settings', { retention_days: 1 }, key);
    const now = clock.now();
    const at = (daysAgo: number) => new Date(now - daysAgo * 86_400_000).toISOString();
    await ship([rec('info', 'old', { time: at(2) }), rec('info', 'new', { time: at(0.5) })], { ...key, 'x-loam-execution-id': 'exec-r' });
    await ship([rec('info', 'd15', { time: at(15) }), rec('info', 'd13', { time: at(13) })], { 'x-loam-execution-id': 'exec-r14' });
    const removed = await t.loam.services.observatory.purge();
    expect(removed).toBeGreaterThanOrEqual(2);
    const short = await api('GET', '/api/v1/logs?execution_id=exec-r', undefined, key);
    expect(short.json.data.map((x: { message: string }) => x.message)).toEqual(['new']);
    const dflt = await api('GET', '/api/v1/logs?execution_id=exec-r14');
    expect(dflt.json.data.map((x: { message: string }) => x.message)).toEqual(['d13']);
  });
});
