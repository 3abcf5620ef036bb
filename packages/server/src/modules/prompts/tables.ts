import type { EpochMs, JsonText } from '../../platform/db/schema.js';

/** What a version of a prompt holds: the same columns in `prompts` and `prompt_versions`. */
interface PromptContentColumns {
  tenant_id: string;
  name: string;
  description: string;
  template: string;
  model_id: string;
  parameters: JsonText;
  variables: JsonText;
  tags: JsonText;
}

/** The latest version of each prompt (what lists and filters read). */
export interface PromptsTable extends PromptContentColumns {
  id: string;
  version: number;
  created_at: EpochMs;
  updated_at: EpochMs;
  updated_by: string;
}

/** Every version ever written, immutable. */
export interface PromptVersionsTable extends PromptContentColumns {
  prompt_id: string;
  version: number;
  created_at: EpochMs;
  created_by: string;
}

/** The latest version's tags, for the "carries all these tags" filter. */
export interface PromptTagsTable {
  prompt_id: string;
  tenant_id: string;
  tag: string;
}

/** Movable labels pointing at versions (`latest` is not stored). */
export interface PromptLabelsTable {
  prompt_id: string;
  label: string;
  tenant_id: string;
  version: number;
  updated_at: EpochMs;
  updated_by: string;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    prompts: PromptsTable;
    prompt_versions: PromptVersionsTable;
    prompt_tags: PromptTagsTable;
    prompt_labels: PromptLabelsTable;
  }
}
