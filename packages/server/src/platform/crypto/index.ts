import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { monotonicFactory } from 'ulid';

import type { Clock } from '../time.js';

export { type Clock, systemClock } from '../time.js';

export interface Random {
  bytes(n: number): Buffer;
}
export const systemRandom: Random = { bytes: (n) => randomBytes(n) };

/** Prefixed, time-sortable, URL-safe ids: `ds_01JD4K…` (ULID: 48-bit time + 80 random bits). */
export class Ids {
  private readonly ulid;
  constructor(
    private readonly clock: Clock,
    random: Random,
  ) {
    // Random bytes drawn 256 at a time: one system call per ~16 ids instead of 16 per id.
    let pool: Buffer = Buffer.alloc(0);
    let next = 0;
    this.ulid = monotonicFactory(() => {
      if (next >= pool.length) {
        pool = random.bytes(256);
        next = 0;
      }
      return pool[next++] / 256;
    });
  }
  new(prefix: string): string {
    return `${prefix}_${this.ulid(this.clock.now())}`;
  }
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export const hmacSha256 = (key: string | Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab); // same work either way
    return false;
  }
  return timingSafeEqual(ab, bb);
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random base62 string of `length` characters, free of modulo bias. */
export function randomToken(random: Random, length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of random.bytes(length * 2)) {
      if (b < 248 && out.length < length) out += BASE62[b % 62]; // 248 = 4 * 62
    }
  }
  return out;
}

/** Signs small JSON payloads (pagination cursors) so clients cannot forge or alter them. */
export class Signer {
  constructor(private readonly key: Buffer) {}
  sign(payload: unknown, purpose: string): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const mac = hmacSha256(this.key, `${purpose}.${body}`).subarray(0, 16).toString('base64url');
    return `${body}.${mac}`;
  }
  verify<T>(token: string, purpose: string): T | null {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return null;
    const body = token.slice(0, dot);
    const mac = hmacSha256(this.key, `${purpose}.${body}`).subarray(0, 16).toString('base64url');
    if (!safeEqual(mac, token.slice(dot + 1))) return null;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      return null;
    }
  }
  /** Derives an independent key for another purpose (JWT, URL signing, …). */
  derive(purpose: string): Buffer {
    return hmacSha256(this.key, `loam-derive:${purpose}`);
  }
}
