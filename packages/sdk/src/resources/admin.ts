import type {
  AdminHealth,
  AdminMailboxQuery,
  AdminUsersQuery,
  EnvelopeOf,
  KeyRotationResult,
  MailboxMessage,
  SigningKey,
  UpdateUser,
  User,
} from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type Query, type RequestOptions } from '../core.js';
import { cursorList, type PagePromise } from '../pagination.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Operator tasks (`/api/v1/admin/…`, scope `admin`): users, signing keys, the development mailbox, health, the master key. */
export class Admin extends APIResource {
  /** The users of a tenant (`/api/v1/admin/users`); a platform admin names another tenant with `tenant_id`. */
  readonly users = {
    /** @example for await (const u of loam.admin.users.list()) console.log(u.email, u.roles); */
    list: (query: Omit<AdminUsersQuery, 'cursor'> = {}): PagePromise<User> =>
      cursorList(this.client, '/api/v1/admin/users', { ...query } as Query),
    /** @example const user = await loam.admin.users.get('usr_01…'); */
    get: (id: string, options?: Opts): APIPromise<User> =>
      dataOf(this.client.request<EnvelopeOf<User>>('GET', path`/api/v1/admin/users/${id}`, options)),
    /** Sets roles, attributes or status (`roles`/`attributes` replace); ends the user's sessions. @example await loam.admin.users.update(id, { status: 'disabled' }); */
    update: (id: string, body: UpdateUser, options?: Opts): APIPromise<User> =>
      dataOf(this.client.request<EnvelopeOf<User>>('PATCH', path`/api/v1/admin/users/${id}`, { ...options, body })),
  };

  /** The keys access tokens are signed with (public metadata only). */
  readonly signingKeys = {
    /** @example const [current] = (await loam.admin.signingKeys.list()).filter((k) => !k.retired_at); */
    list: (options?: Opts): APIPromise<SigningKey[]> =>
      dataOf(this.client.request<EnvelopeOf<SigningKey[]>>('GET', '/api/v1/admin/signing-keys', options)),
    /** Signs with a new key from now on; the old one verifies until its tokens expire. @example const keys = await loam.admin.signingKeys.rotate(); */
    rotate: (options?: Opts): APIPromise<SigningKey[]> =>
      dataOf(this.client.request<EnvelopeOf<SigningKey[]>>('POST', '/api/v1/admin/signing-keys/rotate', { ...options, body: {} })),
  };

  /** The development mailbox: mail Loam would have sent (404 with SMTP configured or in production). */
  readonly mailbox = {
    /** Newest first. @example const [mail] = await loam.admin.mailbox.list({ to: 'ada@example.com', limit: 1 }); */
    list: (query: AdminMailboxQuery = {}, options?: Opts): APIPromise<MailboxMessage[]> =>
      dataOf(this.client.request<EnvelopeOf<MailboxMessage[]>>('GET', '/api/v1/admin/mailbox', { ...options, query: { ...query } })),
  };

  /** Components (database, Redis, jobs, events) with their versions and latency. @example const { status, components } = await loam.admin.health(); */
  health(options?: Opts): APIPromise<AdminHealth> {
    return dataOf(this.client.request<EnvelopeOf<AdminHealth>>('GET', '/api/v1/admin/health', options));
  }

  /** Rotates the master key: every data key is re-wrapped (records are not rewritten). @example const { rewrapped } = await loam.admin.rotateMasterKey(); */
  rotateMasterKey(options?: Opts): APIPromise<KeyRotationResult> {
    return dataOf(this.client.request<EnvelopeOf<KeyRotationResult>>('POST', '/api/v1/admin/keys/rotate', { ...options, body: {} }));
  }
}
