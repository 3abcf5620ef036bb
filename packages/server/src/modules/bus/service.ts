import type { Pagination, SendMessage } from '@loam/api';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { AppError, badRequest, notFound } from '../../platform/errors.js';
import type { PageRequest } from '../../platform/http/pagination.js';
import type { Platform } from '../../platform/module.js';
import { type BusSink, BusHub, type Subscription } from './hub.js';
import { BusStore, type RetentionRule, type SessionRow, type StoredMessage } from './store.js';

/** The channel every Loam process LISTENs on (PostgreSQL) for messages sent by the others. */
const CHANNEL = 'loam_bus';
const SCHEMA_CACHE_MS = 5_000;

interface ChannelValidator {
  prefix: string;
  validate: ValidateFunction;
}

/** A message about to be stored: its data already JSON text (checked for size once). */
interface Outgoing {
  id: string;
  type: string | null;
  data: string;
}

/**
 * The session message bus: persisted, positioned messages per session, and subscriptions that
 * start from any position (see hub.ts), across processes through the dialect's notifications.
 */
export class BusService {
  readonly store: BusStore;
  readonly hub: BusHub;
  private readonly ajv = new Ajv({ allErrors: false, strict: false });
  private readonly validators = new Map<string, { until: number; list: ChannelValidator[] }>();
  private stopListening: (() => Promise<void>) | undefined;

  constructor(private readonly platform: Platform) {
    this.store = new BusStore(platform.database.db);
    this.hub = new BusHub(this.store, platform.log.child({ component: 'bus' }));
  }

  /** Listens for messages other processes commit (PostgreSQL NOTIFY; a no-op on SQLite). */
  async start(): Promise<void> {
    this.stopListening = await this.platform.database.dialect.listen(
      CHANNEL,
      (payload) => this.onNotification(payload),
      (err) => this.platform.log.warn({ err: { message: err.message } }, 'bus notification connection failed; reconnecting'),
    );
  }

  async stop(): Promise<void> {
    this.hub.closeAll();
    await this.stopListening?.();
  }

  /** Stores `messages` at the session's next positions and hands them to every subscriber. */
  async send(ctx: RequestContext, sessionId: string, messages: SendMessage[]): Promise<StoredMessage[]> {
    await this.platform.access.check(ctx, 'bus:write', sessionResource(ctx.tenantId, sessionId));
    const outgoing = this.prepare(messages);
    await this.validateData(ctx.tenantId, sessionId, messages);
    const now = this.platform.clock.now();
    const stored = await this.platform.database.db.transaction().execute(async (tx) => {
      const rows = await this.store.append(tx, ctx.tenantId, sessionId, outgoing, now);
      await this.platform.database.dialect.notify(tx, CHANNEL, JSON.stringify([ctx.tenantId, sessionId, rows[rows.length - 1].position]));
      return rows;
    });
    this.hub.advance(ctx.tenantId, sessionId, stored[stored.length - 1].position, stored);
    return stored;
  }

  /** One page of the messages after `after` (history); 410 when `after` was purged. */
  async history(
    ctx: RequestContext,
    sessionId: string,
    after: number,
    page: PageRequest,
  ): Promise<{ items: StoredMessage[]; pagination: Pagination }> {
    await this.platform.access.check(ctx, 'bus:read', sessionResource(ctx.tenantId, sessionId));
    const session = await this.store.session(ctx.tenantId, sessionId);
    if (session) assertNotPurged(session, after);
    return this.store.messagePage(ctx.tenantId, sessionId, after, page, this.platform.signer);
  }

  /** Subscribes from `after`; resolves once live (the "subscription started" moment). */
  async subscribe(ctx: RequestContext, sessionId: string, after: number, sink: BusSink): Promise<Subscription> {
    await this.platform.access.check(ctx, 'bus:read', sessionResource(ctx.tenantId, sessionId));
    const session = await this.store.session(ctx.tenantId, sessionId);
    if (session) assertNotPurged(session, after);
    return this.hub.subscribe(ctx.tenantId, sessionId, after, sink);
  }

  async session(ctx: RequestContext, sessionId: string): Promise<SessionRow> {
    await this.platform.access.check(ctx, 'bus:read', sessionResource(ctx.tenantId, sessionId));
    const session = await this.store.session(ctx.tenantId, sessionId);
    if (!session) throw notFound('Session');
    return session;
  }

  /** One page of the sessions `ctx` may read (`prefix`: only those whose name starts with it). */
  async sessions(
    ctx: RequestContext,
    prefix: string | undefined,
    page: PageRequest,
  ): Promise<{ items: SessionRow[]; pagination: Pagination }> {
    await this.platform.access.check(ctx, 'bus:read', { type: 'Session', id: prefix ?? '*', tenantId: ctx.tenantId });
    const { items, pagination } = await this.store.sessionPage(ctx.tenantId, prefix, page, this.platform.signer);
    const visible: SessionRow[] = [];
    for (const r of items) if (await this.platform.access.allows(ctx, 'bus:read', sessionResource(ctx.tenantId, r.id))) visible.push(r);
    return { items: visible, pagination: { ...pagination, page_size: visible.length } };
  }

  async deleteSession(ctx: RequestContext, sessionId: string): Promise<void> {
    await this.platform.access.check(ctx, 'bus:write', sessionResource(ctx.tenantId, sessionId));
    const deleted = await this.platform.transaction(async (tx) => {
      const found = await this.store.deleteSession(tx, ctx.tenantId, sessionId);
      if (found)
        await this.platform.events.emit(tx, 'bus.session.deleted', sessionId, { session_id: sessionId }, { tenantId: ctx.tenantId });
      return found;
    });
    if (!deleted) throw notFound('Session');
  }

  /** A short-lived token that stands for `ctx`'s read and write access to one session (`?token=`). */
  async issueToken(ctx: RequestContext, sessionId: string): Promise<{ token: string; expiresIn: number }> {
    await this.platform.access.check(ctx, 'bus:read', sessionResource(ctx.tenantId, sessionId));
    const ttl = this.platform.config.busTokenTtlSec;
    const exp = this.platform.clock.now() + ttl * 1000;
    const token = this.platform.signer.sign({ t: ctx.tenantId, s: sessionId, p: ctx.principal, exp }, TOKEN_PURPOSE);
    return { token, expiresIn: ttl };
  }

  /** The principal a session token stands for, if it is genuine, unexpired and for `sessionId`. */
  principalOfToken(token: string, sessionId: string): RequestContext['principal'] | undefined {
    const claims = this.platform.signer.verify<{ t: string; s: string; p: RequestContext['principal']; exp: number }>(token, TOKEN_PURPOSE);
    if (!claims || claims.s !== sessionId || claims.exp <= this.platform.clock.now() || claims.p?.tenantId !== claims.t) return undefined;
    return claims.p;
  }

  // ---- channel schemas ------------------------------------------------------------------------

  async schemas(ctx: RequestContext) {
    await this.platform.access.check(ctx, 'bus:read', { type: 'Session', id: '*', tenantId: ctx.tenantId });
    return this.store.schemas(ctx.tenantId);
  }

  async putSchema(ctx: RequestContext, prefix: string, schema: Record<string, unknown>) {
    await this.platform.access.check(ctx, 'bus:admin', { type: 'Session', id: `${prefix}*`, tenantId: ctx.tenantId });
    try {
      this.ajv.compile(schema);
    } catch (err) {
      throw badRequest(`The schema does not compile: ${(err as Error).message}`, [
        { field: 'schema', code: 'invalid_value', message: (err as Error).message },
      ]);
    }
    const now = this.platform.clock.now();
    await this.store.putSchema(ctx.tenantId, prefix, JSON.stringify(schema), now);
    this.validators.delete(ctx.tenantId);
    return { prefix, schema, createdAt: now };
  }

  async deleteSchema(ctx: RequestContext, prefix: string): Promise<void> {
    await this.platform.access.check(ctx, 'bus:admin', { type: 'Session', id: `${prefix}*`, tenantId: ctx.tenantId });
    if (!(await this.store.deleteSchema(ctx.tenantId, prefix))) throw notFound('Channel schema');
    this.validators.delete(ctx.tenantId);
  }

  // ---- retention ------------------------------------------------------------------------------

  async retention(ctx: RequestContext): Promise<RetentionRule[]> {
    await this.platform.access.check(ctx, 'bus:read', { type: 'Session', id: '*', tenantId: ctx.tenantId });
    return this.store.retention(ctx.tenantId);
  }

  async putRetention(ctx: RequestContext, rule: RetentionRule): Promise<RetentionRule> {
    await this.platform.access.check(ctx, 'bus:admin', { type: 'Session', id: `${rule.prefix}*`, tenantId: ctx.tenantId });
    await this.store.putRetention(ctx.tenantId, rule);
    return rule;
  }

  async deleteRetention(ctx: RequestContext, prefix: string): Promise<void> {
    await this.platform.access.check(ctx, 'bus:admin', { type: 'Session', id: `${prefix}*`, tenantId: ctx.tenantId });
    if (!(await this.store.deleteRetention(ctx.tenantId, prefix))) throw notFound('Retention rule');
  }

  /**
   * Applies every tenant's retention rules (the longest matching prefix decides for a session);
   * returns the messages removed. Run by the `bus.purge` job.
   */
  async purge(): Promise<number> {
    const now = this.platform.clock.now();
    let removed = 0;
    for (const tenantId of await this.store.tenantsWithRetention()) {
      const rules = (await this.store.retention(tenantId)).sort((a, b) => b.prefix.length - a.prefix.length);
      let afterId: string | undefined;
      for (;;) {
        const page = await this.store.sessions(tenantId, { afterId, limit: 500 });
        if (page.length === 0) break;
        afterId = page[page.length - 1].id;
        for (const session of page) {
          const rule = rules.find((r) => session.id.startsWith(r.prefix));
          if (!rule) continue;
          const cutoff = rule.maxAgeMs === null ? null : now - rule.maxAgeMs;
          removed += await this.platform.database.db
            .transaction()
            .execute((tx) => this.store.purge(tx, tenantId, session, cutoff, rule.maxMessages));
        }
      }
    }
    return removed;
  }

  private onNotification(payload: string): void {
    try {
      const [tenantId, sessionId, head] = JSON.parse(payload) as [string, string, number];
      this.hub.advance(tenantId, sessionId, head);
    } catch (err) {
      this.platform.log.warn({ err }, 'malformed bus notification');
    }
  }

  /** Each message's data as JSON text, no larger than the configured limit. */
  private prepare(messages: SendMessage[]): Outgoing[] {
    const max = this.platform.config.busMaxMessageBytes;
    return messages.map((m, i) => {
      const data = JSON.stringify(m.data ?? null);
      if (data.length > max / 3 && Buffer.byteLength(data) > max)
        throw new AppError('payload_too_large', 413, `Message ${i}: data is larger than ${max} bytes`, [
          { field: messages.length > 1 ? `${i}.data` : 'data', code: 'out_of_range', message: `data is larger than ${max} bytes` },
        ]);
      return { id: this.platform.ids.new('msg'), type: m.type ?? null, data };
    });
  }

  /** Checks each message's data against the tenant's schema for the session's prefix, if any. */
  private async validateData(tenantId: string, sessionId: string, messages: SendMessage[]): Promise<void> {
    const validator = (await this.validatorsOf(tenantId)).find((v) => sessionId.startsWith(v.prefix));
    if (!validator) return;
    messages.forEach((m, i) => {
      if (validator.validate(m.data)) return;
      const errors = (validator.validate.errors ?? []).map((e) => fieldError(e, messages.length > 1 ? `${i}.data` : 'data'));
      throw badRequest(`Message ${i} does not match the channel schema of '${validator.prefix}': ${errors[0]?.message ?? ''}`, errors);
    });
  }

  private async validatorsOf(tenantId: string): Promise<ChannelValidator[]> {
    const now = this.platform.clock.now();
    const hit = this.validators.get(tenantId);
    if (hit && hit.until > now) return hit.list;
    const list = (await this.store.schemas(tenantId))
      .sort((a, b) => b.prefix.length - a.prefix.length)
      .map((s) => ({ prefix: s.prefix, validate: this.ajv.compile(s.schema) }));
    this.validators.set(tenantId, { until: now + SCHEMA_CACHE_MS, list });
    return list;
  }
}

const TOKEN_PURPOSE = 'bus-session-token';

/** The Cedar resource of a session: its name is a tag, so policies can match prefixes with `like`. */
export const sessionResource = (tenantId: string, sessionId: string): ResourceRef => ({
  type: 'Session',
  id: sessionId,
  tenantId,
  attributes: { name: sessionId },
});

function assertNotPurged(session: SessionRow, after: number): void {
  if (after < session.purgedThrough)
    throw new AppError(
      'position_purged',
      410,
      `Messages up to position ${session.purgedThrough} were purged; the oldest available is ${session.purgedThrough + 1}`,
      undefined,
      undefined,
      { oldest_position: session.purgedThrough + 1 },
    );
}

function fieldError(e: ErrorObject, base: string) {
  const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const missing = (e.params as { missingProperty?: string }).missingProperty;
  const field = [base, path, missing].filter(Boolean).join('.');
  return {
    field,
    code: e.keyword === 'required' ? 'required_field_missing' : 'invalid_value',
    message: `${field} ${e.message ?? 'is invalid'}`,
  };
}
