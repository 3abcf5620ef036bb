import type {
  EnvelopeOf,
  Execution,
  ExecutionsQuery,
  IngestResult,
  LogRecord,
  LogRecordIn,
  LogSettings,
  LogsQuery,
  PutLogSettings,
} from '@loam/api';
import { APIResource, type RequestOptions, backoffDelay, dataOf } from '../core.js';
import { APIConnectionError, APIError, APIUserAbortError } from '../errors.js';
import { type PagePromise, cursorList } from '../pagination.js';
import { parseSSE, safeJSON } from '../streaming.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** The execution context of shipped records (sent as X-Loam-* headers and `traceparent`). */
export interface ExecutionContext {
  executionId?: string;
  sessionId?: string;
  workflowId?: string;
  traceparent?: string;
}

/** `attr.<key>` filters as an object: `{ attributes: { region: 'eu' } }`. */
export type LogsListQuery = LogsQuery & { attributes?: Record<string, string> };

export interface TailOptions extends Omit<LogsListQuery, 'from' | 'to' | 'order' | 'limit' | 'cursor'> {
  signal?: AbortSignal;
  onStarted?: () => void;
  onRecord: (record: LogRecord) => void | Promise<void>;
  onReconnect?: (err: Error, attempt: number) => void;
}

/** The headers that carry an execution context. */
export function contextHeaders(ctx: ExecutionContext = {}): Record<string, string> {
  const h: Record<string, string> = {};
  if (ctx.executionId) h['x-loam-execution-id'] = ctx.executionId;
  if (ctx.sessionId) h['x-loam-session-id'] = ctx.sessionId;
  if (ctx.workflowId) h['x-loam-workflow-id'] = ctx.workflowId;
  if (ctx.traceparent) h.traceparent = ctx.traceparent;
  return h;
}

const flatten = ({ attributes, ...q }: Partial<LogsListQuery>) => ({
  ...q,
  ...Object.fromEntries(Object.entries(attributes ?? {}).map(([k, v]) => [`attr.${k}`, v])),
});

/** The observatory (`/api/v1/logs`, `/api/v1/executions`): ship, query and tail log records. */
export class Logs extends APIResource {
  /**
   * Ships a batch (≤ 5,000 records, ≤ 1 MiB) under an execution context. For buffered shipping
   * from an application use {@link LogSink}.
   * @example await loam.logs.ship([{ level: 'info', message: 'started' }], { executionId: 'run-42' });
   */
  ship(records: LogRecordIn[], context: ExecutionContext = {}, options: Opts = {}): Promise<IngestResult> {
    return dataOf(
      this.client.request<EnvelopeOf<IngestResult>>('POST', '/api/v1/logs', {
        ...options,
        headers: contextHeaders(context),
        body: { records },
      }),
    );
  }

  /**
   * Records matching the filters (level = that level or worse, `q` = words), page by page.
   * @example for await (const r of loam.logs.list({ execution_id: 'run-42', level: 'warn' })) console.log(r.message);
   */
  list(query: LogsListQuery = {}): PagePromise<LogRecord> {
    return cursorList(this.client, '/api/v1/logs', flatten(query));
  }

  /** Executions, most recently active first. @example for await (const e of loam.logs.executions()) … */
  executions(query: ExecutionsQuery = {}): PagePromise<Execution> {
    return cursorList(this.client, '/api/v1/executions', { ...query });
  }

  /**
   * Follows matching records as they are stored, until `signal` aborts (reconnecting after
   * network errors; records stored while disconnected are not replayed).
   */
  async tail(opts: TailOptions): Promise<void> {
    const { signal, onStarted, onRecord, onReconnect, ...filters } = opts;
    let attempt = 0;
    while (!signal?.aborted) {
      try {
        const response = await this.client.requestResponse('GET', '/api/v1/logs/stream', {
          query: flatten(filters),
          headers: { accept: 'text/event-stream' },
          signal,
          maxRetries: 0,
        });
        if (!response.body) throw new APIConnectionError('The stream has no body');
        for await (const event of parseSSE(response.body)) {
          if (event.event === 'ready') {
            attempt = 0;
            onStarted?.();
          } else if (event.event === 'log') await onRecord(JSON.parse(event.data) as LogRecord);
          else if (event.event === 'error') {
            const body = safeJSON(event.data) as Record<string, unknown>;
            throw APIError.from(Number(body?.status) || 500, body, response.headers);
          }
        }
        throw new APIConnectionError('The stream ended');
      } catch (err) {
        if (signal?.aborted || err instanceof APIUserAbortError) return;
        if (err instanceof APIError && err.status < 500 && err.status !== 429) throw err;
        attempt++;
        onReconnect?.(err as Error, attempt);
        await new Promise((r) => setTimeout(r, Math.min(backoffDelay(Math.min(attempt, 6)), 10_000)));
      }
    }
  }

  /** The tenant's retention and ingest quota. */
  settings(options: Opts = {}): Promise<LogSettings> {
    return dataOf(this.client.request<EnvelopeOf<LogSettings>>('GET', '/api/v1/logs/settings', options));
  }

  /** @example await loam.logs.putSettings({ retention_days: 30 }); */
  putSettings(body: PutLogSettings, options: Opts = {}): Promise<LogSettings> {
    return dataOf(this.client.request<EnvelopeOf<LogSettings>>('PUT', '/api/v1/logs/settings', { ...options, body }));
  }
}
