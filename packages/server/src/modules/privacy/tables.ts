import type { EpochMs, Flag, JsonText } from '../../platform/db/schema.js';

/** A tenant's own recognizers: patterns with context words. */
export interface PrivacyRecognizersTable {
  id: string;
  tenant_id: string;
  name: string;
  entity_type: string;
  patterns: JsonText;
  context: JsonText;
  enabled: Flag;
  created_at: EpochMs;
  updated_at: EpochMs;
}

/** Reversible tokens: the value only encrypted; `value_mac` finds an existing token. */
export interface PrivacyTokenVaultTable {
  token: string;
  tenant_id: string;
  value_mac: string;
  entity_type: string;
  ciphertext: string;
  created_at: EpochMs;
}

/** Differential privacy ε budgets per subject. */
export interface PrivacyBudgetsTable {
  tenant_id: string;
  subject: string;
  epsilon_total: number;
  epsilon_spent: number;
  created_at: EpochMs;
  updated_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    privacy_recognizers: PrivacyRecognizersTable;
    privacy_token_vault: PrivacyTokenVaultTable;
    privacy_budgets: PrivacyBudgetsTable;
  }
}
