import type {
  Collection,
  CreateCollection,
  EnvelopeOf,
  KbDocument,
  KbEmbeddingsResult,
  QueryAnswer,
  SearchRequest,
  SearchResult,
  UpdateCollection,
} from '@loam/api';
import { APIResource, type RequestOptions, dataOf, path } from '../core.js';
import { APIError, LoamError } from '../errors.js';
import { parseSSE, safeJSON } from '../streaming.js';
import { type UploadProgress, type Uploadable, guessContentType, toUploadSource } from '../uploads.js';
import { putUpload } from './storage.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'idempotencyKey'>;

/** Knowledge bases (`/api/v1/collections`). */
export class Collections extends APIResource {
  /** @example const kb = await loam.collections.create({ name: 'handbook', chunking: { chunk_tokens: 256 } }); */
  create(body: CreateCollection, options?: Opts): Promise<Collection> {
    return dataOf(this.client.request<EnvelopeOf<Collection>>('POST', '/api/v1/collections', { ...options, body }));
  }
  /** @example await loam.collections.list({ limit: 50 }) */
  list(query: { limit?: number; cursor?: string } = {}, options?: Opts): Promise<Collection[]> {
    return dataOf(this.client.request<EnvelopeOf<Collection[]>>('GET', '/api/v1/collections', { ...options, query }));
  }
  get(id: string, options?: Opts): Promise<Collection> {
    return dataOf(this.client.request<EnvelopeOf<Collection>>('GET', path`/api/v1/collections/${id}`, options));
  }
  update(id: string, body: UpdateCollection, options?: Opts): Promise<Collection> {
    return dataOf(this.client.request<EnvelopeOf<Collection>>('PATCH', path`/api/v1/collections/${id}`, { ...options, body }));
  }
  async delete(id: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/collections/${id}`, options);
  }
  /** Adds a processed content item (ingested through `loam.content`) to the collection. */
  addContent(id: string, body: { content_id: string; metadata?: Record<string, unknown> }, options?: Opts): Promise<KbDocument> {
    return dataOf(this.client.request<EnvelopeOf<KbDocument>>('POST', path`/api/v1/collections/${id}/content`, { ...options, body }));
  }
}

export interface UploadDocumentOptions extends Opts {
  collection: string;
  filename?: string;
  contentType?: string;
  metadata?: Record<string, unknown>;
  onProgress?: (p: UploadProgress) => void;
  /** Wait until the document is `indexed` (or `failed`, which throws). Default true. */
  wait?: boolean;
  pollMs?: number;
}

/** Documents of collections (`/api/v1/documents`): the pre-signed upload flow and the workflow's state. */
export class Documents extends APIResource {
  /** Creates a document and returns it with a pre-signed `upload_url` (PUT the file there, then `complete`). */
  create(
    body: { collection_id: string; filename: string; content_type: string; size?: number; metadata?: Record<string, unknown> },
    options?: Opts,
  ): Promise<KbDocument> {
    return dataOf(this.client.request<EnvelopeOf<KbDocument>>('POST', '/api/v1/documents', { ...options, body }));
  }
  list(
    query: { collection_id?: string; status?: KbDocument['status']; limit?: number; cursor?: string } = {},
    options?: Opts,
  ): Promise<KbDocument[]> {
    return dataOf(this.client.request<EnvelopeOf<KbDocument[]>>('GET', '/api/v1/documents', { ...options, query }));
  }
  get(id: string, options?: Opts): Promise<KbDocument> {
    return dataOf(this.client.request<EnvelopeOf<KbDocument>>('GET', path`/api/v1/documents/${id}`, options));
  }
  async delete(id: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/documents/${id}`, options);
  }
  /** Signals that the file was uploaded: the workflow (extract → chunk → embed → index) starts. */
  complete(id: string, options?: Opts): Promise<KbDocument> {
    return dataOf(this.client.request<EnvelopeOf<KbDocument>>('POST', path`/api/v1/documents/${id}/complete`, options));
  }
  reindex(id: string, options?: Opts): Promise<KbDocument> {
    return dataOf(this.client.request<EnvelopeOf<KbDocument>>('POST', path`/api/v1/documents/${id}/reindex`, options));
  }

  /**
   * Presign, upload, complete and (by default) wait until indexed.
   * @example const doc = await loam.documents.upload('./handbook.pdf', { collection: kb.id, onProgress: (p) => console.log(p.loaded) });
   */
  async upload(file: Uploadable, options: UploadDocumentOptions): Promise<KbDocument> {
    const source = await toUploadSource(file, this.client.fileResolver);
    const filename = options.filename ?? source.name ?? 'upload.bin';
    const contentType = options.contentType ?? source.type ?? guessContentType(filename);
    const req = { signal: options.signal, timeout: options.timeout };
    const doc = await this.create(
      { collection_id: options.collection, filename, content_type: contentType, size: source.size, metadata: options.metadata },
      req,
    );
    if (!doc.upload_url) throw new LoamError(`The server gave no upload URL for ${doc.id}`);
    await putUpload(this.client, doc.upload_url, source, contentType, options);
    let current = await this.complete(doc.id, req);
    if (options.wait === false) return current;
    while (current.status !== 'indexed') {
      if (current.status === 'failed') throw new LoamError(`Document ${doc.id} failed: ${current.error ?? 'unknown reason'}`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
      current = await this.get(doc.id, req);
    }
    return current;
  }
}

/** One part of the answer stream (the AI SDK UI message stream protocol). */
export type QueryPart =
  | { type: 'start'; messageId: string }
  | {
      type: 'source-document';
      sourceId: string;
      title: string;
      filename?: string;
      providerMetadata?: {
        loam?: { citation: number; chunk_id: string; document_id: string; score: number; text: string; page?: number | null };
      };
    }
  | { type: 'text-start' | 'text-end'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'finish'; messageMetadata?: { query_id: string; model: string | null; usage: { input_tokens: number; output_tokens: number } } }
  | { type: 'error'; errorText: string; status?: number; code?: string };

export interface QueryBody {
  question: string;
  collection_ids: string[];
  filters?: Record<string, string | number | boolean>;
  top_k?: number;
  history?: { role: 'user' | 'assistant'; content: string }[];
  model?: string;
}

/** Search, answers with citations, and embeddings. */
export class Knowledge extends APIResource {
  /** @example const { hits } = await loam.knowledge.search('foghorn', { collectionIds: [kb.id], topK: 5 }); */
  search(
    q: string,
    query: { collectionIds: string[]; topK?: number; mode?: 'hybrid' | 'keyword' | 'vector' },
    options?: Opts,
  ): Promise<SearchResult> {
    return dataOf(
      this.client.request<EnvelopeOf<SearchResult>>('GET', '/api/v1/search', {
        ...options,
        query: { q, collection_ids: query.collectionIds.join(','), top_k: query.topK, mode: query.mode },
      }),
    );
  }
  /** Search with a JSON body (metadata `filters`). */
  searchFiltered(body: SearchRequest, options?: Opts): Promise<SearchResult> {
    return dataOf(this.client.request<EnvelopeOf<SearchResult>>('POST', '/api/v1/search', { ...options, body }));
  }
  /**
   * The answer as it streams: the parts of the UI message stream. Provider errors after the start
   * arrive as an `error` part. Abort with `options.signal` to cancel the generation.
   * @example for await (const part of loam.knowledge.query({ question: 'How?', collection_ids: [kb.id] })) if (part.type === 'text-delta') process.stdout.write(part.delta);
   */
  query(body: QueryBody, options: Opts = {}): AsyncGenerator<QueryPart> {
    return this.parts(body, options);
  }

  private async *parts(body: QueryBody, options: Opts): AsyncGenerator<QueryPart> {
    const response = await this.client.requestResponse('POST', '/api/v1/query', {
      ...options,
      body,
      headers: { accept: 'text/event-stream' },
    });
    if (!response.body) return;
    for await (const event of parseSSE(response.body)) {
      if (event.data === '[DONE]') return;
      const part = safeJSON(event.data) as QueryPart | undefined;
      if (part) yield part;
    }
  }
  /** The whole answer, its text and cited sources (streamed, then collected; an error part throws). */
  async ask(
    body: QueryBody,
    options: Opts = {},
  ): Promise<
    Omit<QueryAnswer, 'sources'> & {
      sources: { number: number; chunk_id: string; document_id: string; filename: string; text: string; score: number }[];
    }
  > {
    const answer = {
      id: '',
      answer: '',
      model: null as string | null,
      sources: [] as { number: number; chunk_id: string; document_id: string; filename: string; text: string; score: number }[],
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    for await (const part of this.query(body, options)) {
      if (part.type === 'start') answer.id = part.messageId;
      else if (part.type === 'source-document') {
        const m = part.providerMetadata?.loam;
        if (m)
          answer.sources.push({
            number: m.citation,
            chunk_id: m.chunk_id,
            document_id: m.document_id,
            filename: part.filename ?? '',
            text: m.text,
            score: m.score,
          });
      } else if (part.type === 'text-delta') answer.answer += part.delta;
      else if (part.type === 'finish') {
        answer.model = part.messageMetadata?.model ?? null;
        if (part.messageMetadata) answer.usage = part.messageMetadata.usage;
      } else if (part.type === 'error') throw APIError.from(part.status ?? 500, { detail: part.errorText, code: part.code }, new Headers());
    }
    return answer;
  }
  /** Vectors of the texts with the configured (or named) embedding model. */
  embeddings(body: { input: string | string[]; model?: string }, options?: Opts): Promise<KbEmbeddingsResult> {
    return dataOf(this.client.request<EnvelopeOf<KbEmbeddingsResult>>('POST', '/api/v1/embeddings', { ...options, body }));
  }
}
