import type { Executor } from '../../../platform/db/index.js';
import type { Platform, QuotaUse } from '../../../platform/module.js';

/**
 * The tenant's records quota over one insert, checked in its transaction before each part is
 * stored, whichever API the records came by (a REST body, a large one parsed on the worker, a
 * gRPC stream whose size is known only at its end). What the tenant holds is counted once, and
 * only when a quota is set; later parts are added to that count, and counted again only when
 * the sum would pass the quota, so the refusal (403 `quota_exceeded`) is the platform's own
 * check with what the transaction sees. A refusal rolls the whole insert back.
 */
export class RecordQuota {
  /** The last count (null: no quota set); undefined until the first part. */
  private use: QuotaUse | null | undefined;
  /** Records this insert added since the last count. */
  private added = 0;

  constructor(
    private readonly platform: Platform,
    private readonly tenantId: string,
  ) {}

  /** Throws 403 `quota_exceeded` when `count` more records would pass the tenant's quota. */
  async add(tx: Executor, count: number): Promise<void> {
    if (this.use === null) return;
    if (this.use === undefined || this.use.current + this.added + count > this.use.limit) {
      // Counted in the transaction: the records this insert stored so far are among them.
      this.use = (await this.platform.checkQuota(this.tenantId, 'records', count, tx)) ?? null;
      this.added = 0;
    }
    this.added += count;
  }
}
