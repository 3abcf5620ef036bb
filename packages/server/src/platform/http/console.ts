import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyReply } from 'fastify';
import { AppError } from '../errors.js';
import type { LoamApp } from './server.js';

/**
 * The console's own CSP: its scripts, styles, images and fonts come from this origin only (the
 * build inlines nothing and loads nothing from elsewhere), and it talks only to this origin.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed file names (`index-3f9a…js`): a new build gets new names, so they may be cached for good. */
const ASSET_MAX_AGE = '365d';

/** Where `@loam/console` was built (`packages/console/dist`), or undefined if it was not. */
export function consoleDistDir(): string | undefined {
  try {
    const dir = join(dirname(createRequire(import.meta.url).resolve('@loam/console/package.json')), 'dist');
    return existsSync(join(dir, 'index.html')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The web console at `/console/` (and `/console`: routes ignore a trailing slash): `index.html` (never cached: it names the current assets) and
 * `/console/assets/*` (hashed, cached for a year, immutable), both with {@link CONSOLE_CSP}. The
 * console routes with the URL fragment (`/console/#/datasets`), so no other path is served. Without
 * a build (`npm run build`), `/console/` answers 404 saying so.
 */
export async function consoleRoutes(app: LoamApp, dist: string | undefined): Promise<void> {
  const config = { rateLimit: false as const };
  const schema = { hide: true };
  if (!dist) {
    app.get('/console', { config, schema }, async () => {
      throw new AppError('not_found', 404, 'The console is not built: run `npm run build`');
    });
    return;
  }
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(
    async (scope) => {
      scope.addHook('onSend', async (_request, reply: FastifyReply, payload) => {
        reply.header('content-security-policy', CONSOLE_CSP);
        return payload;
      });
      // A missing asset is a 404 (the app-wide handler would call it a 405: HEAD is routed for it).
      scope.setNotFoundHandler(async (request) => {
        throw new AppError('not_found', 404, `No route for ${request.method} ${request.url.split('?')[0]}`);
      });
      await scope.register(fastifyStatic, {
        root: join(dist, 'assets'),
        prefix: '/assets/',
        maxAge: ASSET_MAX_AGE,
        immutable: true,
        index: false,
        list: false,
        dotfiles: 'deny',
        schemaHide: true,
        redirect: false,
      });
      scope.get('/', { config, schema }, async (_request, reply) =>
        reply.header('cache-control', 'no-cache').sendFile('index.html', dist, { maxAge: 0, immutable: false, cacheControl: false }),
      );
    },
    { prefix: '/console' },
  );
}
