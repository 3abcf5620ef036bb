/**
 * The extraction worker thread (started by `ExtractionPool`, isolate.ts): extracts one document
 * at a time, off the server's event loop and inside its own heap cap, and answers with the text
 * or with a failure Loam can word. Nothing here touches the database.
 */
import { parentPort } from 'node:worker_threads';
import { ExtractionError, type ExtractOptions, countWords, extractContent } from './extract.js';

/** This module's own URL: what the worker thread imports. */
export const workerUrl = import.meta.url;

export interface ExtractRequest {
  id: number;
  bytes: Uint8Array;
  contentType?: string;
  filename?: string;
  options: ExtractOptions;
}

export type ExtractReply =
  | { id: number; ok: true; result: import('./extract.js').Extracted & { wordCount: number } }
  | { id: number; ok: false; permanent: boolean; message: string };

/** Runs in the worker thread: answers each request with its result or its failure. */
export function serve(): void {
  const port = parentPort;
  if (!port) throw new Error('serve() runs in a worker thread');
  port.on('message', (req: ExtractRequest) => {
    const bytes = Buffer.from(req.bytes.buffer, req.bytes.byteOffset, req.bytes.byteLength);
    extractContent(bytes, req.contentType, req.filename, req.options).then(
      (result) =>
        port.postMessage({ id: req.id, ok: true, result: { ...result, wordCount: countWords(result.text) } } satisfies ExtractReply),
      (err: unknown) => {
        // A parser that throws on these bytes throws again on a retry: every failure is permanent.
        const message =
          err instanceof ExtractionError ? err.message : `The document could not be read (${(err as Error)?.message ?? String(err)})`;
        port.postMessage({ id: req.id, ok: false, permanent: true, message } satisfies ExtractReply);
      },
    );
  });
}
