import type { Platform } from '../../platform/index.js';
import type { LlmCall, LlmStore } from './store.js';

/** Calls waiting longer than this are written, whatever the batch size. */
const FLUSH_AFTER_MS = 25;
const MAX_BATCH = 200;

/**
 * Writes recorded calls off the answer's path: calls are queued and written in batches (one
 * transaction and a few multi-row statements per batch, the calls' rows and events together), so
 * a call does not wait for its accounting and a busy gateway pays one commit per batch. Readers that must see
 * every call (usage, quotas) `flush()` first or add `pendingTokens`.
 */
export class CallRecorder {
  private queue: { call: LlmCall; event: Record<string, unknown>; traceparent?: string; requestId: string }[] = [];
  /** Batches being written (their tokens are not in the daily totals until committed). */
  private readonly writing = new Set<CallRecorder['queue']>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly platform: Platform,
    private readonly store: LlmStore,
  ) {}

  add(call: LlmCall, event: Record<string, unknown>, meta: { requestId: string; traceparent?: string }): void {
    this.queue.push({ call, event, ...meta });
    if (this.queue.length >= MAX_BATCH) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
      this.timer.unref?.();
    }
  }

  /** Tokens of `tenantId`'s queued or uncommitted calls on `day` (not yet in the daily totals). */
  pendingTokens(tenantId: string, day: string): number {
    let n = 0;
    for (const batch of [this.queue, ...this.writing])
      for (const { call } of batch) if (call.tenantId === tenantId && call.day === day) n += call.inputTokens + call.outputTokens;
    return n;
  }

  /** Writes every queued call; resolves once they (and any batch already being written) are stored. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.queue;
    this.queue = [];
    if (batch.length) this.writing.add(batch);
    this.flushing = this.flushing.then(() => (batch.length ? this.write(batch) : undefined));
    return this.flushing;
  }

  private async write(batch: CallRecorder['queue']): Promise<void> {
    try {
      await this.platform.transaction(async (tx) => {
        await this.store.recordCalls(
          tx,
          batch.map((b) => b.call),
        );
        // The observatory's feed and the audit trail of the privacy decision: counts, never values.
        await this.platform.events.emitMany(
          tx,
          batch.map(({ call, event, requestId, traceparent }) => ({
            type: 'llm.call.completed',
            subject: call.id,
            data: event,
            meta: { tenantId: call.tenantId, correlationId: requestId, traceparent },
          })),
        );
      });
    } catch (err) {
      this.platform.log.error({ err, calls: batch.length }, 'could not record LLM calls');
    } finally {
      this.writing.delete(batch);
    }
  }
}
