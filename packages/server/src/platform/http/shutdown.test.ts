import { connect } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { type TestLoam, TEST_ADMIN_KEY, createTestLoam } from '../../test/harness.js';

let t: TestLoam | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it('while closing, a request in flight completes and a new one gets 503 in the documented error format', async () => {
  t = await createTestLoam();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as { port: number };
  const body = JSON.stringify({ name: 'created while closing', scopes: ['storage'] });
  const head = `POST /api/v1/api-keys HTTP/1.1\r\nHost: localhost\r\nX-API-Key: ${TEST_ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (d) => {
    answer += d;
  });
  const closed = new Promise((resolve) => socket.on('close', resolve));
  await new Promise((resolve) => socket.once('connect', resolve));
  // The first request's body is still arriving when the server starts closing.
  socket.write(head + body.slice(0, 10));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const closing = t.app.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  // The rest of it, and a second request on the same connection.
  socket.write(`${body.slice(10)}GET /api/v1/whoami HTTP/1.1\r\nHost: localhost\r\nX-API-Key: ${TEST_ADMIN_KEY}\r\n\r\n`);
  await closed;
  await closing;
  const [first, second] = answer.split(/(?=HTTP\/1\.1 )/);
  expect(first).toMatch(/^HTTP\/1\.1 201 /);
  expect(first).toContain('created while closing');
  expect(second).toMatch(/^HTTP\/1\.1 503 /);
  expect(second).toMatch(/content-type: application\/problem\+json/i);
  expect(second).toMatch(/retry-after: 1/i);
  expect(second).toContain('"code":"service_unavailable"');
  t = undefined; // closed already
});
