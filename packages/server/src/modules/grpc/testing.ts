import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ at the repository root. */
export const PROTO_DIR = join(import.meta.dirname, '../../../../../proto');

/** A stock gRPC client (grpc-js, the proto loaded by proto-loader) for a service of proto/. */
export function stockClient(file: string, service: string, address: string, options: grpc.ClientOptions = {}): any {
  const definition = protoLoader.loadSync(join(PROTO_DIR, file), {
    includeDirs: [PROTO_DIR],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  let node: any = grpc.loadPackageDefinition(definition);
  for (const part of service.split('.')) node = node[part];
  return new node(address, grpc.credentials.createInsecure(), options);
}

/** Metadata with an API key. */
export function keyMetadata(key: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-api-key', key);
  return m;
}

/** A unary call as a promise. */
export function unary<T>(client: any, method: string, req: unknown, metadata: grpc.Metadata, options: grpc.CallOptions = {}): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](req, metadata, options, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

/** Everything a server stream sends, or its error. */
export function collect<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    call.on('data', (m: T) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}
