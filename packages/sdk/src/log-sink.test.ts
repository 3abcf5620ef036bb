import type { LogRecordIn } from '@loam/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { APIConnectionError, APIError } from './errors.js';
import { LogSink, fromHeaders } from './log-sink.js';
import type { ExecutionContext } from './resources/logs.js';

/** A stand-in for `loam.logs` that records shipments and can be down. */
function fakeLogs() {
  const shipped: { records: LogRecordIn[]; ctx: ExecutionContext }[] = [];
  const state = { down: false, hang: false };
  return {
    shipped,
    state,
    logs: {
      ship: vi.fn(async (records: LogRecordIn[], ctx: ExecutionContext) => {
        if (state.hang) return new Promise<never>(() => {});
        if (state.down) throw new APIConnectionError('connection refused');
        shipped.push({ records, ctx });
        return { accepted: records.length };
      }),
    },
  };
}

const messages = (f: ReturnType<typeof fakeLogs>) => f.shipped.flatMap((s) => s.records.map((r) => r.message));

describe('LogSink', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ships at maxBatch records, grouped per execution, with the context of each', async () => {
    const f = fakeLogs();
    const sink = new LogSink({ logs: f.logs, maxBatch: 3, flushOnExit: false });
    const a = sink.withExecution({ executionId: 'a' });
    const b = sink.withExecution({ executionId: 'b', sessionId: 's' });
    a.info('a1');
    b.warn('b1', { n: 1 });
    expect(f.logs.ship).not.toHaveBeenCalled();
    a.error('a2');
    await vi.advanceTimersByTimeAsync(0);
    expect(f.shipped).toEqual([
      {
        records: [expect.objectContaining({ level: 'info', message: 'a1' }), expect.objectContaining({ level: 'error', message: 'a2' })],
        ctx: { executionId: 'a' },
      },
      {
        records: [expect.objectContaining({ level: 'warn', message: 'b1', attributes: { n: 1 } })],
        ctx: { executionId: 'b', sessionId: 's' },
      },
    ]);
    expect(sink.buffered).toBe(0);
  });

  it('ships what waits after flushIntervalMs, and on process exit', async () => {
    const f = fakeLogs();
    const sink = new LogSink({ logs: f.logs, flushIntervalMs: 1000 });
    sink.withExecution({ executionId: 'x' }).info('timed');
    await vi.advanceTimersByTimeAsync(999);
    expect(f.shipped).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(messages(f)).toEqual(['timed']);
    sink.withExecution({ executionId: 'x' }).info('at exit');
    process.emit('beforeExit', 0);
    await vi.advanceTimersByTimeAsync(0);
    expect(messages(f)).toEqual(['timed', 'at exit']);
    await sink.close();
  });

  it('keeps records while the server is down, up to the bound (oldest dropped and counted), then ships them in order', async () => {
    const f = fakeLogs();
    const errors: unknown[] = [];
    const sink = new LogSink({
      logs: f.logs,
      maxBatch: 2,
      maxBuffered: 5,
      backoffMs: 100,
      flushOnExit: false,
      onError: (e) => errors.push(e),
    });
    const log = sink.withExecution({ executionId: 'down' });
    f.state.down = true;
    for (let i = 1; i <= 8; i++) {
      log.info(`m${i}`);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(sink.buffered).toBe(5);
    expect(sink.dropped).toBe(3);
    expect(f.shipped).toHaveLength(0);
    f.state.down = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(messages(f)).toEqual(['m4', 'm5', 'm6', 'm7', 'm8']);
    expect(sink.buffered).toBe(0);
  });

  it('drops (and counts) a batch the server rejects with a 4xx instead of retrying it forever', async () => {
    const f = fakeLogs();
    f.logs.ship.mockRejectedValueOnce(APIError.from(400, { detail: 'bad' }, new Headers()));
    const sink = new LogSink({ logs: f.logs, flushOnExit: false });
    sink.withExecution({ executionId: 'r' }).info('rejected');
    await sink.flush();
    expect(sink.dropped).toBe(1);
    expect(sink.buffered).toBe(0);
  });

  it('never blocks the caller: logging returns at once while a shipment hangs, and memory stays bounded', async () => {
    const f = fakeLogs();
    f.state.hang = true;
    const sink = new LogSink({ logs: f.logs, maxBatch: 10, maxBuffered: 1000, flushOnExit: false });
    const log = sink.withExecution({ executionId: 'hang' });
    for (let i = 0; i < 20_000; i++) log.debug(`line ${i}`);
    expect(sink.buffered).toBeLessThanOrEqual(1000);
    expect(sink.dropped).toBeGreaterThanOrEqual(18_990);
  });

  it('picks the execution context up from incoming headers', () => {
    expect(
      fromHeaders({
        'x-loam-execution-id': 'e1',
        'x-loam-session-id': 's1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      }),
    ).toEqual({ executionId: 'e1', sessionId: 's1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(fromHeaders(new Headers({ 'X-Loam-Workflow-Id': 'w' }))).toEqual({ workflowId: 'w' });
  });
});
