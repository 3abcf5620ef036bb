import type { EpochMs } from '../../platform/db/schema.js';

/** A tenant's Cedar policy (one `permit` or `forbid` statement). */
export interface PoliciesTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  effect: 'permit' | 'forbid';
  policy: string;
  version: number;
  created_by: string | null;
  created_at: EpochMs;
  updated_at: EpochMs;
}

/** One row per tenant whose policies ever changed: the version compiled policy sets compare against. */
export interface PolicySetsTable {
  tenant_id: string;
  version: number;
  updated_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    policies: PoliciesTable;
    policy_sets: PolicySetsTable;
  }
}
