import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { TestLoam } from '../../../test/harness.js';

export const GUIDE = `# Lighthouse guide

Lighthouses guide ships along dangerous coasts.

## Lamps

The keeper trims the lamp wick every evening so the beam stays bright through the night.
Fresnel lenses focus the light of the lamp into a beam seen twenty miles away.

## Fog signals

When fog rolls in, the keeper sounds the foghorn every thirty seconds until the air clears.
`;

/** The base URL of `t.app` listening on a real socket (started on first use). */
export async function baseUrl(t: TestLoam): Promise<string> {
  if (!t.app.server.listening) await t.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}

export async function createCollection(t: TestLoam, headers: Record<string, string>, body: Record<string, unknown> = { name: 'docs' }) {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/collections', headers, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data as { id: string };
}

/**
 * The gateway's upload flow over real HTTP: POST /api/v1/documents (pre-signed URL), PUT the
 * file to it, POST /complete; then the workflow's jobs run to the end.
 */
export async function uploadDocument(
  t: TestLoam,
  headers: Record<string, string>,
  collectionId: string,
  file: { filename: string; contentType: string; body: string; metadata?: Record<string, unknown> },
  opts: { drain?: boolean } = {},
): Promise<{ id: string; status: string; chunk_count: number }> {
  const base = await baseUrl(t);
  const created = await fetch(`${base}/api/v1/documents`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({
      collection_id: collectionId,
      filename: file.filename,
      content_type: file.contentType,
      size: Buffer.byteLength(file.body),
      metadata: file.metadata,
    }),
  });
  expect(created.status).toBe(201);
  const doc = (await created.json()).data;
  expect(doc.status).toBe('awaiting_upload');
  const url = new URL(doc.upload_url);
  const put = await fetch(`${base}${url.pathname}${url.search}`, {
    method: 'PUT',
    headers: { 'content-type': file.contentType },
    body: file.body,
  });
  expect(put.status).toBeLessThan(300);
  const done = await fetch(`${base}/api/v1/documents/${doc.id}/complete`, { method: 'POST', headers });
  expect(done.status).toBe(200);
  expect((await done.json()).data.status).toBe('uploaded');
  if (opts.drain === false) return { id: doc.id, status: 'uploaded', chunk_count: 0 };
  await t.loam.platform.jobs.drain();
  const got = await fetch(`${base}/api/v1/documents/${doc.id}`, { headers });
  return (await got.json()).data;
}
