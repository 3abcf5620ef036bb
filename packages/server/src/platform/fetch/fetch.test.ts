import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookupFunction } from 'node:net';
import { Agent, request } from 'undici';
import { FetchError, addressRefusal, checkedLookup, checkedTarget, safeFetch } from './index.js';

/** A fixture server on 127.0.0.1 that the tests reach with the test-only `allowLoopback`. */
let server: Server;
let base: string;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html><title>Fixture</title><body>hello</body></html>');
    } else if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/page' });
      res.end();
    } else if (url.pathname === '/loop') {
      res.writeHead(302, { location: '/loop' });
      res.end();
    } else if (url.pathname === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(5000));
    } else if (url.pathname === '/big-chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 10; i++) res.write('y'.repeat(1000));
      res.end();
    } else if (url.pathname === '/binary') {
      res.writeHead(200, { 'content-type': 'application/x-msdownload' });
      res.end('MZ');
    } else if (url.pathname === '/slow') {
      setTimeout(() => res.end('late'), 2000);
    } else if (url.pathname === '/fail') {
      res.writeHead(503);
      res.end();
    } else if (url.pathname === '/missing') {
      res.writeHead(404);
      res.end();
    } else {
      res.end('ok');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const refusedWith = async (promise: Promise<unknown>, code: string) => {
  const err = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(FetchError);
  expect((err as FetchError).code).toBe(code);
  return err as FetchError;
};

describe('addressRefusal: every refused address class', () => {
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['::1', /loopback/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['192.168.1.1', /private/],
    ['169.254.10.10', /link-local/],
    ['169.254.169.254', /metadata/],
    ['fd00:ec2::254', /metadata/],
    ['fe80::1', /link-local/],
    ['224.0.0.1', /multicast/],
    ['ff02::1', /multicast/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.254', /carrier-grade NAT/],
    ['fc00::1', /unique-local/],
    ['fdff::1', /unique-local/],
    ['::ffff:127.0.0.1', /IPv4-mapped/],
    ['::ffff:8.8.8.8', /IPv4-mapped/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['::', /unspecified/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
  ];
  for (const [address, reason] of refused) {
    it(`refuses ${address}`, () => {
      expect(addressRefusal(address)).toMatch(reason);
    });
  }
  it('accepts public unicast addresses', () => {
    expect(addressRefusal('8.8.8.8')).toBeNull();
    expect(addressRefusal('93.184.216.34')).toBeNull();
    expect(addressRefusal('2606:4700:4700::1111')).toBeNull();
  });
  it('loopback only with the test-only option, and nothing else with it', () => {
    expect(addressRefusal('127.0.0.1', { allowLoopback: true })).toBeNull();
    expect(addressRefusal('10.0.0.1', { allowLoopback: true })).toMatch(/private/);
    expect(addressRefusal('169.254.169.254', { allowLoopback: true })).toMatch(/metadata/);
  });
});

describe('safeFetch', () => {
  it('fetches from an allowed address and reports the type', async () => {
    const res = await safeFetch(`${base}/page`, { allowLoopback: true });
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('text/html');
    expect(res.body.toString()).toContain('Fixture');
  });

  it('refuses loopback by default, before any request is sent', async () => {
    const before = hits.length;
    const err = await refusedWith(safeFetch(`${base}/page`), 'blocked_address');
    expect(err.message).toMatch(/loopback/);
    expect(err.transient).toBe(false);
    expect(hits.length).toBe(before);
  });

  it('refuses a hostname that resolves to 127.0.0.1 (localhost)', async () => {
    await refusedWith(safeFetch(`http://localhost:${port}/page`), 'blocked_address');
  });

  it('refuses a hostname whose custom resolution is private, or mixes public and private', async () => {
    await refusedWith(
      safeFetch('http://internal.example/', { resolve: async () => [{ address: '10.0.0.5', family: 4 }] }),
      'blocked_address',
    );
    await refusedWith(
      safeFetch('http://mixed.example/', {
        resolve: async () => [
          { address: '93.184.216.34', family: 4 },
          { address: '192.168.0.1', family: 4 },
        ],
      }),
      'blocked_address',
    );
  });

  it('refuses decimal, octal and hex spellings of loopback', async () => {
    for (const spelled of ['2130706433', '0177.0.0.1', '0x7f.0.0.1', '127.1', '017700000001']) {
      const err = await refusedWith(safeFetch(`http://${spelled}:${port}/page`), 'blocked_address');
      expect(err.message).toMatch(/loopback/);
    }
  });

  it('refuses IPv6 literals in refused ranges, including IPv4-mapped', async () => {
    await refusedWith(safeFetch('http://[::1]/'), 'blocked_address');
    await refusedWith(safeFetch('http://[::ffff:7f00:1]/'), 'blocked_address');
    await refusedWith(safeFetch('http://[::ffff:169.254.169.254]/'), 'blocked_address');
    await refusedWith(safeFetch('http://[fd00:ec2::254]/latest/meta-data/'), 'blocked_address');
    await refusedWith(safeFetch('http://169.254.169.254/latest/meta-data/'), 'blocked_address');
    await refusedWith(safeFetch('http://100.64.1.1/'), 'blocked_address');
    await refusedWith(safeFetch('http://0.0.0.0/'), 'blocked_address');
  });

  it('refuses other schemes and URLs with credentials', async () => {
    for (const u of ['file:///etc/passwd', 'ftp://example.com/x', 'gopher://example.com/', 'data:text/plain,hi', 'not a url'])
      await refusedWith(safeFetch(u), 'invalid_url');
    await refusedWith(safeFetch('http://user:pw@example.com/'), 'invalid_url');
  });

  it('re-checks each redirect: a public page redirecting into a private range is refused', async () => {
    // The first hop is allowed (test-only loopback); its redirect into 10/8 and to metadata are refused.
    await refusedWith(safeFetch(`${base}/redirect?to=http://10.0.0.1/admin`, { allowLoopback: true }), 'blocked_address');
    await refusedWith(
      safeFetch(`${base}/redirect?to=http://169.254.169.254/latest/meta-data/`, { allowLoopback: true }),
      'blocked_address',
    );
    const ok = await safeFetch(`${base}/redirect?to=/page`, { allowLoopback: true });
    expect(ok.url).toBe(`${base}/page`);
  });

  it('stops after 5 redirects', async () => {
    const err = await refusedWith(safeFetch(`${base}/loop`, { allowLoopback: true }), 'too_many_redirects');
    expect(err.transient).toBe(false);
  });

  it('pins the checked address: DNS is asked once per hop and the answer used is the one checked', async () => {
    const answers = ['127.0.0.1', '10.0.0.1'];
    let calls = 0;
    const res = await safeFetch(`http://rebind.test:${port}/page`, {
      allowLoopback: true,
      resolve: async () => [{ address: answers[Math.min(calls++, 1)], family: 4 }],
    });
    expect(res.address).toBe('127.0.0.1');
    expect(calls).toBe(1);
    expect(res.body.toString()).toContain('Fixture');
  });

  it('caps the body size (declared and streamed)', async () => {
    await refusedWith(safeFetch(`${base}/big`, { allowLoopback: true, maxBytes: 1000 }), 'too_large');
    await refusedWith(safeFetch(`${base}/big-chunked`, { allowLoopback: true, maxBytes: 5000 }), 'too_large');
    const ok = await safeFetch(`${base}/big-chunked`, { allowLoopback: true, maxBytes: 10_000 });
    expect(ok.body.length).toBe(10_000);
  });

  it('enforces the content-type allowlist', async () => {
    const allowed = ['text/html', 'text/*'];
    await refusedWith(safeFetch(`${base}/binary`, { allowLoopback: true, allowedContentTypes: allowed }), 'unsupported_content_type');
    expect((await safeFetch(`${base}/big`, { allowLoopback: true, allowedContentTypes: allowed })).status).toBe(200);
  });

  it('times out (transient)', async () => {
    const err = await refusedWith(safeFetch(`${base}/slow`, { allowLoopback: true, timeoutMs: 200 }), 'timeout');
    expect(err.transient).toBe(true);
  });

  it('classifies HTTP errors: 5xx transient, 4xx permanent', async () => {
    expect((await refusedWith(safeFetch(`${base}/fail`, { allowLoopback: true }), 'http_error')).transient).toBe(true);
    expect((await refusedWith(safeFetch(`${base}/missing`, { allowLoopback: true }), 'http_error')).transient).toBe(false);
  });

  it('connection refused is transient', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const p = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await refusedWith(safeFetch(`http://127.0.0.1:${p}/`, { allowLoopback: true }), 'network_error');
    expect(err.transient).toBe(true);
  });
});

describe('checkedLookup / checkedTarget (keep-alive pools, as the webhook sender uses)', () => {
  const lookupOf = (fn: LookupFunction, host: string) =>
    new Promise<unknown>((resolve, reject) => fn(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

  it('refuses a host resolving to a private address unless allowed, and connects to the address it checked', async () => {
    let allowPrivate = false;
    const lookup = checkedLookup(() => ({ allowPrivate, resolve: async () => [{ address: '10.1.2.3', family: 4 }] }));
    await expect(lookupOf(lookup, 'hooks.example.com')).rejects.toMatchObject({ code: 'blocked_address' });
    allowPrivate = true;
    expect(await lookupOf(lookup, 'hooks.example.com')).toEqual([{ address: '10.1.2.3', family: 4 }]);
  });

  it('a pool whose lookup refuses never connects; IP literals are checked before the request', async () => {
    const agent = new Agent({ connect: { lookup: checkedLookup(() => ({})) } });
    try {
      const before = hits.length;
      await expect(request(`http://localhost:${port}/page`, { dispatcher: agent })).rejects.toMatchObject({ code: 'blocked_address' });
      expect(hits.length).toBe(before);
    } finally {
      await agent.close();
    }
    expect(() => checkedTarget(new URL('http://169.254.169.254/'), { allowPrivate: true })).toThrow(FetchError);
    expect(() => checkedTarget(new URL('http://127.0.0.1/'), {})).toThrow(FetchError);
    expect(() => checkedTarget(new URL('http://127.0.0.1/'), { allowPrivate: true })).not.toThrow();
  });
});
