import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyFor, pathOf } from '../content/test/helpers.js';

describeEachDialect('uploads are never active content on the API origin; security headers', (dialect) => {
  let t: TestLoam;
  let a: { authorization: string };
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 100 } });
    a = await keyFor(t, 'acme', ['storage:read', 'storage:write']);
  });
  afterAll(() => t.close());

  const roundTrip = async (filename: string, contentType: string, body: string) => {
    const up = (await t.app.inject({ method: 'POST', url: '/generate-upload-url', headers: a, payload: { filename, contentType } })).json();
    const put = await t.app.inject({ method: 'PUT', url: pathOf(up.uploadUrl), payload: body, headers: { 'content-type': contentType } });
    expect(put.statusCode).toBe(200);
    const down = (await t.app.inject({ method: 'POST', url: '/generate-download-url', headers: a, payload: { s3Key: up.s3Key } })).json();
    return t.app.inject({ method: 'GET', url: pathOf(down.downloadUrl) });
  };

  it.each([
    ['page.html', 'text/html', '<script>alert(document.cookie)</script>'],
    ['pic.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ['feed.xml', 'application/xml', '<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>'],
  ])('%s (%s) is served as an attachment, never sniffed, with no script allowed', async (filename, type, body) => {
    const res = await roundTrip(filename, type, body);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/^attachment/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(String(res.headers['content-security-policy'])).toMatch(/default-src 'none'/);
  });

  it('plain text and images stay inline (still nosniff)', async () => {
    const res = await roundTrip('notes.txt', 'text/plain', 'hello');
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('every response carries nosniff, a referrer policy and frame protection', async () => {
    for (const url of ['/healthz', '/health', '/api/v1/whoami', '/no-such-route']) {
      const res = await t.app.inject({ method: 'GET', url, headers: t.admin });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(String(res.headers['content-security-policy']), url).toMatch(/frame-ancestors 'none'/);
    }
  });

  it('/docs has a CSP that allows exactly what the page loads (its scripts and styles)', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    const directive = (name: string) =>
      csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith(`${name} `)) ?? '';
    expect(directive('script-src')).toContain("'self'");
    // Every inline script the page holds is allowed by its hash; every external one is same-origin.
    for (const [, attrs, inline] of page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      const src = /src="([^"]+)"/.exec(attrs)?.[1];
      if (src) {
        expect(src.startsWith('http')).toBe(false);
        const script = await t.app.inject({ method: 'GET', url: new URL(src, 'http://x/docs/').pathname });
        expect(script.statusCode, src).toBe(200);
      } else if (inline.trim()) {
        const hash = createHash('sha256').update(inline).digest('base64');
        expect(directive('script-src')).toContain(`'sha256-${hash}'`);
      }
    }
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });
});
