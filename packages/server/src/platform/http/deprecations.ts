import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { addRouteHook } from './route-hooks.js';

/** A deprecated route: announced on each of its responses until (and after) its sunset. */
export interface DeprecatedRoute {
  method: string;
  /** The route's URL as registered (`/api/v1/things/:id`). */
  url: string;
  /** When it was deprecated (RFC 3339): the `Deprecation` header (RFC 9745), `@<epoch seconds>`. */
  deprecatedAt: string;
  /** When it stops being served (RFC 3339): the `Sunset` header (RFC 8594), an HTTP date. */
  sunset?: string;
  /** Where to go instead: `Link: <successor>; rel="successor-version"`. */
  successor?: string;
}

/**
 * The declarative list of deprecated routes. Add an entry when a route is replaced; its responses
 * then carry `Deprecation`, `Sunset` and `Link` headers (contracts/api-v1.md versioning).
 */
export const DEPRECATED_ROUTES: readonly DeprecatedRoute[] = [];

/** An `onRoute` listener that adds the headers to the routes `list` names (and to no other). */
export function deprecationHeaders(list: readonly DeprecatedRoute[] = DEPRECATED_ROUTES) {
  return (route: RouteOptions): void => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const entry = list.find((d) => d.url === route.url && methods.includes(d.method.toUpperCase() as never));
    if (!entry) return;
    const headers: [string, string][] = [['deprecation', `@${Math.floor(Date.parse(entry.deprecatedAt) / 1000)}`]];
    if (entry.sunset) headers.push(['sunset', new Date(entry.sunset).toUTCString()]);
    if (entry.successor) headers.push(['link', `<${entry.successor}>; rel="successor-version"`]);
    addRouteHook(route, 'onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if (
        request.method.toUpperCase() === entry.method.toUpperCase() ||
        (request.method === 'HEAD' && entry.method.toUpperCase() === 'GET')
      )
        for (const [k, v] of headers) reply.header(k, v);
      done();
    });
  };
}
