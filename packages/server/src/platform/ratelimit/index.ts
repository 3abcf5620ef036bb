import type { Redis } from 'ioredis';

/** A token bucket: `capacity` tokens (the burst), refilled at `limit` per `windowSec`. */
export interface BucketSpec {
  limit: number;
  windowSec: number;
  burst?: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Milliseconds until one token is available (0 when allowed). */
  retryAfterMs: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  take(key: string, capacity: number, refillPerMs: number): Promise<TakeResult>;
  close(): Promise<void>;
}

function result(tokens: number, allowed: boolean, capacity: number, refillPerMs: number): TakeResult {
  return {
    allowed,
    remaining: Math.max(0, Math.floor(tokens)),
    retryAfterMs: allowed ? 0 : Math.ceil((1 - tokens) / refillPerMs),
    resetMs: Math.ceil((capacity - tokens) / refillPerMs),
  };
}

/** Buckets in this process's memory; idle full buckets are swept so memory stays bounded. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  private readonly buckets = new Map<string, { tokens: number; ts: number; fullAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async take(key: string, capacity: number, refillPerMs: number): Promise<TakeResult> {
    const now = this.now();
    const b = this.buckets.get(key);
    let tokens = b ? Math.min(capacity, b.tokens + (now - b.ts) * refillPerMs) : capacity;
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    this.buckets.set(key, { tokens, ts: now, fullAt: now + (capacity - tokens) / refillPerMs });
    return result(tokens, allowed, capacity, refillPerMs);
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, b] of this.buckets) if (b.fullAt <= now) this.buckets.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

// Atomic token bucket on Redis, timed by the Redis server's clock so instances never disagree.
const TAKE_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1000)
return {allowed, tostring(tokens)}
`;

/** Buckets shared by every Loam instance through one Redis. */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis';
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'loam:rl:',
  ) {
    redis.defineCommand('loamTakeToken', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  }

  async take(key: string, capacity: number, refillPerMs: number): Promise<TakeResult> {
    const [allowed, tokens] = (await (
      this.redis as unknown as { loamTakeToken(k: string, c: number, r: number): Promise<[number, string]> }
    ).loamTakeToken(this.prefix + key, capacity, refillPerMs)) as [number, string];
    return result(Number(tokens), allowed === 1, capacity, refillPerMs);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/**
 * Redis buckets while Redis answers; this process's buckets while it does not (not connected,
 * or a command failed), so an outage costs shared limits, not every rate-limited route.
 * `onFallback` is told of every request served from memory.
 */
export class FallbackRateLimitStore implements RateLimitStore {
  readonly kind = 'redis';
  constructor(
    private readonly primary: RateLimitStore,
    private readonly fallback: RateLimitStore,
    private readonly connected: () => boolean,
    private readonly onFallback: (err?: Error) => void,
  ) {}

  async take(key: string, capacity: number, refillPerMs: number): Promise<TakeResult> {
    if (this.connected()) {
      try {
        return await this.primary.take(key, capacity, refillPerMs);
      } catch (err) {
        this.onFallback(err as Error);
        return this.fallback.take(key, capacity, refillPerMs);
      }
    }
    this.onFallback();
    return this.fallback.take(key, capacity, refillPerMs);
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.fallback.close()]);
  }
}

export class RateLimiter {
  constructor(
    readonly store: RateLimitStore,
    private readonly multiplier = 1,
  ) {}

  /** Takes one token from the bucket `key` sized by `spec` (scaled by the configured multiplier). */
  async take(key: string, spec: BucketSpec): Promise<TakeResult & { limit: number }> {
    const limit = Math.max(1, Math.round(spec.limit * this.multiplier));
    const capacity = Math.max(1, Math.round((spec.burst ?? spec.limit) * this.multiplier));
    const r = await this.store.take(key, capacity, limit / (spec.windowSec * 1000));
    return { ...r, limit };
  }
}
