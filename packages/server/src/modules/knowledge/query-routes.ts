import { PassThrough } from 'node:stream';
import {
  Envelope,
  KbEmbeddingsRequest,
  KbEmbeddingsResult,
  QueryAnswer,
  QueryRequest,
  SearchQuery,
  SearchRequest,
  SearchResult,
} from '@loam/api';
import { badRequest } from '../../platform/errors.js';
import type { FastifyReply } from 'fastify';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import { queryInputOf } from './answer.js';
import type { LlmGateway } from '../llm/gateway.js';
import type { Answerer } from './answer.js';
import type { Retrieval } from './retrieval.js';
import type { KnowledgeService } from './service.js';

/** Aborts when the client goes away before the answer is complete (the generation is cancelled). */
function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client disconnected'));
  });
  return controller.signal;
}

const wantsJson = (accept: string | undefined) => !!accept && /application\/json/i.test(accept) && !/text\/event-stream/i.test(accept);

export interface KnowledgeRouteDeps {
  knowledge: KnowledgeService;
  retrieval: Retrieval;
  answerer: Answerer;
  gateway: LlmGateway;
  maxFileBytes: number;
  heartbeatMs: number;
}

/**
 * `POST /api/v1/query`: retrieval, then the answer as the AI SDK UI message stream (Server-Sent
 * Events, header `x-vercel-ai-ui-message-stream: v1`, ends with `data: [DONE]`), so `useChat`
 * consumes it unchanged; `Accept: application/json` answers once with the whole answer.
 */
export function queryRoutes(app: LoamApp, deps: KnowledgeRouteDeps): void {
  app.post(
    '/api/v1/query',
    {
      config: { auth: { scopes: ['knowledge:read'] } },
      compress: false,
      schema: {
        tags: ['Knowledge'],
        summary: 'Answer a question from collections, with cited sources (UI message stream over SSE, or JSON)',
        body: QueryRequest,
        response: { 200: Envelope(QueryAnswer) },
      },
    },
    async (request, reply) => {
      const ctx = contextOf(request);
      const input = queryInputOf(request.body);
      const signal = abortOnDisconnect(reply);
      if (wantsJson(request.headers.accept)) return sendEnvelope(request, reply, await deps.answerer.answer(ctx, input, signal));
      // Errors up to here (validation, unknown collection, access) answer as problem+json.
      const { parts } = await deps.answerer.open(ctx, input, signal);
      const out = new PassThrough();
      const heartbeat = setInterval(() => out.write(': heartbeat\n\n'), deps.heartbeatMs);
      reply
        .code(200)
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-transform')
        .header('x-accel-buffering', 'no')
        .header('x-vercel-ai-ui-message-stream', 'v1');
      // SQLite runs queries synchronously: let the headers and the `start` part reach the socket
      // (Fastify pipes `out` into the response) before retrieval holds the event loop.
      const piped = new Promise<void>((resolve) => {
        reply.raw.once('pipe', () => resolve());
        setTimeout(resolve, 1000).unref();
      });
      void (async () => {
        try {
          let first = true;
          for await (const part of parts) {
            if (signal.aborted) break;
            out.write(`data: ${JSON.stringify(part)}\n\n`);
            if (first) {
              first = false;
              await piped;
              await new Promise((resolve) => setImmediate(resolve));
            }
          }
          if (!signal.aborted) out.write('data: [DONE]\n\n');
        } catch (err) {
          request.log.error({ err }, 'unexpected error while streaming a knowledge answer');
        } finally {
          clearInterval(heartbeat);
          out.end();
        }
      })();
      return reply.send(out as never);
    },
  );
}

/** `GET/POST /api/v1/search` and `POST /api/v1/embeddings`. */
export function searchRoutes(app: LoamApp, deps: KnowledgeRouteDeps): void {
  const { retrieval } = deps;
  const read = { auth: { scopes: ['knowledge:read'] } };
  const tags = ['Knowledge'];
  app.get(
    '/api/v1/search',
    {
      config: read,
      schema: {
        tags,
        summary: 'Search collections (hybrid: BM25 + vectors, fused by RRF)',
        querystring: SearchQuery,
        response: { 200: Envelope(SearchResult) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const collectionIds = q.collection_ids
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (collectionIds.length === 0 || collectionIds.length > 50) throw badRequest('collection_ids must name 1 to 50 collections');
      const r = await retrieval.search(contextOf(request), { q: q.q, collectionIds, topK: q.top_k, mode: q.mode });
      return sendEnvelope(request, reply, r);
    },
  );
  app.post(
    '/api/v1/search',
    {
      config: read,
      schema: {
        tags,
        summary: 'Search collections (JSON body, with metadata filters)',
        body: SearchRequest,
        response: { 200: Envelope(SearchResult) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const r = await retrieval.search(contextOf(request), {
        q: b.q,
        collectionIds: b.collection_ids,
        topK: b.top_k,
        mode: b.mode,
        filters: b.filters,
      });
      return sendEnvelope(request, reply, r);
    },
  );
  app.post(
    '/api/v1/embeddings',
    {
      config: { auth: { scopes: ['llm:generate'] } },
      schema: {
        tags,
        summary: 'Embed texts with the configured embedding model',
        body: KbEmbeddingsRequest,
        response: { 200: Envelope(KbEmbeddingsResult) },
      },
    },
    async (request, reply) => {
      const input = Array.isArray(request.body.input) ? request.body.input : [request.body.input];
      const r = await deps.gateway.embed(contextOf(request), { model: request.body.model, input });
      return sendEnvelope(request, reply, { model: r.model, embeddings: r.embeddings, usage: { input_tokens: r.usage.inputTokens } });
    },
  );
}
