import type { Executor } from '../../../platform/db/index.js';

export interface LoginFailures {
  failures: number;
  windowStart: number;
  lockedUntil: number | null;
}

/** `login_failures`, keyed by the submitted username (no tenant: sign-in names none). */
export class LoginFailureStore {
  async find(db: Executor, username: string): Promise<LoginFailures | undefined> {
    const row = await db.selectFrom('login_failures').selectAll().where('username', '=', username).executeTakeFirst();
    return row ? { failures: row.failures, windowStart: row.window_start, lockedUntil: row.locked_until } : undefined;
  }

  async put(db: Executor, username: string, f: LoginFailures): Promise<void> {
    const values = { failures: f.failures, window_start: f.windowStart, locked_until: f.lockedUntil };
    await db
      .insertInto('login_failures')
      .values({ username, ...values })
      .onConflict((oc) => oc.column('username').doUpdateSet(values))
      .execute();
  }

  async clear(db: Executor, username: string): Promise<void> {
    await db.deleteFrom('login_failures').where('username', '=', username).execute();
  }

  /** Drops counters whose window began before `windowStartBefore` and that lock nothing after `now`. */
  async prune(db: Executor, windowStartBefore: number, now: number): Promise<void> {
    await db
      .deleteFrom('login_failures')
      .where('window_start', '<', windowStartBefore)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .execute();
  }
}
