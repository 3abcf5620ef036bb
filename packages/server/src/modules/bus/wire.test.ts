import { type Socket, connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sseFrame } from '../../platform/http/sse.js';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';

/** A subscriber on a raw socket: every byte of the response, as sent (no HTTP client in between). */
function rawSubscriber(port: number, path: string, headers: Record<string, string>, version: '1.0' | '1.1') {
  const socket: Socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.write(`GET ${path} HTTP/${version}\r\nhost: 127.0.0.1\r\n${head.join('')}\r\n`);
  return { socket, bytes: () => Buffer.concat(chunks) };
}

/** Splits a raw response into its head and its body, decoding (strictly) a chunked body. */
function parseResponse(raw: Buffer): { head: string; body: Buffer; ended: boolean } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, split).toString('latin1');
  let rest = raw.subarray(split + 4);
  if (!/\r\ntransfer-encoding: chunked/i.test(head)) return { head, body: rest, ended: false };
  const parts: Buffer[] = [];
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) return { head, body: Buffer.concat(parts), ended: false };
    const size = Number.parseInt(rest.subarray(0, eol).toString('latin1'), 16);
    expect(rest.subarray(0, eol).toString('latin1')).toMatch(/^[0-9a-f]+$/);
    if (size === 0) return { head, body: Buffer.concat(parts), ended: true };
    if (rest.length < eol + 2 + size + 2) return { head, body: Buffer.concat(parts), ended: false };
    parts.push(rest.subarray(eol + 2, eol + 2 + size));
    // The chunk's length counts bytes: it ends exactly where the CRLF is.
    expect(rest.subarray(eol + 2 + size, eol + 4 + size).toString('latin1')).toBe('\r\n');
    rest = rest.subarray(eol + 4 + size);
  }
}

/** The events of an SSE body, heartbeat comments left out. */
const eventsOf = (body: Buffer) =>
  body
    .toString('utf8')
    .split('\n\n')
    .filter((e) => e.length > 0 && !e.startsWith(':'));

it('a prepared SSE frame is its text in UTF-8 bytes, and that text as one HTTP/1.1 chunk', () => {
  const text = 'event: message\ndata: {"text":"héllo ✓ 🎉"}\n\n';
  const { body, chunk } = sseFrame(text);
  expect(body.toString('utf8')).toBe(text);
  expect(body.length).toBe(Buffer.byteLength(text));
  expect(chunk.toString('utf8')).toBe(`${body.length.toString(16)}\r\n${text}\r\n`);
});

describeEachDialect('message bus on the wire', (dialect) => {
  let t: TestLoam;
  let port: number;
  const api = apiCaller(() => t);
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 1000, busHeartbeatMs: 1000, busMaxBufferedBytes: 65_536 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(() => t.close());

  it('live messages reach an HTTP/1.1 (chunked) and an HTTP/1.0 subscriber as the same events, non-ASCII data intact', async () => {
    const path = '/api/v1/sessions/wire:1/stream';
    const subs = [rawSubscriber(port, path, t.admin, '1.1'), rawSubscriber(port, path, t.admin, '1.0')];
    await eventually(() => subs.every((s) => s.bytes().includes('event: ready')));
    const text = 'héllo ✓ 🎉 — ünïcödé';
    for (let n = 1; n <= 3; n++) expect((await api('POST', '/api/v1/sessions/wire:1/messages', { data: { n, text } })).status).toBe(201);
    const batch = [4, 5].map((n) => ({ type: 'pair', data: { n, text } }));
    expect((await api('POST', '/api/v1/sessions/wire:1/messages', batch)).status).toBe(201);
    const messages = (s: (typeof subs)[number]) => eventsOf(parseResponse(s.bytes()).body).filter((e) => e.includes('event: message'));
    await eventually(() => subs.every((s) => messages(s).length === 5));
    for (const s of subs) s.socket.destroy();
    const [chunked, plain] = subs.map((s) => parseResponse(s.bytes()));
    expect(chunked.head).toMatch(/^HTTP\/1\.1 200/);
    expect(chunked.head).toMatch(/\r\ntransfer-encoding: chunked/i);
    expect(plain.head).toMatch(/^HTTP\/1\.1 200/);
    expect(plain.head).not.toMatch(/transfer-encoding/i);
    expect(eventsOf(chunked.body)).toEqual(eventsOf(plain.body));
    const got = messages(subs[0]).map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)));
    expect(got.map((m) => [m.position, m.data.n, m.data.text])).toEqual([1, 2, 3, 4, 5].map((n) => [n, n, text]));
    expect(messages(subs[0]).map((e) => e.split('\n')[0])).toEqual(['id: 1', 'id: 2', 'id: 3', 'id: 4', 'id: 5']);
  });

  it('WebSocket subscribers get every message as a text frame (browsers read them as strings), non-ASCII data intact', async () => {
    const text = 'héllo ✓ 🎉';
    const url = `ws://127.0.0.1:${port}/api/v1/sessions/wire:3/ws`;
    const frames = [0, 1].map(() => [] as { text: string; binary: boolean }[]);
    const sockets = frames.map((got) => {
      const ws = new WebSocket(url, { headers: t.admin });
      ws.on('message', (raw, binary) => got.push({ text: String(raw), binary }));
      return ws;
    });
    await eventually(() => frames.every((got) => got.some((f) => f.text.includes('"op":"ready"'))));
    expect(
      (
        await api(
          'POST',
          '/api/v1/sessions/wire:3/messages',
          [1, 2].map((n) => ({ data: { n, text } })),
        )
      ).status,
    ).toBe(201);
    expect((await api('POST', '/api/v1/sessions/wire:3/messages', { data: { n: 3, text } })).status).toBe(201);
    await eventually(() => frames.every((got) => got.length === 4));
    for (const ws of sockets) ws.close();
    for (const got of frames) {
      expect(got.map((f) => f.binary)).toEqual([false, false, false, false]);
      const messages = got.slice(1).map((f) => JSON.parse(f.text));
      expect(messages.map((f) => [f.op, f.message.position, f.message.data.text])).toEqual([1, 2, 3].map((n) => ['message', n, text]));
    }
  });

  it('a subscriber that stops reading is cut off with a final error event; the others keep receiving', async () => {
    const path = '/api/v1/sessions/wire:2/stream';
    const stalled = rawSubscriber(port, path, t.admin, '1.1');
    const reader = rawSubscriber(port, path, t.admin, '1.1');
    await eventually(() => [stalled, reader].every((s) => s.bytes().includes('event: ready')));
    stalled.socket.pause();
    // Up to 12 MB for a reader that reads nothing, until it is cut off: beyond socket buffers and
    // the 64 KiB allowance (each message well under it, so the reader that reads never is that far behind).
    const big = 'x'.repeat(30_000);
    let sent = 0;
    while (t.loam.services.bus.hub.size === 2 && sent < 400)
      expect((await api('POST', '/api/v1/sessions/wire:2/messages', { data: { n: sent++, big } })).status).toBe(201);
    expect(t.loam.services.bus.hub.size).toBe(1);
    stalled.socket.resume();
    await eventually(() => parseResponse(stalled.bytes()).ended, 10_000);
    stalled.socket.destroy();
    const cut = eventsOf(parseResponse(stalled.bytes()).body);
    expect(cut.at(-1)).toContain('event: error');
    expect(cut.at(-1)).toContain('"code":"slow_consumer"');
    expect(stalled.bytes().length).toBeLessThan(8 * 1024 * 1024);
    // The reader got every message: the stalled one held nobody up.
    expect((await api('POST', '/api/v1/sessions/wire:2/messages', { data: { n: sent } })).status).toBe(201);
    const count = () => eventsOf(parseResponse(reader.bytes()).body).filter((e) => e.includes('event: message')).length;
    await eventually(() => count() === sent + 1, 10_000);
    reader.socket.destroy();
  });
});
