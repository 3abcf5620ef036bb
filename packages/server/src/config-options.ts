import { type TSchema, Type } from '@sinclair/typebox';

/**
 * Every option: its env var, its default, whether it is a secret (redacted in logs).
 * The README's configuration table is written from this list.
 */
export interface Option {
  env: string;
  schema: TSchema;
  doc: string;
  secret?: boolean;
}

export const bool = (d: boolean) => Type.Boolean({ default: d });
export const int = (d: number, min = 0, max = Number.MAX_SAFE_INTEGER) => Type.Integer({ default: d, minimum: min, maximum: max });
export const str = (d: string) => Type.String({ default: d });

/** The options of the gRPC, observatory, events and webhook modules (config.ts spreads them into its table). */
export const streamingOptions = {
  // grpc module: the data vault's DatasetService over gRPC (HTTP/2) beside gRPC-Web and Connect on the main port
  grpcEnabled: {
    env: 'LOAM_GRPC_ENABLED',
    schema: bool(true),
    doc: '`loam serve` also listens for gRPC on LOAM_GRPC_PORT (gRPC-Web and Connect are on the main port either way)',
  },
  grpcPort: { env: 'LOAM_GRPC_PORT', schema: int(9090, 0, 65535), doc: 'gRPC port: HTTP/2 on LOAM_HOST (0 = any free port)' },
  grpcTlsCert: {
    env: 'LOAM_GRPC_TLS_CERT',
    schema: str(''),
    doc: 'PEM certificate (chain) file for gRPC over TLS; empty = cleartext HTTP/2 (h2c)',
  },
  grpcTlsKey: { env: 'LOAM_GRPC_TLS_KEY', schema: str(''), doc: 'PEM private key file of LOAM_GRPC_TLS_CERT' },
  grpcMaxBulkRecords: {
    env: 'LOAM_GRPC_MAX_BULK_RECORDS',
    schema: int(1_000_000, 1, 100_000_000),
    doc: 'Most records one BulkInsertRecords stream inserts (one transaction; RESOURCE_EXHAUSTED beyond)',
  },
  grpcMaxMessageBytes: {
    env: 'LOAM_GRPC_MAX_MESSAGE_BYTES',
    schema: int(16 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    doc: 'Largest gRPC / Connect message received (after decompression)',
  },
  // observatory module
  logRetentionDays: {
    env: 'LOAM_LOG_RETENTION_DAYS',
    schema: int(14, 1, 3650),
    doc: 'Days log records and spans are kept, for tenants without a retention setting of their own',
  },
  logQuotaPerMinute: {
    env: 'LOAM_LOG_QUOTA_PER_MINUTE',
    schema: int(1_000_000, 1),
    doc: 'Log records (and spans) a tenant may ship per minute, across all instances on the database, unless its settings say otherwise (429 beyond)',
  },
  metricsToken: {
    env: 'LOAM_METRICS_TOKEN',
    schema: str(''),
    doc: 'Bearer token `/metrics` requires (`Authorization: Bearer …`); empty = `/metrics` is open',
    secret: true,
  },
  // events module
  eventsStreamPollMs: {
    env: 'LOAM_EVENTS_STREAM_POLL_MS',
    schema: int(250, 10, 60_000),
    doc: 'How often an instance with event-stream subscribers looks for events committed by other instances',
  },
  eventsHeartbeatMs: {
    env: 'LOAM_EVENTS_HEARTBEAT_MS',
    schema: int(15_000, 10),
    doc: 'Heartbeat interval (SSE comments) of the event stream',
  },
  eventsMaxBufferedBytes: {
    env: 'LOAM_EVENTS_MAX_BUFFERED_BYTES',
    schema: int(4 * 1024 * 1024, 4096),
    doc: 'An event-stream subscriber this far behind (bytes queued for its socket) is cut off with an error event',
  },
  webhookAllowPrivateTargets: {
    env: 'LOAM_WEBHOOK_ALLOW_PRIVATE_TARGETS',
    schema: bool(false),
    doc: 'Let webhooks reach loopback and private addresses (development and tests only: it turns off SSRF protection for webhooks)',
  },
  webhookTimeoutMs: { env: 'LOAM_WEBHOOK_TIMEOUT_MS', schema: int(10_000, 100, 60_000), doc: 'Time a webhook receiver has to answer' },
  webhookMaxFailures: {
    env: 'LOAM_WEBHOOK_MAX_FAILURES',
    schema: int(100, 1, 100_000),
    doc: 'Consecutive failed deliveries after which an endpoint is disabled (default of each endpoint)',
  },
  webhookConcurrency: {
    env: 'LOAM_WEBHOOK_CONCURRENCY',
    schema: int(4, 1, 256),
    doc: 'Deliveries of an endpoint in flight at once, across all instances (default of each endpoint)',
  },
} satisfies Record<string, Option>;
