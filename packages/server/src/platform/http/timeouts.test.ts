import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, eventually } from '../../test/harness.js';

/** Sends `head` + `partial` over a real socket, keeps it open and resolves with whatever the server answers once it closes. */
function sendTruncated(port: number, head: string, partial: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head + partial));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      answer += d;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

const tmpFiles = (t: TestLoam) => {
  try {
    return readdirSync(join(t.dataDir, 'blobs', 'tmp'));
  } catch {
    return [];
  }
};

function truncatedUpload(port: number) {
  const boundary = 'zz';
  const partial = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n${'x'.repeat(2000)}`;
  // The announced length covers the closing boundary the client never sends.
  const length = Buffer.byteLength(partial) + 100;
  const head = `POST /ingest/file HTTP/1.1\r\nHost: localhost\r\nX-API-Key: ${'loam_sk_test_admin_key_0123456789abcdefghijklmnop'}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}\r\n\r\n`;
  return sendTruncated(port, head, partial);
}

describe('request and body timeouts (a truncated upload)', () => {
  let t: TestLoam | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('a body that stops arriving gets 408 within LOAM_BODY_TIMEOUT_MS and leaves no temp file', async () => {
    t = await createTestLoam({ config: { bodyTimeoutMs: 300, requestTimeoutMs: 60_000 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as { port: number };
    const answer = await truncatedUpload(port);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    await eventually(() => tmpFiles(t as TestLoam).length === 0);
  });

  it('a request that is not complete within LOAM_REQUEST_TIMEOUT_MS gets 408 and leaves no temp file', async () => {
    t = await createTestLoam({ config: { bodyTimeoutMs: 60_000, requestTimeoutMs: 400 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as { port: number };
    const answer = await truncatedUpload(port);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    await eventually(() => tmpFiles(t as TestLoam).length === 0);
  });

  it('stale temp files left by a crashed upload are removed at start', async () => {
    const first = await createTestLoam();
    await first.stop();
    const tmp = join(first.dataDir, 'blobs', 'tmp');
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'stale'), 'half an upload');
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(tmp, 'stale'), old, old);
    writeFileSync(join(tmp, 'fresh'), 'an upload in progress elsewhere');
    t = await createTestLoam({ dataDir: first.dataDir });
    expect(tmpFiles(t)).toEqual(['fresh']);
    await first.close();
  });
});
