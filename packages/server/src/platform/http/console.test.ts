import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { CONSOLE_CSP, consoleRoutes } from './console.js';
import { type LoamApp, createHttpServer } from './server.js';

/** Serving the console's build (the browser itself is driven in packages/console/test). */
describe('the console at /console', () => {
  let t: TestLoam;
  let t2: TestLoam;
  let built: LoamApp;
  let unbuilt: LoamApp;
  const dist = mkdtempSync(join(tmpdir(), 'loam-console-dist-'));

  beforeAll(async () => {
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><script type="module" src="/console/assets/index-abc123.js"></script>');
    writeFileSync(join(dist, 'assets/index-abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
    writeFileSync(join(dist, 'secret.txt'), 'not an asset');
    t = await createTestLoam({ http: false });
    built = await createHttpServer({ platform: t.loam.platform, tierOf: async () => 'free' });
    await consoleRoutes(built, dist);
    t2 = await createTestLoam({ http: false }); // one HTTP server per platform (its metrics)
    unbuilt = await createHttpServer({ platform: t2.loam.platform, tierOf: async () => 'free' });
    await consoleRoutes(unbuilt, undefined);
  });
  afterAll(async () => {
    await built?.close();
    await unbuilt?.close();
    await t?.close();
    await t2?.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('serves index.html at /console and /console/, never cached, with the console CSP', async () => {
    for (const url of ['/console', '/console/']) {
      const res = await built.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.body).toContain('/console/assets/index-abc123.js');
    }
    expect(CONSOLE_CSP).toMatch(/default-src 'none'/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-(inline|eval)|https?:/);
  });

  it('serves hashed assets for a year, immutable, compressed when asked', async () => {
    const res = await built.inject({ url: '/console/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it('answers 404 for anything else under /console, files beside assets/ included', async () => {
    for (const url of [
      '/console/assets/nope.js',
      '/console/secret.txt',
      '/console/assets/../secret.txt',
      '/console/assets/..%2fsecret.txt',
    ]) {
      const res = await built.inject({ url });
      expect([403, 404], url).toContain(res.statusCode);
      expect(res.body, url).not.toContain('not an asset');
    }
    const missing = await built.inject({ url: '/console/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found' }); // the format of routes outside /api/v1
  });

  it('says how to build it when there is no build', async () => {
    const res = await unbuilt.inject({ url: '/console/' });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('npm run build');
  });
});
