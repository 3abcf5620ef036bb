import type { EpochMs, JsonText } from '../../platform/db/schema.js';

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  /** The first characters of the secret, shown to tell keys apart. */
  prefix: string;
  /** SHA-256 (hex) of the secret; the secret itself is never stored. */
  hash: string;
  /** JSON array of scope strings. */
  scopes: JsonText;
  /** JSON array of role names. */
  roles: JsonText;
  created_by: string | null;
  created_at: EpochMs;
  expires_at: EpochMs | null;
  last_used_at: EpochMs | null;
  revoked_at: EpochMs | null;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    api_keys: ApiKeysTable;
  }
}
