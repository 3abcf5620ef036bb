import { hmacSha256, safeEqual } from '../../platform/crypto/index.js';
import { AppError } from '../../platform/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import type { Mailer } from './mail.js';
import { type CodePurpose, CodeStore } from './store/codes.js';

export type { CodePurpose };
const CODE_TTL_MS: Record<CodePurpose, number> = { signup: 24 * 3600_000, reset: 3600_000 };
export const MAX_CODE_ATTEMPTS = 5;

export const codeMismatch = () => new AppError('code_mismatch', 400, 'The code is incorrect');

/**
 * Verification codes (signup confirmation, password reset): six digits, stored as an HMAC, single
 * use, expiring, and mailed in the background so the answer's timing reveals nothing.
 */
export class VerificationCodes {
  private readonly background = new Set<Promise<void>>();
  private readonly codeKey: Buffer;
  private readonly store = new CodeStore();

  constructor(
    private readonly platform: Platform,
    private readonly mailer: Mailer,
  ) {
    this.codeKey = platform.signer.derive('verification-codes');
  }

  private hashCode(userId: string, purpose: CodePurpose, code: string): string {
    return hmacSha256(this.codeKey, `${userId}:${purpose}:${code}`).toString('hex');
  }

  /** Six uniformly random digits. */
  private randomCode(): string {
    for (;;) {
      const n = this.platform.random.bytes(4).readUInt32BE(0);
      if (n < 4_294_000_000) return String(n % 1_000_000).padStart(6, '0'); // rejection removes modulo bias
    }
  }

  /** Replaces any live code of this purpose; returns the plain code (it exists only in the mail). */
  async newCode(tx: Executor, userId: string, purpose: CodePurpose): Promise<string> {
    const code = this.randomCode();
    const now = this.platform.clock.now();
    await this.store.put(tx, userId, purpose, {
      codeHash: this.hashCode(userId, purpose, code),
      expiresAt: now + CODE_TTL_MS[purpose],
      createdAt: now,
    });
    return code;
  }

  /** Checks and spends a code: single use, expiring, at most five wrong tries. */
  async consumeCode(userId: string, purpose: CodePurpose, code: string): Promise<void> {
    const outcome = await this.platform.transaction(async (tx) => {
      const stored = await this.store.find(tx, userId, purpose);
      if (!stored) return 'mismatch';
      if (stored.expiresAt <= this.platform.clock.now()) return 'expired';
      if (stored.attempts >= MAX_CODE_ATTEMPTS) return 'exhausted';
      if (!safeEqual(stored.codeHash, this.hashCode(userId, purpose, code.trim()))) {
        await this.store.countWrongTry(tx, userId, purpose);
        return 'mismatch';
      }
      await this.store.delete(tx, userId, purpose);
      return 'ok';
    });
    if (outcome === 'mismatch') throw codeMismatch();
    if (outcome === 'expired') throw new AppError('expired_code', 400, 'The code has expired; request a new one');
    if (outcome === 'exhausted') throw new AppError('expired_code', 400, 'Too many wrong codes; request a new one');
  }

  codeMessage(tenantId: string, to: string, purpose: CodePurpose, code: string) {
    return purpose === 'signup'
      ? {
          tenantId,
          to,
          subject: 'Your Loam confirmation code',
          text: `Your confirmation code is ${code}\n\nIt expires in 24 hours. If you did not sign up, ignore this message.\n`,
        }
      : {
          tenantId,
          to,
          subject: 'Your Loam password reset code',
          text: `Your password reset code is ${code}\n\nIt expires in 1 hour. If you did not ask for it, ignore this message.\n`,
        };
  }

  sendCode(tenantId: string, to: string, purpose: CodePurpose, code: string): void {
    this.runInBackground(() => this.mailer.send(this.codeMessage(tenantId, to, purpose, code)));
  }

  /** Work that must not delay (or, by its duration, reveal anything in) the answer. */
  runInBackground(work: () => Promise<void>): void {
    const p: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((err) => this.platform.log.warn({ err: { message: (err as Error).message } }, 'mail delivery failed'))
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }

  /** Waits for mail in flight (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }
}
