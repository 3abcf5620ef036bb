import { createCipheriv, createDecipheriv } from 'node:crypto';
import { type JWK, type JWTHeaderParameters, exportJWK, generateKeyPair, importJWK } from 'jose';
import { ConfigError } from '../../config.js';
import type { SigningKey } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { AppError, forbidden } from '../../platform/errors.js';
import { rfc3339, rfc3339OrNull } from '../../platform/time.js';
import type { Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN } from '../../platform/principal.js';
import { CLOCK_TOLERANCE_SEC } from './claims.js';
import { SigningKeyStore } from './store/keys.js';

type AsymmetricAlg = 'EdDSA' | 'RS256';
type VerifyKey = Uint8Array | CryptoKey;

interface StoredKey {
  kid: string;
  alg: AsymmetricAlg;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey?: CryptoKey;
  createdAt: number;
  retiredAt: number | null;
}

const RELOAD_EVERY_MS = 60_000;
const UNKNOWN_KID_RELOAD_MS = 5_000;

/**
 * The keys that sign and verify Loam's tokens: the HS256 secret (always), plus, when
 * LOAM_JWT_SIGNING_ALG is EdDSA or RS256, rotating key pairs kept in the database (private
 * halves encrypted) and published at /.well-known/jwks.json. Key type is bound to the
 * algorithm, so an HS256 token "signed" with a public key never verifies (alg confusion).
 */
export class SigningKeyRing {
  readonly hsKey: Uint8Array;
  /** The HS256 key imported once (jose would otherwise import the raw bytes on every use). */
  private readonly hsCryptoKey: Promise<CryptoKey>;
  private keys = new Map<string, StoredKey>();
  private loadedAt = 0;
  private lastUnknownKidReload = 0;
  private readonly wrapKey: Buffer;
  private readonly store: SigningKeyStore;

  constructor(private readonly platform: Platform) {
    this.store = new SigningKeyStore(platform.database.db);
    const { jwtSecret } = platform.config;
    if (jwtSecret && jwtSecret.length < 32)
      throw new ConfigError('invalid configuration: jwtSecret (LOAM_JWT_SECRET): must be at least 32 characters');
    this.hsKey = jwtSecret ? new TextEncoder().encode(jwtSecret) : new Uint8Array(platform.signer.derive('jwt'));
    this.hsCryptoKey = crypto.subtle.importKey('raw', new Uint8Array(this.hsKey), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    this.wrapKey = platform.signer.derive('jwt-signing-keys');
  }

  /** How long a retired key keeps verifying (and stays published): its last token's lifetime plus skew. */
  private retiredGraceMs(): number {
    return (this.platform.config.accessTokenTtlSec + CLOCK_TOLERANCE_SEC) * 1000;
  }

  get alg(): 'HS256' | AsymmetricAlg {
    return this.platform.config.jwtSigningAlg as 'HS256' | AsymmetricAlg;
  }

  /** Loads the key pairs; creates the first one when asymmetric signing is on and none is active. */
  async start(): Promise<void> {
    await this.reload();
    if (this.alg !== 'HS256' && !this.active()) await this.rotate();
  }

  /** The key new tokens are signed with, and the header naming it. */
  async signingKey(): Promise<{ key: VerifyKey; header: JWTHeaderParameters }> {
    if (this.alg === 'HS256') return { key: await this.hsCryptoKey, header: { alg: 'HS256', typ: 'JWT' } };
    if (this.platform.clock.now() - this.loadedAt > RELOAD_EVERY_MS) await this.reload();
    let active = this.active();
    if (!active) {
      await this.rotate();
      active = this.active();
    }
    if (!active?.privateKey) throw new Error('no active signing key');
    return { key: active.privateKey, header: { alg: active.alg, kid: active.kid, typ: 'JWT' } };
  }

  /** The verification key for a token header; throws for anything not ours. */
  async verificationKey(header: JWTHeaderParameters): Promise<VerifyKey> {
    if (header.alg === 'HS256') return this.hsCryptoKey;
    if ((header.alg === 'EdDSA' || header.alg === 'RS256') && typeof header.kid === 'string') {
      let key = this.keys.get(header.kid);
      const now = this.platform.clock.now();
      if (!key && now - this.lastUnknownKidReload > UNKNOWN_KID_RELOAD_MS) {
        // Another instance may have rotated; look again, but not on every forged kid.
        this.lastUnknownKidReload = now;
        await this.reload();
        key = this.keys.get(header.kid);
      }
      if (key && key.alg === header.alg && this.stillValid(key, now)) return key.publicKey;
    }
    throw new Error('no key for this token');
  }

  /** Algorithms accepted on verification: HS256, plus the asymmetric one when keys exist. */
  algorithms(): string[] {
    const algs = new Set(['HS256']);
    for (const k of this.keys.values()) algs.add(k.alg);
    return [...algs];
  }

  /** Public keys still verifying tokens, for /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    const now = this.platform.clock.now();
    return {
      keys: [...this.keys.values()]
        .filter((k) => this.stillValid(k, now))
        .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })),
    };
  }

  list(): { kid: string; alg: string; createdAt: number; retiredAt: number | null }[] {
    return [...this.keys.values()].map(({ kid, alg, createdAt, retiredAt }) => ({ kid, alg, createdAt, retiredAt }));
  }

  /** The keys' public metadata, for an admin (`Loam::Key`; the keys are the platform's, checked in the caller's tenant). */
  async describe(ctx: RequestContext): Promise<SigningKey[]> {
    await this.platform.access.check(ctx, 'admin:read', { type: 'Key', id: '*', tenantId: ctx.tenantId });
    return this.list().map((k) => ({ kid: k.kid, alg: k.alg, created_at: rfc3339(k.createdAt), retired_at: rfc3339OrNull(k.retiredAt) }));
  }

  /** `rotate` for a platform admin, who alone may change what signs every tenant's tokens. */
  async rotateFor(ctx: RequestContext): Promise<SigningKey[]> {
    if (!ctx.principal.roles.includes(PLATFORM_ADMIN)) throw forbidden('Only a platform administrator may rotate signing keys');
    await this.platform.access.check(ctx, 'admin:write', { type: 'Key', id: '*', tenantId: ctx.tenantId });
    if (this.alg === 'HS256')
      throw new AppError('conflict', 409, 'Tokens are signed with HS256; set LOAM_JWT_SIGNING_ALG to EdDSA or RS256 to use rotating keys');
    await this.rotate();
    return this.describe(ctx);
  }

  /**
   * Makes a new key pair the signing key. The previous ones are retired: they stop signing at
   * once and keep verifying until every token they signed has expired.
   */
  async rotate(): Promise<string> {
    const alg: AsymmetricAlg = this.alg === 'RS256' ? 'RS256' : 'EdDSA';
    const pair = await generateKeyPair(alg, alg === 'RS256' ? { modulusLength: 2048, extractable: true } : { extractable: true });
    const publicJwk = await exportJWK(pair.publicKey);
    const privateJwk = await exportJWK(pair.privateKey);
    const kid = this.platform.ids.new('kid');
    const now = this.platform.clock.now();
    await this.store.replaceActive({
      kid,
      alg,
      public_jwk: JSON.stringify(publicJwk),
      private_jwk: this.seal(JSON.stringify(privateJwk)),
      created_at: now,
    });
    await this.reload();
    this.platform.log.info({ kid, alg }, 'token signing key rotated');
    return kid;
  }

  private active(): StoredKey | undefined {
    let newest: StoredKey | undefined;
    for (const k of this.keys.values()) if (k.retiredAt === null && (!newest || k.createdAt > newest.createdAt)) newest = k;
    return newest;
  }

  private stillValid(key: StoredKey, now: number): boolean {
    return key.retiredAt === null || now < key.retiredAt + this.retiredGraceMs();
  }

  private async reload(): Promise<void> {
    const now = this.platform.clock.now();
    const rows = await this.store.live(now - this.retiredGraceMs());
    const next = new Map<string, StoredKey>();
    for (const r of rows) {
      const known = this.keys.get(r.kid);
      const retiredAt = r.retired_at;
      if (known) {
        next.set(r.kid, { ...known, retiredAt });
        continue;
      }
      const alg = r.alg as AsymmetricAlg;
      const publicJwk = JSON.parse(r.public_jwk) as JWK;
      next.set(r.kid, {
        kid: r.kid,
        alg,
        publicJwk,
        publicKey: (await importJWK(publicJwk, alg)) as CryptoKey,
        privateKey: retiredAt === null ? ((await importJWK(JSON.parse(this.open(r.private_jwk)), alg)) as CryptoKey) : undefined,
        createdAt: r.created_at,
        retiredAt,
      });
    }
    this.keys = next;
    this.loadedAt = now;
  }

  /** AES-256-GCM under a key derived from the server secret: `iv.tag.ciphertext`, base64url. */
  private seal(plain: string): string {
    const iv = this.platform.random.bytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.wrapKey, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url')).join('.');
  }

  private open(sealed: string): string {
    const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
    const decipher = createDecipheriv('aes-256-gcm', this.wrapKey, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  }
}
