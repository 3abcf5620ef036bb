import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { lazyCompilersFactory } from './lazy-compilers.js';
import type { LoamApp } from './server.js';

/** Response headers not copied from the documentation app (the outer reply sets its own). */
const HOP_HEADERS = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

/**
 * `GET /openapi.json` and the Swagger UI under `/docs`, built on the first request for either
 * rather than at start: @fastify/swagger, @fastify/swagger-ui and what they load (@fastify/static,
 * yaml, glob, …) cost ~2 MB of heap and ~20 routes that most processes never serve.
 *
 * The first request builds a separate Fastify instance holding the two plugins and a copy of
 * every route of `app` (same method, URL, schema and config; handlers that are never called), so
 * @fastify/swagger generates the document from exactly the routes and schemas it would have seen
 * registered on `app` itself. Hidden routes (`schema.hide`) are left out, as the plugin would
 * leave them out of the document; HEAD routes too (Fastify adds them again for GET routes, and
 * the plugin does not document them). `/docs` requests are passed to that instance with
 * `inject` and answered from `app`, so they go through `app`'s hooks (compression, logs, metrics).
 * The copy is taken on the first request, once `app` is ready and every route is registered.
 */
export function docsRoutes(app: LoamApp, openapi: FastifyDynamicSwaggerOptions['openapi']): void {
  let docs: Promise<FastifyInstance> | undefined;
  const docsApp = () => {
    docs ??= build(app, openapi).catch((err) => {
      docs = undefined; // a failed build is retried on the next request
      throw err;
    });
    return docs;
  };

  app.get('/openapi.json', { config: { rateLimit: false }, schema: { hide: true } }, async () => (await docsApp()).swagger());

  // Asked as GET, also for HEAD: `app` answers HEAD from the GET response (length, no body).
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const res = await (await docsApp()).inject({ method: 'GET', url: request.url, headers: request.headers });
    if (res.statusCode === 404) throw new AppError('not_found', 404, `No route for ${request.method} ${request.url.split('?')[0]}`);
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined || HOP_HEADERS.has(name)) continue;
      // The plugin's CSP would send a browser to https for every asset, breaking plain-http deployments.
      if (name === 'content-security-policy') reply.header(name, String(value).replace(/\s*upgrade-insecure-requests;?/, ''));
      else reply.header(name, value);
    }
    reply.code(res.statusCode);
    // A redirect or a 304 has no body, and no content type to give one.
    return res.rawPayload.length > 0 || res.headers['content-type'] ? reply.send(res.rawPayload) : reply.send();
  };
  app.get('/docs', { config: { rateLimit: false }, schema: { hide: true } }, forward);
  app.get('/docs/*', { config: { rateLimit: false }, schema: { hide: true } }, forward);
}

async function build(app: LoamApp, openapi: FastifyDynamicSwaggerOptions['openapi']): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')]);
  // The routes' schemas are not compiled: nothing is validated or serialized here.
  const docs = Fastify({ schemaController: { compilersFactory: lazyCompilersFactory } });
  await docs.register(swagger, { openapi });
  await docs.register(swaggerUi, { routePrefix: '/docs', staticCSP: true }); // a CSP allowing its own page
  const handler = async () => undefined;
  for (const route of app.registeredRoutes()) {
    if (route.method === 'HEAD' || (route.schema as { hide?: boolean } | undefined)?.hide) continue;
    docs.route({ method: route.method, url: route.url, schema: route.schema, config: route.config, handler });
  }
  await docs.ready();
  return docs;
}
