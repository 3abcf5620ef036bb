import type { Generated } from 'kysely';
import type { EpochMs, Flag, JsonText } from '../../platform/db/schema.js';

/** A user of one tenant; the email (Atriumn `username`) is unique across tenants. */
export interface UsersTable {
  id: string;
  tenant_id: string;
  email: string;
  password_hash: string;
  status: 'unconfirmed' | 'confirmed' | 'disabled';
  /** `Record<string, string>` */
  attributes: JsonText;
  /** `string[]` */
  roles: JsonText;
  created_at: EpochMs;
  updated_at: EpochMs;
  confirmed_at: EpochMs | null;
}

/** One live code per user and purpose. */
export interface VerificationCodesTable {
  user_id: string;
  purpose: 'signup' | 'reset';
  code_hash: string;
  attempts: Generated<number>;
  expires_at: EpochMs;
  created_at: EpochMs;
}

/** Failed sign-ins per submitted username (whether or not such a user exists). */
export interface LoginFailuresTable {
  username: string;
  failures: number;
  window_start: EpochMs;
  locked_until: EpochMs | null;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  user_id: string;
  tenant_id: string;
  token_hash: string;
  expires_at: EpochMs;
  used_at: EpochMs | null;
  revoked_at: EpochMs | null;
  created_at: EpochMs;
}

/** Revoked token ids and sessions (`sid:…`), kept until the last token they cover has expired. */
export interface TokenDenylistTable {
  id: string;
  expires_at: EpochMs;
  created_at: EpochMs;
}

export interface ClientCredentialsTable {
  id: string;
  tenant_id: string;
  client_id: string;
  secret_hash: string;
  issued_to: string;
  /** `string[]` */
  scopes: JsonText;
  description: string;
  active: Flag;
  created_at: EpochMs;
  updated_at: EpochMs;
  /** Tokens name the epoch they were issued in; a new epoch ends them. */
  token_epoch: Generated<EpochMs>;
}

/** Asymmetric token signing keys (global, not per tenant); the private half is sealed. */
export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** A JWK as JSON text. */
  public_jwk: string;
  /** The sealed private JWK (`iv.tag.ciphertext`). */
  private_jwk: string;
  created_at: EpochMs;
  retired_at: EpochMs | null;
}

export interface DevMailboxTable {
  id: string;
  tenant_id: string;
  recipient: string;
  subject: string;
  body: string;
  created_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    users: UsersTable;
    verification_codes: VerificationCodesTable;
    login_failures: LoginFailuresTable;
    refresh_tokens: RefreshTokensTable;
    token_denylist: TokenDenylistTable;
    client_credentials: ClientCredentialsTable;
    signing_keys: SigningKeysTable;
    dev_mailbox: DevMailboxTable;
  }
}
