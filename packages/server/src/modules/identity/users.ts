import type { CodeDeliveryDetails, MeResponse, SignupRequest, TokenResponse } from '@loam/api';
import { AppError, badRequest, conflict, unauthorized } from '../../platform/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { type Principal, effectiveTenant, hasScope } from '../../platform/principal.js';
import type { TenantService } from '../tenants/service.js';
import { DEFAULT_TENANT } from '../tenants/service.js';
import { splitScopes } from './claims.js';
import { type Origin, actorData } from './context.js';
import { type Mailer, maskEmail } from './mail.js';
import { checkPasswordPolicy, dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import type { TokenService } from './tokens.js';
import { VerificationCodes, codeMismatch } from './codes.js';
import { LoginFailureStore } from './store/logins.js';
import { type StoredUser, UserStore } from './store/users.js';

export const LOCKOUT_FAILURES = 10;
export const LOCKOUT_WINDOW_MS = 15 * 60_000;
export const LOCKOUT_MS = 15 * 60_000;
const MAX_ATTRIBUTES = 25;
const ATTRIBUTE_KEY = /^[A-Za-z][A-Za-z0-9_:.-]{0,63}$/;
/** Attributes Loam owns; `tenant_id` in signup attributes is read as the requested tenant. */
const RESERVED_ATTRIBUTES = new Set(['sub', 'email', 'email_verified', 'tenant_id']);
const BAD_LOGIN = 'Incorrect username or password';

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

const codeDelivery = (email: string): CodeDeliveryDetails => ({
  destination: maskEmail(email),
  delivery_medium: 'EMAIL',
  attribute_name: 'email',
});

/**
 * Users: signup with an emailed code, login (argon2id, lockout, no enumeration), sessions as
 * rotating refresh-token families, logout, password reset. Users belong to one tenant.
 */
export class UserService {
  /** Signup and reset codes, and the mail that carries them (codes.ts). */
  private readonly codes: VerificationCodes;
  private readonly store: UserStore;
  private readonly logins = new LoginFailureStore();

  constructor(
    private readonly platform: Platform,
    private readonly tokens: TokenService,
    private readonly tenants: TenantService,
    readonly mailer: Mailer,
  ) {
    this.codes = new VerificationCodes(platform, mailer);
    this.store = new UserStore(platform.database.db, platform.signer);
    void dummyPasswordHash(); // computed once, ahead of the first login for an unknown user
  }

  findByEmail(email: string, db: Executor = this.platform.database.db): Promise<StoredUser | undefined> {
    return this.store.byEmail(db, normalizeEmail(email));
  }

  async signup(input: SignupRequest, ctx: Origin): Promise<{ user_id: string }> {
    const email = normalizeEmail(input.email);
    checkPasswordPolicy(input.password, email);
    const attributes = { ...(input.attributes ?? {}) };
    const requestedTenant = input.tenant_id ?? attributes.tenant_id;
    delete attributes.tenant_id;
    checkAttributes(attributes);
    const tenantId = this.signupTenant(requestedTenant, ctx.principal);
    if (await this.findByEmail(email)) throw conflict('An account with this email already exists');
    const passwordHash = await hashPassword(input.password);
    const now = this.platform.clock.now();
    const id = this.platform.ids.new('usr');
    let code: string;
    try {
      code = await this.platform.transaction(async (tx) => {
        if (tenantId !== DEFAULT_TENANT) await this.tenants.ensure(tx, tenantId, tenantId, 'free');
        await this.store.insert(tx, { id, tenantId, email, passwordHash, attributes }, now);
        const c = await this.codes.newCode(tx, id, 'signup');
        await this.platform.events.emit(
          tx,
          'user.signed_up',
          id,
          { ...actorData(ctx, { actor: id, kind: 'user' }), user_id: id },
          { tenantId },
        );
        return c;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('An account with this email already exists');
      throw err;
    }
    this.codes.sendCode(tenantId, email, 'signup', code);
    return { user_id: id };
  }

  /** Default tenant for self-signup; another tenant only for a caller that administers it. */
  private signupTenant(requested: string | undefined, principal: Principal | undefined): string {
    if (!requested || requested === DEFAULT_TENANT) return DEFAULT_TENANT;
    if (!principal || !hasScope(principal, 'auth:admin'))
      throw new AppError('forbidden', 403, 'Only an administrator of the tenant may sign users up into it');
    return effectiveTenant(principal, requested);
  }

  async confirmSignup(username: string, code: string, ctx: Origin): Promise<void> {
    const user = await this.findByEmail(username);
    if (!user) throw codeMismatch();
    await this.codes.consumeCode(user.id, 'signup', code);
    await this.platform.transaction(async (tx) => {
      await this.store.confirm(tx, user.tenantId, user.id, this.platform.clock.now());
      await this.platform.events.emit(
        tx,
        'user.confirmed',
        user.id,
        { ...actorData(ctx, { actor: user.id, kind: 'user' }), user_id: user.id },
        { tenantId: user.tenantId },
      );
    });
  }

  /**
   * Sends a new signup code. The answer is the same for unknown and already confirmed
   * users (the masked address is derived from what was asked), and the work happens after it.
   */
  async resendSignupCode(username: string): Promise<CodeDeliveryDetails> {
    const email = normalizeEmail(username);
    const user = await this.findByEmail(email);
    if (user?.status === 'unconfirmed') {
      this.codes.runInBackground(async () => {
        const code = await this.platform.transaction((tx) => this.codes.newCode(tx, user.id, 'signup'));
        await this.mailer.send(this.codes.codeMessage(user.tenantId, user.email, 'signup', code));
      });
    }
    return codeDelivery(email);
  }

  async login(username: string, password: string, ctx: Origin): Promise<TokenResponse> {
    const email = normalizeEmail(username);
    const now = this.platform.clock.now();
    const lock = await this.logins.find(this.platform.database.db, email);
    const lockedUntil = lock?.lockedUntil ?? 0;
    if (lockedUntil > now) {
      const retryAfter = Math.ceil((lockedUntil - now) / 1000);
      throw new AppError(
        'rate_limited',
        429,
        `Too many failed sign-ins; try again in ${retryAfter} s`,
        undefined,
        { 'retry-after': String(retryAfter) },
        { retry_after: retryAfter },
      );
    }
    const user = await this.findByEmail(email);
    // Unknown users cost one argon2 verification too, so timing does not reveal accounts.
    const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!user || !ok) {
      await this.recordLoginFailure(email, user, ctx);
      throw unauthorized(BAD_LOGIN);
    }
    if (user.status === 'unconfirmed') throw new AppError('not_confirmed', 403, 'The account is not confirmed yet');
    if (user.status === 'disabled') throw new AppError('user_disabled', 403, 'The account is disabled');
    if (lock) await this.logins.clear(this.platform.database.db, email);
    return this.startSession(user, ctx);
  }

  private async recordLoginFailure(email: string, user: StoredUser | undefined, ctx: Origin): Promise<void> {
    const now = this.platform.clock.now();
    await this.platform.transaction(async (tx) => {
      // Counters of any username ever tried would pile up: drop those that no longer matter.
      await this.logins.prune(tx, now - LOCKOUT_WINDOW_MS, now);
      const row = await this.logins.find(tx, email);
      const fresh = !row || now - row.windowStart >= LOCKOUT_WINDOW_MS;
      let failures = fresh ? 1 : row.failures + 1;
      let windowStart = fresh ? now : row.windowStart;
      let lockedUntil: number | null = null;
      if (failures >= LOCKOUT_FAILURES) {
        lockedUntil = now + LOCKOUT_MS;
        failures = 0;
        windowStart = now;
      }
      await this.logins.put(tx, email, { failures, windowStart, lockedUntil });
      await this.platform.events.emit(
        tx,
        'user.login_failed',
        user?.id ?? 'unknown',
        {
          actor: user?.id ?? null,
          actor_kind: 'user',
          ip: ctx.ip,
          user_id: user?.id ?? null,
          username: email,
          locked: lockedUntil !== null,
        },
        { tenantId: user?.tenantId ?? DEFAULT_TENANT },
      );
    });
  }

  /** A new refresh-token family with its first access, id and refresh tokens. */
  private async startSession(user: StoredUser, ctx: Origin): Promise<TokenResponse> {
    const now = this.platform.clock.now();
    const familyId = this.platform.ids.new('fam');
    const familyExpiresAt = now + this.platform.config.refreshTokenTtlDays * 86_400_000;
    const access = await this.accessTokenFor(user, familyId);
    const idToken = await this.idTokenFor(user, now);
    const refreshToken = await this.platform.transaction(async (tx) => {
      await this.tokens.deleteExpiredRefreshTokens(tx, user.id);
      const rt = await this.tokens.createRefreshToken(tx, user, familyId, familyExpiresAt);
      const actor = actorData(ctx, { actor: user.id, kind: 'user' });
      await this.platform.events.emit(
        tx,
        'user.logged_in',
        user.id,
        { ...actor, actor: user.id, actor_kind: 'user', user_id: user.id, session_id: familyId },
        { tenantId: user.tenantId },
      );
      await this.emitTokenIssued(tx, user, ctx, 'password', access.jti, familyId);
      return rt;
    });
    return {
      access_token: access.token,
      id_token: idToken,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: this.platform.config.accessTokenTtlSec,
    };
  }

  /**
   * The refresh_token grant: spends the token and returns a new one in the same family.
   * A token presented twice means it leaked: the whole family is revoked.
   */
  async refresh(refreshToken: string, ctx: Origin): Promise<TokenResponse> {
    const invalid = () => new AppError('invalid_grant', 400, 'The refresh token is invalid, expired or revoked');
    const outcome = await this.platform.transaction(async (tx) => {
      const row = await this.tokens.findRefreshToken(tx, refreshToken);
      if (!row) return { kind: 'invalid' as const };
      const now = this.platform.clock.now();
      if (row.revoked_at !== null) return { kind: 'invalid' as const };
      if (row.used_at !== null || !(await this.tokens.spendRefreshToken(tx, row.id))) {
        await this.tokens.revokeFamily(tx, row.family_id);
        await this.platform.events.emit(
          tx,
          'token.revoked',
          row.user_id,
          {
            actor: row.user_id,
            actor_kind: 'user',
            ip: ctx.ip,
            user_id: row.user_id,
            session_id: row.family_id,
            reason: 'refresh_token_reuse',
          },
          { tenantId: row.tenant_id },
        );
        return { kind: 'reused' as const };
      }
      if (row.expires_at <= now) return { kind: 'invalid' as const };
      const u = await this.store.byId(tx, row.tenant_id, row.user_id);
      if (u?.status !== 'confirmed') return { kind: 'invalid' as const };
      const next = await this.tokens.createRefreshToken(tx, u, row.family_id, row.expires_at);
      return { kind: 'ok' as const, user: u, next, familyId: row.family_id };
    });
    if (outcome.kind === 'reused') {
      this.platform.log.warn({ ip: ctx.ip }, 'refresh token reused: its family is revoked');
      throw invalid();
    }
    if (outcome.kind !== 'ok') throw invalid();
    const access = await this.accessTokenFor(outcome.user, outcome.familyId);
    await this.platform.transaction((tx) => this.emitTokenIssued(tx, outcome.user, ctx, 'refresh_token', access.jti, outcome.familyId));
    return {
      access_token: access.token,
      id_token: await this.idTokenFor(outcome.user, this.platform.clock.now()),
      refresh_token: outcome.next,
      token_type: 'Bearer',
      expires_in: this.platform.config.accessTokenTtlSec,
      scope: this.userScopes().join(' '),
    };
  }

  /** Ends the session of `accessToken` at once: the token itself and its refresh-token family. */
  async logout(accessToken: string, ctx: Origin): Promise<void> {
    let claims: Awaited<ReturnType<TokenService['verifyAccessToken']>>;
    try {
      claims = await this.tokens.verifyAccessToken(accessToken, { allowExpired: true, checkRevoked: false });
    } catch {
      throw new AppError('invalid_token', 401, 'The access token is invalid');
    }
    await this.platform.transaction(async (tx) => {
      await this.tokens.denylist(tx, [claims.jti], (claims.exp + 60) * 1000);
      if (claims.kind === 'user') await this.tokens.revokeFamily(tx, claims.sid);
      await this.platform.events.emit(
        tx,
        'user.logged_out',
        claims.sub,
        { actor: claims.sub, actor_kind: claims.kind, ip: ctx.ip, user_id: claims.sub, session_id: claims.sid, jti: claims.jti },
        { tenantId: claims.tenant_id },
      );
    });
  }

  /** Same answer, in about the same time, whether or not the account exists. */
  async requestPasswordReset(emailInput: string): Promise<CodeDeliveryDetails> {
    const email = normalizeEmail(emailInput);
    const user = await this.findByEmail(email);
    if (user && user.status !== 'disabled') {
      this.codes.runInBackground(async () => {
        const code = await this.platform.transaction((tx) => this.codes.newCode(tx, user.id, 'reset'));
        await this.mailer.send(this.codes.codeMessage(user.tenantId, user.email, 'reset', code));
      });
    }
    return codeDelivery(email);
  }

  async confirmPasswordReset(emailInput: string, code: string, newPassword: string, ctx: Origin): Promise<void> {
    const email = normalizeEmail(emailInput);
    checkPasswordPolicy(newPassword, email, 'new_password');
    const user = await this.findByEmail(email);
    if (!user || user.status === 'disabled') throw codeMismatch();
    await this.codes.consumeCode(user.id, 'reset', code);
    const passwordHash = await hashPassword(newPassword);
    await this.platform.transaction(async (tx) => {
      const now = this.platform.clock.now();
      // The code reached the mailbox, which proves the address: an unconfirmed account is confirmed.
      await this.store.update(tx, user.tenantId, user.id, {
        passwordHash,
        updatedAt: now,
        status: user.status === 'unconfirmed' ? 'confirmed' : user.status,
        ...(user.status === 'unconfirmed' ? { confirmedAt: now } : {}),
      });
      const sessions = await this.tokens.revokeUserSessions(tx, user.id);
      await this.logins.clear(tx, email);
      await this.platform.events.emit(
        tx,
        'user.password_reset',
        user.id,
        { ...actorData(ctx, { actor: user.id, kind: 'user' }), user_id: user.id, sessions_revoked: sessions },
        { tenantId: user.tenantId },
      );
    });
  }

  /**
   * `GET /auth/me`: the caller's username and attributes, every value a string. Answered from
   * the verified token (no query): a Loam user's token carries the attributes it was issued
   * with, and signing in requires a confirmed address.
   */
  me(principal: Principal): MeResponse {
    // A bearer token's principal is shared by its requests (frozen), so its answer is built once.
    let answer = meAnswers.get(principal);
    if (!answer) {
      answer = meOf(principal);
      if (Object.isFrozen(principal)) meAnswers.set(principal, answer);
    }
    return answer;
  }

  userScopes(): string[] {
    return splitScopes(this.platform.config.userDefaultScopes);
  }

  private accessTokenFor(user: StoredUser, familyId: string) {
    return this.tokens.issueAccessToken({
      kind: 'user',
      subject: user.id,
      tenantId: user.tenantId,
      scopes: this.userScopes(),
      roles: user.roles,
      sid: familyId,
      email: user.email,
      attributes: user.attributes,
    });
  }

  private idTokenFor(user: StoredUser, authTime: number) {
    return this.tokens.issueIdToken({
      subject: user.id,
      tenantId: user.tenantId,
      email: user.email,
      emailVerified: user.status === 'confirmed',
      attributes: user.attributes,
      authTime,
    });
  }

  private emitTokenIssued(tx: Executor, user: StoredUser, ctx: Origin, grant: string, jti: string, sessionId: string) {
    return this.platform.events.emit(
      tx,
      'token.issued',
      user.id,
      {
        actor: user.id,
        actor_kind: 'user',
        ip: ctx.ip,
        user_id: user.id,
        grant_type: grant,
        jti,
        session_id: sessionId,
        scope: this.userScopes().join(' '),
      },
      { tenantId: user.tenantId },
    );
  }

  /** Waits for mail in flight (tests, shutdown). */
  flush(): Promise<void> {
    return this.codes.flush();
  }
}

/** Custom attributes: at most 25, names Loam does not own, every value a string. */
export function checkAttributes(attributes: Record<string, string>): void {
  for (const key of Object.keys(attributes)) {
    if (RESERVED_ATTRIBUTES.has(key))
      throw badRequest(`attributes.${key} is set by Loam`, [{ field: `attributes.${key}`, code: 'invalid_value', message: 'reserved' }]);
    if (!ATTRIBUTE_KEY.test(key))
      throw badRequest(`attributes.${key} is not a valid attribute name`, [
        { field: `attributes.${key}`, code: 'invalid_format', message: 'letters, digits, _ : . - (max 64)' },
      ]);
  }
  if (Object.keys(attributes).length > MAX_ATTRIBUTES)
    throw badRequest(`At most ${MAX_ATTRIBUTES} attributes`, [{ field: 'attributes', code: 'out_of_range', message: 'too many' }]);
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}

const meAnswers = new WeakMap<Principal, MeResponse>();

function meOf(principal: Principal): MeResponse {
  // Object.assign rather than a literal opening with a spread: V8 builds those far slower.
  const attributes: Record<string, string> = Object.assign({}, principal.attributes);
  if (principal.kind === 'user') {
    if (attributes.email) attributes.email_verified ??= 'true';
    attributes.sub = principal.subject;
    attributes.tenant_id = principal.tenantId;
    return { username: attributes.email ?? principal.subject, attributes };
  }
  attributes.sub = principal.subject;
  attributes.tenant_id = principal.tenantId;
  attributes.kind = principal.kind;
  attributes.scope = principal.scopes.join(' ');
  return { username: attributes.client_id ?? principal.subject, attributes };
}
