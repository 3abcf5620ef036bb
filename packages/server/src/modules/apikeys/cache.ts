import type { Principal } from '../../platform/principal.js';

interface Verified {
  principal: Principal;
  /** The key's own expiry (epoch ms), rechecked on every hit. */
  expiresAt: number | null;
  /** When this entry stops being trusted (epoch ms). */
  until: number;
}

/** Bounds the memory a flood of distinct valid keys can take (least recently stored go first). */
const MAX_ENTRIES = 10_000;

/**
 * API keys this instance verified in the last `ttlMs`, by the SHA-256 of their secret (the secret
 * itself is never kept), so a busy client's requests skip the database read. Only successful
 * lookups are kept: an unknown, revoked or expired key reads the database every time.
 *
 * Consistency: revoking or rotating a key through this instance forgets it at once; another
 * instance keeps trusting its entry for at most `ttlMs` (it has no way to hear of the change
 * sooner). A lookup that raced with a change is not stored (the generation moved on meanwhile).
 */
export class VerifiedKeyCache {
  private readonly entries = new Map<string, Verified>();
  /** Bumped by every `forget`; a lookup begun under an older generation is not stored. */
  generation = 0;

  constructor(private readonly ttlMs: number) {}

  get(hash: string, now: number): Verified | undefined {
    const hit = this.entries.get(hash);
    if (!hit) return undefined;
    if (hit.until <= now || (hit.expiresAt !== null && hit.expiresAt <= now)) {
      this.entries.delete(hash);
      return undefined;
    }
    return hit;
  }

  put(hash: string, entry: { principal: Principal; expiresAt: number | null }, now: number, generation: number): void {
    if (this.ttlMs <= 0 || generation !== this.generation) return;
    this.entries.delete(hash);
    this.entries.set(hash, { ...entry, until: now + this.ttlMs });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Forgets every entry of key `id` (its secret changed or it was revoked). */
  forget(id: string): void {
    this.generation++;
    for (const [hash, entry] of this.entries) if (entry.principal.subject === id) this.entries.delete(hash);
  }
}
