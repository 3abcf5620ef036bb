import { parseSSE } from '@loam/sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  POSTGRES_URL,
  type TestLoam,
  apiCaller,
  createTestLoam,
  describeEachDialect,
  describeWith,
  eventually,
} from '../../test/harness.js';

interface Msg {
  id: string;
  position: number;
  type: string | null;
  data: { n: number };
  time: string;
}

/** Reads an SSE stream of a session until `stop` says so; returns its events in order. */
async function readStream(
  url: string,
  headers: Record<string, string>,
  stop: (events: { event?: string; data: string; id?: string }[]) => boolean,
) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const events: { event?: string; data: string; id?: string }[] = [];
  if (!res.ok || !res.body) return { status: res.status, events, body: await res.text() };
  try {
    for await (const e of parseSSE(res.body)) {
      events.push(e);
      if (stop(events)) break;
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    controller.abort();
  }
  return { status: res.status, events, body: '' };
}

const messagesOf = (events: { event?: string; data: string }[]) =>
  events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as Msg);

describeEachDialect('message bus', (dialect) => {
  let t: TestLoam;
  let base: string;
  const api = apiCaller(() => t);
  beforeAll(async () => {
    // A WebSocket that has not answered the last ping when the next is due is closed: at 50 ms, a
    // loaded machine closed the tests' own sockets.
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 1000, busHeartbeatMs: 1000 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(() => t.close());

  const send = (sid: string, body: unknown, headers: Record<string, string> = {}) =>
    api('POST', `/api/v1/sessions/${sid}/messages`, body, headers);

  it('a late subscriber asking after=0 gets all 100 earlier messages, then live ones, in order, once each', async () => {
    const batch = Array.from({ length: 100 }, (_, i) => ({ type: 'tick', data: { n: i + 1 } }));
    const sent = await send('late:1', batch);
    expect(sent.status).toBe(201);
    expect(sent.json.data.messages.map((m: Msg) => m.position)).toEqual(batch.map((_, i) => i + 1));
    const reading = readStream(`${base}/api/v1/sessions/late:1/stream?after=0`, t.admin, (ev) => messagesOf(ev).length >= 105);
    // Live ones, sent while the history is being read.
    for (let i = 101; i <= 105; i++) expect((await send('late:1', { data: { n: i } })).status).toBe(201);
    const { events } = await reading;
    expect(events[0].event).toBe('ready');
    const got = messagesOf(events);
    expect(got.map((m) => m.data.n)).toEqual(Array.from({ length: 105 }, (_, i) => i + 1));
    expect(got.map((m) => m.position)).toEqual(Array.from({ length: 105 }, (_, i) => i + 1));
    expect(events.filter((e) => e.event === 'message').map((e) => Number(e.id))).toEqual(got.map((m) => m.position));
  });

  it('a subscriber cut off mid-stream and resumed with Last-Event-ID loses nothing and sees no duplicate', async () => {
    await send(
      'resume:1',
      Array.from({ length: 40 }, (_, i) => ({ data: { n: i + 1 } })),
    );
    const first = await readStream(`${base}/api/v1/sessions/resume:1/stream`, t.admin, (ev) => messagesOf(ev).length >= 25);
    const seen = messagesOf(first.events);
    const lastId = first.events.filter((e) => e.event === 'message').at(-1)?.id ?? '';
    // Sent while it was away.
    await send(
      'resume:1',
      Array.from({ length: 10 }, (_, i) => ({ data: { n: 41 + i } })),
    );
    const second = await readStream(
      `${base}/api/v1/sessions/resume:1/stream`,
      { ...t.admin, 'last-event-id': lastId },
      (ev) => messagesOf(ev).length + seen.length >= 50,
    );
    const all = [...seen, ...messagesOf(second.events)].map((m) => m.data.n);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('the WebSocket gives the same sequence as SSE, and sends with an ack', async () => {
    await send(
      'ws:1',
      Array.from({ length: 5 }, (_, i) => ({ data: { n: i + 1 } })),
    );
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/sessions/ws:1/ws?after=0`, { headers: t.admin });
    const frames: { op: string; message?: Msg; messages?: Msg[]; ref?: string; head?: number }[] = [];
    ws.on('message', (raw) => frames.push(JSON.parse(String(raw))));
    await new Promise((r) => ws.once('open', r));
    await eventually(() => frames.filter((f) => f.op === 'message').length === 5);
    ws.send(JSON.stringify({ op: 'send', ref: 'r1', type: 'note', data: { n: 6 } }));
    await eventually(() => frames.some((f) => f.op === 'ack') && frames.filter((f) => f.op === 'message').length === 6);
    ws.close();
    expect(frames[0]).toMatchObject({ op: 'ready', head: 5 });
    expect(frames.find((f) => f.op === 'ack')).toMatchObject({ ref: 'r1', messages: [{ position: 6, type: 'note', data: { n: 6 } }] });
    const viaWs = frames.filter((f) => f.op === 'message').map((f) => f.message);
    const viaSse = messagesOf(
      (await readStream(`${base}/api/v1/sessions/ws:1/stream`, t.admin, (ev) => messagesOf(ev).length >= 6)).events,
    );
    expect(viaWs).toEqual(viaSse);
  });

  it('history pages with after/limit; retention purges and a purged position is a clear 410', async () => {
    await send(
      'keep:1',
      Array.from({ length: 30 }, (_, i) => ({ data: { n: i + 1 } })),
    );
    const page = await api('GET', '/api/v1/sessions/keep:1/messages?after=10&limit=5');
    expect(page.json.data.map((m: Msg) => m.position)).toEqual([11, 12, 13, 14, 15]);
    expect(page.json.pagination).toMatchObject({ has_more: true, page_size: 5 });
    expect(page.json.links.next).toMatch(/^\/api\/v1\/sessions\/keep:1\/messages\?after=10&limit=5&cursor=/);
    expect(page.json.links.prev).toBeUndefined();
    const second = await api('GET', page.json.links.next);
    expect(second.json.data.map((m: Msg) => m.position)).toEqual([16, 17, 18, 19, 20]);
    expect((await api('GET', second.json.links.prev)).json.data).toEqual(page.json.data);
    expect((await api('PUT', '/api/v1/bus/retention/keep:', { max_messages: 10 })).status).toBe(200);
    expect(await t.loam.services.bus.purge()).toBe(20);
    const gone = await api('GET', '/api/v1/sessions/keep:1/messages?after=0');
    expect(gone.status).toBe(410);
    expect(gone.json).toMatchObject({ code: 'position_purged', oldest_position: 21 });
    const stream = await fetch(`${base}/api/v1/sessions/keep:1/stream?after=5`, { headers: t.admin });
    expect(stream.status).toBe(410);
    expect((await stream.json()).oldest_position).toBe(21);
    const fromOldest = await api('GET', '/api/v1/sessions/keep:1/messages?after=20');
    expect(fromOldest.json.data.map((m: Msg) => m.data.n)).toEqual(Array.from({ length: 10 }, (_, i) => 21 + i));
    expect((await api('GET', '/api/v1/sessions/keep:1')).json.data).toMatchObject({ head: 30, purged_through: 20 });
  });

  it('a channel schema refuses a message that does not match, naming the field', async () => {
    const schema = { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } };
    expect((await api('PUT', '/api/v1/bus/schemas/orders:', { schema })).status).toBe(200);
    const bad = await send('orders:7', { data: { amount: 'ten' } });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0].field).toBe('data.amount');
    const missing = await send('orders:7', [{ data: { amount: 1 } }, { data: {} }]);
    expect(missing.status).toBe(400);
    expect(missing.json.errors[0].field).toBe('1.data.amount');
    expect((await send('orders:7', { data: { amount: 10 } })).status).toBe(201);
    expect((await send('other:7', { data: { amount: 'free text elsewhere' } })).status).toBe(201);
  });

  it('limits, names and idempotency: 413 past the size limit, 400 for a bad session name, a replayed key stores once', async () => {
    const big = await send('big:1', { data: 'x'.repeat(300_000) });
    expect(big.status).toBe(413);
    expect((await send('bad name!', { data: 1 })).status).toBe(400);
    const key = { 'idempotency-key': 'bus-once-1' };
    const a = await send('idem:1', { data: { n: 1 } }, key);
    const b = await send('idem:1', { data: { n: 1 } }, key);
    expect(b.json.data).toEqual(a.json.data);
    expect((await api('GET', '/api/v1/sessions/idem:1')).json.data.head).toBe(1);
  });

  it('browsers authenticate the stream with a short-lived session token; a wrong or foreign token is refused', async () => {
    await send('tok:1', { data: { n: 1 } });
    const { token } = (await api('POST', '/api/v1/sessions/tok:1/tokens')).json.data;
    const ok = await readStream(
      `${base}/api/v1/sessions/tok:1/stream?token=${encodeURIComponent(token)}`,
      {},
      (ev) => messagesOf(ev).length >= 1,
    );
    expect(messagesOf(ok.events).map((m) => m.data.n)).toEqual([1]);
    expect((await fetch(`${base}/api/v1/sessions/tok:2/stream?token=${encodeURIComponent(token)}`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/sessions/tok:1/stream?token=forged.token`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/sessions/tok:1/stream`)).status).toBe(401);
  });

  it('lists sessions with their head, deletes a session, and a Cedar forbid on Session takes effect', async () => {
    await send('list:a', { data: 1 });
    await send('list:b', [{ data: 1 }, { data: 2 }]);
    const list = await api('GET', '/api/v1/sessions?prefix=list:');
    expect(list.json.data.map((s: { id: string; head: number }) => [s.id, s.head])).toEqual([
      ['list:a', 1],
      ['list:b', 2],
    ]);
    expect((await api('DELETE', '/api/v1/sessions/list:a')).status).toBe(204);
    expect((await api('GET', '/api/v1/sessions/list:a')).status).toBe(404);
    const key = await api('POST', '/api/v1/api-keys', { name: 'bus-user', scopes: ['bus:read', 'bus:write'] });
    const user = { 'x-api-key': key.json.data.key };
    expect((await api('GET', '/api/v1/sessions/list:b/messages', undefined, user)).status).toBe(200);
    // A tenant with policies is default-deny: everything is permitted, then the key's sessions forbidden.
    const permit = await api('POST', '/api/v1/admin/policies', { name: 'permit-all', policy: 'permit(principal, action, resource);' });
    expect(permit.status).toBe(201);
    const policy = await api('POST', '/api/v1/admin/policies', {
      name: 'no-bus-for-keys',
      policy: `forbid(principal == Loam::ApiKey::"${key.json.data.id}", action, resource is Loam::Session);`,
    });
    expect(policy.status).toBe(201);
    await eventually(async () => (await api('GET', '/api/v1/sessions/list:b/messages', undefined, user)).status === 403);
    expect((await send('list:b', { data: 3 }, user)).status).toBe(403);
    expect((await api('GET', '/api/v1/sessions/list:b/messages')).status).toBe(200);
    expect((await api('GET', '/api/v1/api-keys', undefined, user)).status).toBe(403); // scopes still apply
    for (const p of [policy, permit]) expect((await api('DELETE', `/api/v1/admin/policies/${p.json.data.id}`)).status).toBe(204);
  });
});

describeWith(
  POSTGRES_URL,
  'PostgreSQL (set LOAM_TEST_POSTGRES_URL)',
  'message bus across two Loam processes on one PostgreSQL database',
  () => {
    let a: TestLoam;
    let b: TestLoam;
    beforeAll(async () => {
      a = await createTestLoam({ dialect: 'postgres', config: { rateLimitMultiplier: 1000 } });
      b = await createTestLoam({ dialect: 'postgres', databaseUrl: a.databaseUrl, config: { rateLimitMultiplier: 1000 } });
      await a.app.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(async () => {
      await b.stop();
      await a.close();
    });

    it('a message sent to one instance reaches the subscribers of the other, in order', async () => {
      const url = `http://127.0.0.1:${(a.app.server.address() as { port: number }).port}/api/v1/sessions/x:1/stream`;
      const reading = readStream(url, a.admin, (ev) => messagesOf(ev).length >= 20);
      await eventually(() => a.loam.services.bus.hub.size === 1);
      for (let i = 1; i <= 20; i++) {
        const r = await b.app.inject({
          method: 'POST',
          url: '/api/v1/sessions/x:1/messages',
          headers: b.admin,
          payload: { data: { n: i } },
        });
        expect(r.statusCode).toBe(201);
      }
      const { events } = await reading;
      expect(messagesOf(events).map((m) => m.data.n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });
  },
);
