import type { LogFilter, StoredRecord } from './store.js';

/** What a live tail is handed: matching records in the order they were stored. */
export type LogSink = (records: StoredRecord[]) => void;

export interface Tail {
  close(): void;
}

interface Subscriber {
  filter: LogFilter;
  sink: LogSink;
}

/** Whether `r` passes `f`: the same conditions the store's query applies in SQL. */
export function matches(f: LogFilter, r: StoredRecord): boolean {
  if (f.executionId !== undefined && r.executionId !== f.executionId) return false;
  if (f.sessionId !== undefined && r.sessionId !== f.sessionId) return false;
  if (f.workflowId !== undefined && r.workflowId !== f.workflowId) return false;
  if (f.traceId !== undefined && r.traceId !== f.traceId) return false;
  if (f.kind !== undefined && r.kind !== f.kind) return false;
  if (f.minSeverity !== undefined && r.severity < f.minSeverity) return false;
  if (f.words?.length) {
    const text = r.message.toLowerCase();
    if (!f.words.every((w) => text.includes(w.toLowerCase()))) return false;
  }
  if (f.attributes?.length) {
    const attrs = JSON.parse(r.attributes) as Record<string, unknown>;
    for (const [k, v] of f.attributes) {
      const a = attrs[k];
      if (a === undefined || a === null || typeof a === 'object' || String(a) !== v) return false;
    }
  }
  return true;
}

/**
 * In-process fan-out of stored log records to live tails, per tenant. The service hands it each
 * batch after commit (its own, or one another process announced); each subscriber gets the
 * records its filter matches.
 */
export class LogTail {
  private readonly byTenant = new Map<string, Set<Subscriber>>();

  /** Whether anyone in this process tails `tenantId`'s logs (else batches are not read back). */
  watching(tenantId: string): boolean {
    return this.byTenant.has(tenantId);
  }

  get size(): number {
    let n = 0;
    for (const s of this.byTenant.values()) n += s.size;
    return n;
  }

  subscribe(tenantId: string, filter: LogFilter, sink: LogSink): Tail {
    let set = this.byTenant.get(tenantId);
    if (!set) {
      set = new Set();
      this.byTenant.set(tenantId, set);
    }
    const sub: Subscriber = { filter, sink };
    set.add(sub);
    const subs = set;
    return {
      close: () => {
        subs.delete(sub);
        if (subs.size === 0 && this.byTenant.get(tenantId) === subs) this.byTenant.delete(tenantId);
      },
    };
  }

  publish(tenantId: string, records: StoredRecord[]): void {
    const subs = this.byTenant.get(tenantId);
    if (!subs) return;
    for (const sub of subs) {
      const batch = records.filter((r) => matches(sub.filter, r));
      if (batch.length > 0) sub.sink(batch);
    }
  }

  closeAll(): void {
    this.byTenant.clear();
  }
}
