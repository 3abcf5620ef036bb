import type { Technique } from '@loam/api';

const p = (name: string, type: string, description: string, def?: unknown) => ({
  name,
  type,
  description,
  ...(def === undefined ? {} : { default: def }),
});

/** The catalogue served at GET /api/v1/anonymization/techniques. */
export const TECHNIQUES: Technique[] = [
  {
    name: 'replace',
    kind: 'operator',
    reversible: false,
    description: 'Replaces the value with a fixed text',
    parameters: [p('new_value', 'string', 'Replacement text', '<TYPE>')],
  },
  { name: 'redact', kind: 'operator', reversible: false, description: 'Removes the value, leaving an empty string', parameters: [] },
  {
    name: 'mask',
    kind: 'operator',
    reversible: false,
    description: 'Overwrites characters with a masking character',
    parameters: [
      p('masking_char', 'string(1)', 'Masking character', '*'),
      p('chars_to_mask', 'integer', 'How many characters to mask (default: all but keep_last)'),
      p('from_end', 'boolean', 'Mask from the end instead of the start', false),
      p('keep_last', 'integer', 'Characters left visible at the end', 0),
    ],
  },
  {
    name: 'hash',
    kind: 'operator',
    reversible: false,
    description: 'HMAC-SHA256 (hex) under a per-tenant key: equal values hash equally, and a dictionary attack needs the key',
    parameters: [],
  },
  {
    name: 'pseudonymize',
    kind: 'operator',
    reversible: false,
    description:
      'A realistic surrogate of the same type (faker seeded by the value’s HMAC): the same value maps to the same surrogate within a scope',
    parameters: [p('scope', 'string', 'Values map consistently within a scope', 'default')],
  },
  {
    name: 'tokenize',
    kind: 'operator',
    reversible: true,
    description: 'A random token (tok_…); the value is kept encrypted in the tenant’s token vault and restored by deanonymize',
    parameters: [],
  },
  {
    name: 'encrypt',
    kind: 'operator',
    reversible: true,
    description: 'AES-256-GCM under the tenant’s data key (enc:v1:…); restored by deanonymize',
    parameters: [],
  },
  {
    name: 'generalize',
    kind: 'operator',
    reversible: false,
    description: 'Coarsens the value: dates to month or year, numbers to ranges, postcodes and codes to a prefix',
    parameters: [
      p('granularity', "'month' | 'year'", 'Date granularity', 'year'),
      p('bucket_size', 'number', 'Width of numeric ranges', 10),
      p('prefix_length', 'integer', 'Characters of a postcode kept', 3),
    ],
  },
  { name: 'keep', kind: 'operator', reversible: true, description: 'Leaves the value as it is', parameters: [] },
  {
    name: 'suppress',
    kind: 'operator',
    reversible: false,
    description: 'Drops the value (in text, the span and a neighbouring space; in records, the field becomes null)',
    parameters: [],
  },
  {
    name: 'k_anonymity',
    kind: 'privacy_model',
    reversible: false,
    description:
      'Every combination of quasi-identifiers is shared by at least k records (Mondrian partitioning, hierarchy recoding, record suppression up to a limit)',
    parameters: [
      p('k', 'integer', 'Smallest equivalence class'),
      p('quasi_identifiers', 'array', 'Fields with type number, date, postcode or category (optional hierarchy value → ancestors)'),
      p('suppression_limit', 'number', 'Largest share of records suppressed', 0.05),
    ],
  },
  {
    name: 'l_diversity',
    kind: 'privacy_model',
    reversible: false,
    description: 'Distinct ℓ-diversity: every equivalence class holds at least ℓ distinct values of the sensitive attribute',
    parameters: [p('sensitive', 'string', 'Sensitive attribute'), p('l', 'integer', 'Distinct sensitive values per class')],
  },
  {
    name: 'reidentification_risk',
    kind: 'privacy_model',
    reversible: false,
    description:
      'Prosecutor model: a record’s risk is 1/|its class|; reports max and average risk and the share of records in classes smaller than k',
    parameters: [p('k', 'integer', 'Target k', 5)],
  },
  {
    name: 'differential_privacy',
    kind: 'privacy_model',
    reversible: false,
    description:
      'Laplace mechanism for count, sum, mean and histogram, charged against a per-dataset ε budget that refuses queries once spent',
    parameters: [
      p('epsilon', 'number', 'Privacy loss of the query'),
      p('lower', 'number', 'Clamp bound (sum, mean, histogram)'),
      p('upper', 'number', 'Clamp bound (sum, mean, histogram)'),
      p('bins', 'integer', 'Histogram bins', 10),
      p('categories', 'string[]', 'Histogram categories, fixed in advance'),
    ],
  },
];
