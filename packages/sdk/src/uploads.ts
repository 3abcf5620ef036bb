import { LoamError } from './errors.js';

/**
 * What can be uploaded: a `Blob`/`File`, bytes (`ArrayBuffer`, `Uint8Array`, Node `Buffer`), a web
 * `ReadableStream`, any async iterable of bytes (a Node `Readable`), or — with `@loam/sdk/node` —
 * a file path.
 */
export type Uploadable = Blob | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | string;

/** Reported while an upload's bytes leave the client. */
export interface UploadProgress {
  loaded: number;
  /** Total bytes when known up front (Blobs, buffers, file paths). */
  total?: number;
}

/** An upload ready to send: a body plus what is known about it. @internal */
export interface UploadSource {
  body: Blob | Uint8Array | ReadableStream<Uint8Array>;
  size?: number;
  name?: string;
  type?: string;
}

/** Normalizes any {@link Uploadable}; paths need a resolver (the Node entry provides one). */
export async function toUploadSource(file: Uploadable, resolvePath?: (path: string) => Promise<UploadSource>): Promise<UploadSource> {
  if (typeof file === 'string') {
    if (!resolvePath) throw new LoamError('Uploading a file path needs the Node entry: import { Loam } from "@loam/sdk/node"');
    return resolvePath(file);
  }
  if (typeof Blob !== 'undefined' && file instanceof Blob) {
    const name = (file as Blob & { name?: string }).name;
    return { body: file, size: file.size, name: name || undefined, type: file.type || undefined };
  }
  if (file instanceof ArrayBuffer) return { body: new Uint8Array(file), size: file.byteLength };
  if (ArrayBuffer.isView(file)) {
    const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
    return { body: bytes, size: bytes.byteLength };
  }
  if (file instanceof ReadableStream) return { body: file };
  if (Symbol.asyncIterator in (file as object)) {
    const name = (file as { path?: unknown }).path; // Node fs.ReadStream carries its path
    return { body: iterableToStream(file as AsyncIterable<Uint8Array>), name: typeof name === 'string' ? basename(name) : undefined };
  }
  throw new LoamError('Unsupported upload: pass a Blob, bytes, a ReadableStream, an async iterable of bytes or (Node) a path');
}

/**
 * Browsers send a streamed request body only over HTTP/2 (Chromium fails HTTP/1.1 with
 * ERR_ALPN_NEGOTIATION_FAILED), and most self-hosted Loams and pre-signed URLs speak HTTP/1.1.
 */
const IN_BROWSER =
  typeof (globalThis as { document?: unknown }).document !== 'undefined' ||
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

/**
 * The body to send; when progress is wanted the bytes flow through a counting stream. In a browser
 * a Blob or bytes are sent whole (progress is reported at the start and, by the caller, at the end).
 */
export function uploadBody(source: UploadSource, onProgress?: (p: UploadProgress) => void): Blob | Uint8Array | ReadableStream<Uint8Array> {
  if (!onProgress) return source.body;
  if (IN_BROWSER && !(source.body instanceof ReadableStream)) {
    onProgress({ loaded: 0, total: source.size });
    return source.body;
  }
  const stream =
    source.body instanceof ReadableStream
      ? source.body
      : source.body instanceof Uint8Array
        ? new Blob([source.body as Uint8Array<ArrayBuffer>]).stream()
        : source.body.stream();
  let loaded = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        controller.enqueue(chunk);
        onProgress({ loaded, total: source.size });
      },
    }),
  );
}

function iterableToStream(iterable: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = iterable[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) controller.close();
      else
        controller.enqueue(
          typeof value === 'string' ? new TextEncoder().encode(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
        );
    },
    async cancel() {
      await it.return?.();
    },
  });
}

const basename = (p: string) => p.split(/[\\/]/).pop() || p;

/** A content type guessed from a file name, for when the caller gives none. */
export function guessContentType(name: string | undefined): string {
  const ext = name?.toLowerCase().split('.').pop() ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}

const TYPES: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
  csv: 'text/csv',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  jsonl: 'application/x-ndjson',
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xml: 'application/xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
};
