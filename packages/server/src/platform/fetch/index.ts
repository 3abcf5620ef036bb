import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * SSRF-safe outbound HTTP: the fetcher Loam uses for every URL a user hands it (content
 * ingestion, callbacks, webhooks). It resolves the host itself, refuses any address that is not
 * public unicast, and connects to exactly the address it checked (so a DNS answer that changes
 * between check and connect — DNS rebinding — cannot redirect the connection). Every redirect is
 * checked the same way.
 */

export type FetchErrorCode =
  | 'invalid_url'
  | 'blocked_address'
  | 'dns_failure'
  | 'timeout'
  | 'too_large'
  | 'too_many_redirects'
  | 'unsupported_content_type'
  | 'http_error'
  | 'network_error';

export class FetchError extends Error {
  constructor(
    readonly code: FetchErrorCode,
    message: string,
    /** Worth retrying later (timeouts, connection failures, 5xx, 429). */
    readonly transient = false,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafeFetchOptions {
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole request, redirects included (default 10 s). */
  timeoutMs?: number;
  /** Response bodies larger than this are refused (default 100 MB). */
  maxBytes?: number;
  /** Default 5. */
  maxRedirects?: number;
  /** Media types (`text/html`, `text/*`) accepted; absent = any. A response without a type counts as `application/octet-stream`. */
  allowedContentTypes?: readonly string[];
  /** Test-only: lets a test reach its own fixture server on 127.0.0.1 / ::1. Never set from configuration. */
  allowLoopback?: boolean;
  /**
   * Loopback and private (RFC 1918, unique-local, link-local) targets too; cloud metadata
   * addresses stay refused. Only for a documented development setting (LOAM_WEBHOOK_ALLOW_PRIVATE_TARGETS).
   */
  allowPrivate?: boolean;
  /** Default true; false: a 3xx is the final answer (an `http_error`, or returned with `acceptAnyStatus`). */
  followRedirects?: boolean;
  /** Return every final answer, whatever its status, instead of throwing `http_error` for non-2xx. */
  acceptAnyStatus?: boolean;
  /** Read at most this many bytes of the body and stop there (the body is cut, not refused). */
  keepBytes?: number;
  /** Test hook replacing DNS resolution. */
  resolve?: Resolver;
  signal?: AbortSignal;
  userAgent?: string;
}

export interface SafeFetchResponse {
  status: number;
  headers: IncomingMessage['headers'];
  /** Media type without parameters, lower-case; empty when the server sent none. */
  contentType: string;
  body: Buffer;
  /** The URL finally answered, after redirects. */
  url: string;
  /** The address connected to. */
  address: string;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
export const DEFAULT_FETCH_MAX_BYTES = 100 * 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 5;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Why an address is refused, by ipaddr.js range name (everything not public unicast is refused). */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'unspecified (0.0.0.0/8 or ::)',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  private: 'private',
  reserved: 'reserved',
  uniqueLocal: 'unique-local IPv6 (fc00::/7)',
  ipv4Mapped: 'IPv4-mapped IPv6',
  rfc6145: 'IPv4-translated IPv6',
  rfc6052: 'IPv4/IPv6 translation',
  '6to4': '6to4',
  teredo: 'Teredo',
  benchmarking: 'benchmarking',
  amt: 'AMT',
  as112: 'AS112',
  as112v6: 'AS112',
  deprecated: 'deprecated',
  orchid2: 'ORCHID',
  droneRemoteIdProtocolEntityTags: 'reserved',
};

const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);

/**
 * Whether `address` (an IP literal) may be connected to; returns the refusal reason or null.
 * Only public unicast passes: loopback, private, link-local (incl. cloud metadata), multicast,
 * CGNAT, unique-local, IPv4-mapped and every other special range are refused.
 */
export function addressRefusal(address: string, opts: { allowLoopback?: boolean; allowPrivate?: boolean } = {}): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return 'not an IP address';
  }
  const normalized = ip.toNormalizedString();
  if (METADATA_ADDRESSES.has(normalized) || METADATA_ADDRESSES.has(ip.toString())) return 'a cloud metadata address';
  const range = ip.range();
  if (range === 'unicast') return null;
  if (range === 'loopback' && (opts.allowLoopback || opts.allowPrivate)) return null;
  if (opts.allowPrivate && ['private', 'uniqueLocal', 'linkLocal', 'ipv4Mapped'].includes(range)) return null;
  return `a ${RANGE_NAMES[range] ?? range} address`;
}

const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Resolves `url`'s host and checks every address; returns the one to connect to. */
async function resolveChecked(url: URL, opts: SafeFetchOptions): Promise<ResolvedAddress> {
  // WHATWG URL parsing already turned 2130706433, 0177.0.0.1 and 0x7f.1 into dotted quads.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let candidates: ResolvedAddress[];
  if (ipaddr.isValid(host)) {
    candidates = [{ address: host, family: host.includes(':') ? 6 : 4 }];
  } else {
    try {
      candidates = await (opts.resolve ?? systemResolver)(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new FetchError('dns_failure', `Cannot resolve ${host}${code ? ` (${code})` : ''}`, code === 'EAI_AGAIN');
    }
    if (candidates.length === 0) throw new FetchError('dns_failure', `Cannot resolve ${host}`);
  }
  // Every answer must be acceptable: a name that resolves to a public and a private address is refused.
  for (const c of candidates) {
    const refusal = addressRefusal(c.address, opts);
    if (refusal) throw new FetchError('blocked_address', `Refusing to connect to ${host}: it resolves to ${refusal}`);
  }
  return candidates[0];
}

/**
 * A `lookup` for the sockets of a keep-alive pool (e.g. an undici Agent's `connect.lookup`): each
 * new connection resolves the host, refuses it as `safeFetch` would when any answer is not an
 * allowed address, and connects to the address it checked. `opts` is read at every lookup.
 * Hosts that are IP literals are not looked up by the socket: check them with `checkedTarget`.
 */
export function checkedLookup(opts: () => Pick<SafeFetchOptions, 'allowLoopback' | 'allowPrivate' | 'resolve'>): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(new URL(`http://${hostname.includes(':') ? `[${hostname}]` : hostname}/`), opts()).then(
      (pinned) => {
        if ((options as { all?: boolean }).all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
        else callback(null, pinned.address, pinned.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 4),
    );
  };
}

/** Throws `blocked_address` when `url`'s host is an IP literal that may not be connected to. */
export function checkedTarget(url: URL, opts: Pick<SafeFetchOptions, 'allowLoopback' | 'allowPrivate'>): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(host)) return;
  const refusal = addressRefusal(host, opts);
  if (refusal) throw new FetchError('blocked_address', `Refusing to connect to ${host}: it is ${refusal}`);
}

export function parseFetchUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchError('invalid_url', `Not a valid URL: ${raw.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new FetchError('invalid_url', `Only http and https URLs can be fetched, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw new FetchError('invalid_url', 'URLs with credentials are not fetched');
  return url;
}

const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0].trim().toLowerCase();

function typeAllowed(type: string, allowed: readonly string[]): boolean {
  const t = type || 'application/octet-stream';
  return allowed.some((a) => a === t || (a.endsWith('/*') && t.startsWith(a.slice(0, -1))));
}

/** One request to one checked address, no redirects followed. */
function requestOnce(
  url: URL,
  pinned: ResolvedAddress,
  opts: SafeFetchOptions,
  method: string,
  body: string | Buffer | undefined,
  signal: AbortSignal,
  maxBytes: number,
): Promise<SafeFetchResponse> {
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method,
        lookup,
        signal,
        agent: false, // no pooled sockets: each connection goes to the address checked for it
        headers: {
          'user-agent': opts.userAgent ?? 'Loam/0.1 (+https://loam.dev)',
          'accept-encoding': 'identity',
          ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const declared = Number(res.headers['content-length']);
        if (!REDIRECTS.has(status) && Number.isFinite(declared) && declared > maxBytes) {
          res.destroy();
          reject(new FetchError('too_large', `The response is larger than ${maxBytes} bytes`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          resolve({
            status,
            headers: res.headers,
            contentType: mediaType(res.headers['content-type']),
            body: Buffer.concat(chunks),
            url: url.toString(),
            address: pinned.address,
          });
        res.on('data', (chunk: Buffer) => {
          if (opts.keepBytes !== undefined && size + chunk.length >= opts.keepBytes) {
            chunks.push(chunk.subarray(0, opts.keepBytes - size));
            done();
            res.destroy();
            return;
          }
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            reject(new FetchError('too_large', `The response is larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', done);
        res.on('error', (err) => reject(networkError(err, signal)));
      },
    );
    req.on('error', (err) => reject(networkError(err, signal)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function networkError(err: Error, signal: AbortSignal): FetchError {
  if (err instanceof FetchError) return err;
  if (signal.aborted) {
    const reason = signal.reason as Error | undefined;
    if (reason?.name === 'TimeoutError') return new FetchError('timeout', 'The server did not answer in time', true);
    return new FetchError('network_error', `The request was aborted${reason?.message ? `: ${reason.message}` : ''}`, true);
  }
  const code = (err as NodeJS.ErrnoException).code;
  return new FetchError('network_error', `Connection failed${code ? ` (${code})` : ''}: ${err.message}`, true);
}

/**
 * Fetches `rawUrl` safely (see the module comment). Throws FetchError for every refusal and
 * failure; `transient` says whether trying again later makes sense. Non-2xx final answers are
 * errors too (`http_error`), transient for 5xx and 429.
 */
export async function safeFetch(rawUrl: string, opts: SafeFetchOptions = {}): Promise<SafeFetchResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_FETCH_MAX_BYTES;
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let url = parseFetchUrl(rawUrl);
  let method: string = opts.method ?? 'GET';
  let body = opts.body;
  for (let hop = 0; ; hop++) {
    const pinned = await resolveChecked(url, opts);
    if (signal.aborted) throw networkError(new Error('aborted'), signal);
    const res = await requestOnce(url, pinned, opts, method, body, signal, maxBytes);
    if (REDIRECTS.has(res.status) && res.headers.location && opts.followRedirects !== false) {
      if (hop >= maxRedirects) throw new FetchError('too_many_redirects', `More than ${maxRedirects} redirects`);
      url = parseFetchUrl(new URL(res.headers.location, url).toString());
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      continue;
    }
    if ((res.status < 200 || res.status > 299) && !opts.acceptAnyStatus)
      throw new FetchError('http_error', `The server answered ${res.status}`, res.status >= 500 || res.status === 429, res.status);
    if (opts.allowedContentTypes && method !== 'HEAD' && !typeAllowed(res.contentType, opts.allowedContentTypes))
      throw new FetchError('unsupported_content_type', `Unsupported content type ${res.contentType || '(none)'}`);
    return res;
  }
}
