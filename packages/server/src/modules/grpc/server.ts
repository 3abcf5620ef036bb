import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { ConnectRouter, ConnectRouterOptions } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Platform } from '../../platform/module.js';
import { callValues } from './call-context.js';
import type { HealthService } from './health.js';
import { errorMapping } from './streams.js';

/**
 * HTTP/2 receive windows: how much a client may send ahead of what the handlers have read (per
 * call, per connection). HTTP/2's default, 64 KiB, is less than one message of 1,000 records: a
 * client stream then waits for a window update round trip every message. Reading stays paced by
 * the handlers (BulkInsertRecords reads no faster than it inserts), so this bounds what is
 * buffered.
 */
const STREAM_WINDOW = 1024 * 1024;
const CONNECTION_WINDOW = 4 * 1024 * 1024;

/** What both the HTTP/2 listener and the main port's plugin are built with. */
export function routerOptions(platform: Platform, shutdownSignal?: AbortSignal): ConnectRouterOptions {
  return {
    interceptors: [errorMapping((err) => platform.log.error({ err }, 'gRPC handler failed'))],
    readMaxBytes: platform.config.grpcMaxMessageBytes,
    // gzip (and brotli) are accepted and answered in when the client asks for them.
    compressMinBytes: 1024,
    shutdownSignal,
  };
}

/**
 * The gRPC listener: HTTP/2 on LOAM_GRPC_PORT, cleartext (h2c) or TLS with LOAM_GRPC_TLS_CERT /
 * _KEY (then HTTP/1.1 is accepted too, for gRPC-Web and Connect). One Connect handler speaks
 * gRPC, gRPC-Web and Connect. Closing stops new calls, reports NOT_SERVING, and ends the calls
 * still running after the shutdown deadline.
 */
export class GrpcServer {
  private server: http2.Http2Server | undefined;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly shutdown = new AbortController();

  constructor(
    private readonly platform: Platform,
    private readonly routes: (router: ConnectRouter) => void,
    private readonly health: HealthService,
  ) {}

  /** Starts listening (port 0: any free one); the address it listens on. */
  async listen(port = this.platform.config.grpcPort, host = this.platform.config.host): Promise<AddressInfo> {
    const config = this.platform.config;
    const handler = connectNodeAdapter({
      ...routerOptions(this.platform, this.shutdown.signal),
      routes: this.routes,
      contextValues: (req) => callValues(req, req.socket.remoteAddress ?? ''),
    });
    const settings = { initialWindowSize: STREAM_WINDOW };
    const server = config.grpcTlsCert
      ? http2.createSecureServer(
          { cert: readFileSync(config.grpcTlsCert), key: readFileSync(config.grpcTlsKey), allowHTTP1: true, settings },
          handler,
        )
      : http2.createServer({ settings }, handler);
    server.on('session', (session) => {
      session.setLocalWindowSize(CONNECTION_WINDOW);
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    this.platform.log.info({ port: address.port, tls: Boolean(config.grpcTlsCert) }, 'gRPC listening');
    return address;
  }

  async close(deadlineMs = this.platform.config.shutdownTimeoutMs): Promise<void> {
    this.health.stop();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sessions) s.close(); // no new streams; running calls go on
    const timer = setTimeout(() => {
      this.shutdown.abort();
      for (const s of this.sessions) s.destroy();
    }, deadlineMs);
    await closed;
    clearTimeout(timer);
  }
}
