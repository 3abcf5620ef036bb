/** The SDK's message bus against a real Loam on a real socket: the typed broker, resume without duplicates, history. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../server/src/test/harness.js';
import { Loam, NotFoundError } from '../src/index.js';

describe('SDK: message bus', () => {
  let t: TestLoam;
  let baseURL: string;
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(() => t.close());

  it('the broker sends typed events and onMessage receives them once each, starting from onStarted', async () => {
    const loam = new Loam({ baseURL, apiKey: t.adminKey });
    const bus = loam.bus<{ text: string }>();
    await bus.send('chat:1', { text: 'before' }, { type: 'said' });
    const controller = new AbortController();
    const got: string[] = [];
    await bus.onMessage('chat:1', {
      after: 0,
      signal: controller.signal,
      onStarted: () => {
        void bus.send('chat:1', { text: 'after' });
      },
      onMessage: (m) => {
        got.push(`${m.position}:${m.type ?? '-'}:${m.data.text}`);
        if (got.length === 2) controller.abort();
      },
    });
    expect(got).toEqual(['1:said:before', '2:-:after']);
  });

  it('a dropped connection resumes after the last delivered message: nothing lost, nothing twice', async () => {
    const sender = new Loam({ baseURL, apiKey: t.adminKey });
    await sender.sessions.send(
      'drop:1',
      Array.from({ length: 30 }, (_, i) => ({ data: i + 1 })),
    );
    // The first stream is cut after a few kilobytes, as a flaky network would.
    let connections = 0;
    const flakyFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/stream') || connections++ > 0 || !res.body) return res;
      let bytes = 0;
      const cut = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          bytes += chunk.length;
          if (bytes > 1500) ctl.error(new TypeError('network connection lost'));
          else ctl.enqueue(chunk);
        },
      });
      return new Response(res.body.pipeThrough(cut), { status: res.status, headers: res.headers });
    };
    const loam = new Loam({ baseURL, apiKey: t.adminKey, fetch: flakyFetch });
    const controller = new AbortController();
    const seen: number[] = [];
    let reconnects = 0;
    await loam.sessions.subscribe<number>('drop:1', {
      signal: controller.signal,
      onReconnect: () => {
        reconnects++;
        void sender.sessions.send('drop:1', [{ data: 31 }, { data: 32 }]);
      },
      onMessage: (m) => {
        seen.push(m.data);
        if (seen.length === 32) controller.abort();
      },
    });
    expect(reconnects).toBe(1);
    expect(seen).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
  });

  it('history iterates every page; errors a retry cannot fix end the subscription', async () => {
    const loam = new Loam({ baseURL, apiKey: t.adminKey });
    await loam.sessions.send(
      'hist:1',
      Array.from({ length: 25 }, (_, i) => ({ data: i })),
    );
    const all: number[] = [];
    for await (const m of loam.sessions.history('hist:1', { pageSize: 10 })) all.push(m.position);
    expect(all).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect((await loam.sessions.get('hist:1')).head).toBe(25);
    await loam.sessions.delete('hist:1');
    await expect(loam.sessions.get('hist:1')).rejects.toBeInstanceOf(NotFoundError);
    const stranger = new Loam({ baseURL, apiKey: 'loam_sk_not_a_real_key_000000000000000000000000' });
    await expect(stranger.sessions.subscribe('hist:1', { onMessage: () => {} })).rejects.toMatchObject({ status: 401 });
  });
});
