import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
}

/** A real HTTP receiver: records every request; `answer` decides the status (and may delay). */
export async function receiver(answer: (r: Received) => number | Promise<number> = () => 200) {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString(), path: req.url ?? '' };
      got.push(r);
      const status = await answer(r);
      if (status === 302) res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
      else res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status >= 400 ? `nope ${'x'.repeat(3000)}` : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { got, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}
