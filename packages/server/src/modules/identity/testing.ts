/** Helpers shared by the identity tests. */
import { expect } from 'vitest';
import type { TestLoam } from '../../test/harness.js';

export const PASSWORD = 'correct horse battery';

/** The newest code mailed to `to`, read from the development mailbox (after mail in flight lands). */
export async function latestCode(t: TestLoam, to: string): Promise<string> {
  await t.loam.services.identity.users.flush();
  const mailbox = t.loam.services.identity.devMailbox();
  if (!mailbox) throw new Error('no development mailbox');
  const [message] = await mailbox.list(undefined, { to, limit: 1 });
  const code = /\b(\d{6})\b/.exec(message?.text ?? '')?.[1];
  if (!code) throw new Error(`no code mailed to ${to}`);
  return code;
}

export async function signup(t: TestLoam, email: string, password = PASSWORD, extra: Record<string, unknown> = {}) {
  const res = await t.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, password, ...extra } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().user_id as string;
}

/** Signs up and confirms `email`; returns the user id. */
export async function confirmedUser(t: TestLoam, email: string, password = PASSWORD, extra: Record<string, unknown> = {}) {
  const userId = await signup(t, email, password, extra);
  const code = await latestCode(t, email);
  const res = await t.app.inject({ method: 'POST', url: '/auth/signup/confirm', payload: { username: email, confirmation_code: code } });
  expect(res.statusCode, res.body).toBe(200);
  return userId;
}

export async function login(t: TestLoam, username: string, password = PASSWORD) {
  const res = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { username, password } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { access_token: string; id_token: string; refresh_token: string; token_type: string; expires_in: number };
}

/** Creates a client credential as the bootstrap admin. */
export async function credential(t: TestLoam, scopes: string[] | null, extra: Record<string, unknown> = {}) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/admin/credentials',
    headers: t.admin,
    payload: { issued_to: 'svc', scopes, ...extra },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; client_id: string; client_secret: string; scopes: string[]; tenant_id: string };
}

/** Outbox events of a type, oldest first. */
export async function eventsOf(t: TestLoam, type: string) {
  const rows = await t.loam.platform.database.db
    .selectFrom('outbox_events')
    .selectAll()
    .where('type', '=', `io.loam.${type}`)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    subject: r.subject as string,
    tenantId: r.tenant_id as string,
    data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
  }));
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
