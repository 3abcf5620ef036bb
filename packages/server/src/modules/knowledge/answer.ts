import type { QueryAnswer, QueryRequest, QuerySource, SearchHit } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { AppError, badRequest } from '../../platform/errors.js';
import { toAppError } from '../../platform/http/errors-render.js';
import type { Platform } from '../../platform/index.js';
import type { LlmGateway } from '../llm/gateway.js';
import type { ChatMessage } from '../llm/types.js';
import { type Retrieval, queryWords } from './retrieval.js';
import type { CollectionRow, KnowledgeStore } from './store.js';

/** One part of the AI SDK UI message stream (`x-vercel-ai-ui-message-stream: v1`). */
export type UiChunk = { type: string } & Record<string, unknown>;

export interface QueryInput {
  question: string;
  history: ChatMessage[];
  collectionIds: string[];
  topK: number;
  filters?: Record<string, string | number | boolean>;
  model?: string;
}

const SYSTEM_PROMPT = `You answer questions from the numbered sources you are given, and from nothing else.
Cite the source of every statement with its number in brackets, like [1] or [2][3].
If the sources do not hold the answer, say so briefly. Do not invent sources.`;

const EXTRACTIVE_SENTENCES = 3;

const textOf = (m: NonNullable<QueryRequest['messages']>[number]): string =>
  m.content ?? (m.parts ?? []).map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');

/** The question and history of a request: `{question, history}` or the AI SDK's `{messages}`. */
export function queryInputOf(body: QueryRequest): QueryInput {
  let question = body.question;
  let history: ChatMessage[] = (body.history ?? []).map((h) => ({ role: h.role, content: h.content }));
  if (!question && body.messages) {
    const messages = body.messages.filter((m) => m.role !== 'system');
    const lastUser = messages.map((m) => m.role).lastIndexOf('user');
    if (lastUser >= 0) {
      question = textOf(messages[lastUser]).trim();
      history = messages.slice(0, lastUser).map((m) => ({ role: m.role as 'user' | 'assistant', content: textOf(m) }));
    }
  }
  if (!question?.trim())
    throw badRequest('Give a question, or messages whose last user message holds it', [
      { field: 'question', code: 'required', message: 'question (or messages) is required' },
    ]);
  if (question.length > 8000) throw badRequest('The question is longer than 8000 characters');
  return {
    question: question.trim(),
    history: history.slice(-20),
    collectionIds: body.collection_ids,
    topK: body.top_k ?? 5,
    filters: body.filters,
    model: body.model,
  };
}

/** The sentences of the best chunks that share most words with the question, each cited. */
export function extractiveAnswer(question: string, sources: QuerySource[]): string {
  const words = new Set(queryWords(question));
  const scored: { s: string; n: number; score: number; order: number }[] = [];
  for (const src of sources) {
    const sentences = src.text.replace(/\s+/g, ' ').match(/[^.!?]+[.!?]+|[^.!?]+$/g) ?? [];
    sentences.forEach((raw, i) => {
      const s = raw.trim();
      if (s.length < 20) return;
      const ws = new Set(s.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []);
      let hit = 0;
      for (const w of words) if (ws.has(w)) hit++;
      // Earlier sources rank higher at equal overlap.
      scored.push({ s, n: src.number, score: hit / Math.sqrt(ws.size + 1) + 0.01 / src.number, order: src.number * 10_000 + i });
    });
  }
  const best = scored
    .sort((a, b) => b.score - a.score)
    .slice(0, EXTRACTIVE_SENTENCES)
    .sort((a, b) => a.order - b.order);
  if (best.length === 0) return 'No document in these collections answers this question.';
  return best.map((b) => `${b.s} [${b.n}]`).join(' ');
}

const sourceOf = (h: SearchHit, i: number): QuerySource => ({
  number: i + 1,
  chunk_id: h.chunk_id,
  document_id: h.document_id,
  filename: h.filename,
  page: h.page,
  text: h.text,
  score: h.score,
});

/**
 * The query endpoint's logic: retrieval, then a grounded answer from the configured LLM (or,
 * without one, an extractive answer), as UI message stream parts; every query is recorded.
 */
export class Answerer {
  constructor(
    private readonly platform: Platform,
    private readonly store: KnowledgeStore,
    private readonly retrieval: Retrieval,
    private readonly gateway: LlmGateway,
  ) {}

  /**
   * Checks the collections here (an unknown or forbidden one answers as an HTTP error); the
   * returned stream then sends `start` at once, retrieves, and answers. `sources` fills in as
   * the stream runs.
   */
  async open(
    ctx: RequestContext,
    input: QueryInput,
    signal: AbortSignal,
  ): Promise<{ sources: QuerySource[]; parts: AsyncGenerator<UiChunk> }> {
    const startedAt = this.platform.clock.now();
    const collections = await this.retrieval.collections(ctx, input.collectionIds);
    const sources: QuerySource[] = [];
    return { sources, parts: this.generate(ctx, input, collections, sources, signal, startedAt) };
  }

  private async *generate(
    ctx: RequestContext,
    input: QueryInput,
    collections: CollectionRow[],
    sources: QuerySource[],
    signal: AbortSignal,
    startedAt: number,
  ): AsyncGenerator<UiChunk> {
    const id = this.platform.ids.new('qry');
    const textId = `${id}_text`;
    const record = { model: null as string | null, input: 0, output: 0, outcome: 'ok', answer: '' };
    try {
      yield { type: 'start', messageId: id };
      const found = await this.retrieval.searchIn(ctx, collections, {
        q: input.question,
        collectionIds: input.collectionIds,
        topK: input.topK,
        filters: input.filters,
      });
      sources.push(...found.hits.map(sourceOf));
      for (const s of sources)
        yield {
          type: 'source-document',
          sourceId: s.chunk_id,
          mediaType: 'text/plain',
          title: `[${s.number}] ${s.filename}`,
          filename: s.filename,
          providerMetadata: {
            loam: {
              citation: s.number,
              chunk_id: s.chunk_id,
              document_id: s.document_id,
              score: s.score,
              text: s.text,
              page: s.page ?? null,
            },
          },
        };
      yield { type: 'text-start', id: textId };
      if (this.gateway.llm.configured && sources.length) {
        const stream = await this.gateway.stream(
          ctx,
          { model: input.model, messages: this.prompt(input, sources) },
          { operation: 'generate', signal },
        );
        record.model = stream.model;
        for await (const part of stream.parts) {
          if (part.type === 'text-delta') {
            record.answer += part.text;
            yield { type: 'text-delta', id: textId, delta: part.text };
          } else {
            record.input = part.usage.inputTokens;
            record.output = part.usage.outputTokens;
          }
        }
      } else {
        if (input.model && !this.gateway.llm.configured) throw new AppError('llm_unavailable', 503, 'No LLM provider is configured');
        record.answer = extractiveAnswer(input.question, sources);
        for (const piece of record.answer.match(/\S+\s*/g) ?? []) {
          if (signal.aborted) throw signal.reason ?? new Error('aborted');
          yield { type: 'text-delta', id: textId, delta: piece };
        }
      }
      yield { type: 'text-end', id: textId };
      yield {
        type: 'finish',
        finishReason: 'stop',
        messageMetadata: { query_id: id, model: record.model, usage: { input_tokens: record.input, output_tokens: record.output } },
      };
    } catch (err) {
      if (signal.aborted) {
        record.outcome = 'cancelled';
        return;
      }
      const { appError } = toAppError(err);
      record.outcome = `error:${appError.status}`;
      yield {
        type: 'error',
        errorText: `${appError.detail} (${appError.status} ${appError.code})`,
        status: appError.status,
        code: appError.code,
      };
    } finally {
      await this.record(ctx, id, input, sources, record, startedAt).catch((err) =>
        this.platform.log.warn({ err }, 'recording a knowledge query failed'),
      );
    }
  }

  /** The whole answer at once (`Accept: application/json`); provider errors answer with their status. */
  async answer(ctx: RequestContext, input: QueryInput, signal: AbortSignal): Promise<QueryAnswer> {
    const { sources, parts } = await this.open(ctx, input, signal);
    let text = '';
    let id = '';
    let meta: { model: string | null; usage: { input_tokens: number; output_tokens: number } } = {
      model: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    for await (const p of parts) {
      if (p.type === 'start') id = String(p.messageId);
      if (p.type === 'text-delta') text += String(p.delta);
      if (p.type === 'finish') meta = p.messageMetadata as typeof meta;
      if (p.type === 'error') throw new AppError(String(p.code), Number(p.status), String(p.errorText));
    }
    return { id, answer: text, model: meta.model, sources, usage: meta.usage };
  }

  private prompt(input: QueryInput, sources: QuerySource[]): ChatMessage[] {
    const listed = sources.map((s) => `[${s.number}] ${s.filename}\n${s.text}`).join('\n\n');
    return [
      { role: 'system', content: SYSTEM_PROMPT },
      ...input.history,
      { role: 'user', content: `Sources:\n\n${listed}\n\nQuestion: ${input.question}` },
    ];
  }

  private async record(
    ctx: RequestContext,
    id: string,
    input: QueryInput,
    sources: QuerySource[],
    r: { model: string | null; input: number; output: number; outcome: string; answer: string },
    startedAt: number,
  ): Promise<void> {
    const collections = await this.store.collections(this.platform.database.db, ctx.tenantId, input.collectionIds);
    const keepAnswer = collections.some((c) => c.store_answers === 1);
    const row = {
      id,
      tenant_id: ctx.tenantId,
      actor: ctx.principal.subject,
      question: input.question,
      collection_ids: input.collectionIds,
      chunk_ids: sources.map((s) => s.chunk_id),
      model: r.model,
      latency_ms: Math.max(0, this.platform.clock.now() - startedAt),
      input_tokens: r.input,
      output_tokens: r.output,
      outcome: r.outcome,
      answer: keepAnswer ? r.answer : null,
      created_at: this.platform.clock.now(),
    };
    await this.platform.transaction(async (tx) => {
      await this.store.recordQuery(tx, row);
      const { answer: _answer, ...data } = row;
      await this.platform.events.emit(tx, 'knowledge.query.completed', id, data, { tenantId: ctx.tenantId });
    });
  }
}
