import type { MailboxMessage } from '@loam/api';
import type { Selectable } from 'kysely';
import type { Db } from '../../../platform/db/index.js';
import { rfc3339 } from '../../../platform/http/context.js';
import type { DevMailboxTable } from '../tables.js';

function toMessage(r: Selectable<DevMailboxTable>): MailboxMessage {
  return { id: r.id, tenant_id: r.tenant_id, to: r.recipient, subject: r.subject, text: r.body, created_at: rfc3339(r.created_at) };
}

/** `dev_mailbox`: the development mailbox. */
export class MailboxStore {
  constructor(private readonly db: Db) {}

  async insert(m: { id: string; tenantId: string; to: string; subject: string; text: string; createdAt: number }): Promise<void> {
    await this.db
      .insertInto('dev_mailbox')
      .values({ id: m.id, tenant_id: m.tenantId, recipient: m.to, subject: m.subject, body: m.text, created_at: m.createdAt })
      .execute();
  }

  /** Drops everything but the newest `keep` messages (of every tenant: the mailbox is bounded as a whole). */
  async keepNewest(keep: number): Promise<void> {
    const cutoff = await this.db.selectFrom('dev_mailbox').select('id').orderBy('id', 'desc').offset(keep).limit(1).executeTakeFirst();
    if (cutoff) await this.db.deleteFrom('dev_mailbox').where('id', '<=', cutoff.id).execute();
  }

  /** Newest first; `tenantId` undefined: every tenant's (a platform admin). */
  async list(tenantId: string | undefined, opts: { to?: string; limit: number }): Promise<MailboxMessage[]> {
    let q = this.db.selectFrom('dev_mailbox').selectAll().orderBy('id', 'desc').limit(opts.limit);
    if (tenantId) q = q.where('tenant_id', '=', tenantId);
    if (opts.to) q = q.where('recipient', '=', opts.to);
    return (await q.execute()).map(toMessage);
  }
}
