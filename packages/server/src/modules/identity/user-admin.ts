import type { Pagination, UpdateUser, User } from '@loam/api';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { forbidden, notFound } from '../../platform/errors.js';
import type { PageRequest } from '../../platform/http/pagination.js';
import type { Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN } from '../../platform/principal.js';
import { rfc3339, rfc3339OrNull } from '../../platform/time.js';
import { actorData } from './context.js';
import { type StoredUser, UserStore } from './store/users.js';
import type { TokenService } from './tokens.js';
import { checkAttributes } from './users.js';

function userView(u: StoredUser): User {
  return {
    id: u.id,
    tenant_id: u.tenantId,
    email: u.email,
    status: u.status,
    roles: u.roles,
    attributes: u.attributes,
    created_at: rfc3339(u.createdAt),
    updated_at: rfc3339(u.updatedAt),
    confirmed_at: rfc3339OrNull(u.confirmedAt),
  };
}

/** A user account as the access check sees it (`Loam::Account`; `*`: the tenant's accounts as a whole). */
function accountResource(tenantId: string, u?: StoredUser): ResourceRef {
  if (!u) return { type: 'Account', id: '*', tenantId };
  return { type: 'Account', id: u.id, tenantId: u.tenantId, attributes: { status: u.status, email: u.email } };
}

/**
 * The administration of users (`/api/v1/admin/users`): list, read, and set roles, attributes
 * or status. Checked as `Loam::Account` with the action `auth:admin` (Cedar `admin`).
 */
export class UserAdminService {
  private readonly store: UserStore;

  constructor(
    private readonly platform: Platform,
    private readonly tokens: TokenService,
  ) {
    this.store = new UserStore(platform.database.db, platform.signer);
  }

  async list(ctx: RequestContext, page: PageRequest): Promise<{ items: User[]; pagination: Pagination }> {
    await this.platform.access.check(ctx, 'auth:admin', accountResource(ctx.tenantId));
    const { items, pagination } = await this.store.page(ctx.tenantId, page);
    return { items: items.map(userView), pagination };
  }

  /** A platform admin reaches every tenant's users; anyone else only their own tenant's (404 otherwise). */
  private async load(ctx: RequestContext, id: string): Promise<StoredUser> {
    const { principal } = ctx;
    const user = await this.store.byId(
      this.platform.database.db,
      principal.roles.includes(PLATFORM_ADMIN) ? undefined : principal.tenantId,
      id,
    );
    if (!user) throw notFound('User');
    await this.platform.access.check(ctx, 'auth:admin', accountResource(ctx.tenantId, user));
    return user;
  }

  async get(ctx: RequestContext, id: string): Promise<User> {
    return userView(await this.load(ctx, id));
  }

  /**
   * Sets roles, attributes or status (keys present only; roles and attributes replace). Tokens
   * carry roles and attributes, so the user's sessions end and the next sign-in sees the change.
   */
  async update(ctx: RequestContext, id: string, patch: UpdateUser): Promise<User> {
    const { principal } = ctx;
    if (patch.attributes) checkAttributes(patch.attributes);
    const current = await this.load(ctx, id); // 404 before anything else: another tenant's user does not exist
    if (patch.roles) {
      const isAdmin = principal.roles.includes('admin') || principal.roles.includes(PLATFORM_ADMIN);
      const notHeld = patch.roles.filter(
        (r) => (r === PLATFORM_ADMIN && !principal.roles.includes(PLATFORM_ADMIN)) || (!isAdmin && !principal.roles.includes(r)),
      );
      if (notHeld.length > 0) throw forbidden(`A role can only be granted by someone who holds it: ${notHeld.join(', ')}`);
    }
    return this.platform.transaction(async (tx) => {
      const now = this.platform.clock.now();
      const updated = await this.store.update(tx, current.tenantId, id, {
        roles: patch.roles ? [...new Set(patch.roles)] : undefined,
        attributes: patch.attributes,
        status: patch.status,
        ...(patch.status === 'confirmed' && current.status === 'unconfirmed' ? { confirmedAt: now } : {}),
        updatedAt: now,
      });
      const sessions = await this.tokens.revokeUserSessions(tx, id);
      await this.platform.events.emit(
        tx,
        'user.updated',
        id,
        {
          ...actorData(ctx, { actor: principal.subject, kind: principal.kind }),
          user_id: id,
          changed: Object.keys(patch),
          sessions_revoked: sessions,
        },
        { tenantId: current.tenantId },
      );
      return userView(updated);
    });
  }
}
