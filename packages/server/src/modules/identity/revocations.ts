import type { Executor, Platform } from '../../platform/index.js';
import type { TokenStore } from './store/tokens.js';

/** Rows committed this long after their `created_at` are still picked up by the next sync. */
const SYNC_OVERLAP_MS = 5_000;

/**
 * The token denylist: revoked token ids and sessions, stored in the database and mirrored in
 * memory so that checking a bearer token costs no query. A revocation made by this instance
 * applies at once; one made by another instance applies within LOAM_TOKEN_REVOCATION_SYNC_MS.
 */
export class RevocationList {
  private readonly revoked = new Map<string, number>();
  /** Start time of the last sync (0: load everything live). */
  private lastSync = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly platform: Platform,
    private readonly store: TokenStore,
  ) {}

  /** Loads the live entries and starts following new ones. */
  async start(): Promise<void> {
    await this.sync();
    const every = this.platform.config.tokenRevocationSyncMs;
    this.timer = setInterval(() => {
      this.syncing ??= this.sync()
        .catch((err) => this.platform.log.warn({ err: { message: (err as Error).message } }, 'token denylist sync failed'))
        .finally(() => {
          this.syncing = undefined;
        });
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing;
  }

  has(ids: readonly string[]): boolean {
    const now = this.platform.clock.now();
    return ids.some((id) => {
      const until = this.revoked.get(id);
      return until !== undefined && until > now;
    });
  }

  /** Records the ids in `tx` and in memory (a rolled-back revocation only errs on the safe side). */
  async add(tx: Executor, ids: readonly string[], expiresAt: number): Promise<void> {
    if (ids.length === 0) return;
    await this.store.deny(tx, ids, expiresAt, this.platform.clock.now());
    for (const id of ids) this.revoked.set(id, expiresAt);
  }

  /** Reads entries added since the last sync (with an overlap for slow commits) and forgets expired ones. */
  async sync(): Promise<void> {
    const now = this.platform.clock.now();
    const rows = await this.store.denied(this.platform.database.db, this.lastSync - SYNC_OVERLAP_MS, now);
    for (const r of rows) this.revoked.set(r.id, r.expires_at);
    this.lastSync = now;
    for (const [id, until] of this.revoked) if (until <= now) this.revoked.delete(id);
  }
}
