/**
 * The typed gRPC / Connect client of the data vault's `llm_data_vault.v1.DatasetService`
 * (docs/grpc.md). Over fetch it speaks the Connect protocol (default) or gRPC-Web to Loam's main
 * port, in browsers, Node, Deno and Bun: unary calls and server streams (`streamRecords`). Client
 * and bidirectional streams (`bulkInsertRecords`, `processRecords`) need HTTP/2: in Node pass a
 * gRPC transport from `@connectrpc/connect-node` for LOAM_GRPC_PORT.
 * @example
 * import { createDatasetServiceClient } from '@loam/sdk/grpc';
 * const vault = createDatasetServiceClient({ baseUrl: 'http://localhost:8080', apiKey: process.env.LOAM_API_KEY });
 * for await (const record of vault.streamRecords({ datasetId: 'ds_…' })) console.log(record.id);
 * @example
 * // Node, all four modes over native gRPC:
 * import { createGrpcTransport } from '@connectrpc/connect-node';
 * const vault = createDatasetServiceClient({ apiKey, transport: createGrpcTransport({ baseUrl: 'http://localhost:9090' }) });
 */
import { type Client, type Transport, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-web';
import { DatasetService } from '@loam/api/grpc';

export * from '@loam/api/grpc';
export { Code, ConnectError } from '@connectrpc/connect';

export type DatasetServiceClient = Client<typeof DatasetService>;

export interface GrpcClientOptions {
  /** Loam's main URL (Connect and gRPC-Web); ignored when `transport` is given. Default LOAM_URL or http://127.0.0.1:8080. */
  baseUrl?: string;
  /** An API key, sent as `x-api-key` on every call. */
  apiKey?: string;
  /** A bearer token (a Loam JWT or an OIDC token), sent as `authorization: Bearer …`. */
  token?: string;
  /** `connect` (default) or `grpc-web`, over fetch. */
  protocol?: 'connect' | 'grpc-web';
  /** A transport of your own (e.g. `createGrpcTransport` of `@connectrpc/connect-node` for HTTP/2 gRPC). */
  transport?: Transport;
  /** A fetch of your own (for the fetch transports). */
  fetch?: typeof globalThis.fetch;
}

const envUrl = (): string | undefined => (typeof process === 'undefined' ? undefined : process.env?.LOAM_URL);

/** `transport` sending the credential as metadata on every call (unless the call sets its own). */
function withCredential(transport: Transport, opts: GrpcClientOptions): Transport {
  const credential: [string, string] | undefined = opts.apiKey
    ? ['x-api-key', opts.apiKey]
    : opts.token
      ? ['authorization', `Bearer ${opts.token}`]
      : undefined;
  if (!credential) return transport;
  const merge = (header: HeadersInit | undefined) => {
    const out = new Headers(header);
    if (!out.has('x-api-key') && !out.has('authorization')) out.set(...credential);
    return out;
  };
  return {
    unary: (method, signal, timeoutMs, header, input, values) => transport.unary(method, signal, timeoutMs, merge(header), input, values),
    stream: (method, signal, timeoutMs, header, input, values) => transport.stream(method, signal, timeoutMs, merge(header), input, values),
  };
}

/** A typed client of `llm_data_vault.v1.DatasetService`; every method has its proto's request and response types. */
export function createDatasetServiceClient(opts: GrpcClientOptions = {}): DatasetServiceClient {
  const baseUrl = opts.baseUrl ?? envUrl() ?? 'http://127.0.0.1:8080';
  const transport =
    opts.transport ??
    (opts.protocol === 'grpc-web'
      ? createGrpcWebTransport({ baseUrl, fetch: opts.fetch })
      : createConnectTransport({ baseUrl, fetch: opts.fetch }));
  return createClient(DatasetService, withCredential(transport, opts));
}
