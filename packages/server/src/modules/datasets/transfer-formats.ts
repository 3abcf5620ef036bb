import type { SchemaField } from '@loam/api';

// The file formats of transfers: NDJSON and CSV lines, CSV cells (typed by the schema on import), the record id column.

/**
 * Splits `text` into logical lines from `offset`: NDJSON lines, or CSV records (quoted fields may
 * hold newlines). Yields each line's 1-based number, its text and the offset just after it.
 */
export function* splitRecords(
  text: string,
  format: 'ndjson' | 'csv',
  offset: number,
  line: number,
): Generator<{ line: number; text: string; end: number }> {
  let i = offset;
  let n = line;
  while (i < text.length) {
    let j = i;
    if (format === 'csv') {
      let quoted = false;
      while (j < text.length) {
        const c = text[j];
        if (c === '"') quoted = !quoted;
        else if (c === '\n' && !quoted) break;
        j++;
      }
    } else {
      j = text.indexOf('\n', i);
      if (j === -1) j = text.length;
    }
    n++;
    const raw = text.slice(i, j).replace(/\r$/, '');
    i = j + 1;
    yield { line: n, text: raw, end: Math.min(i, text.length) };
  }
}

/** One CSV record's fields (RFC 4180: quotes doubled inside quoted fields). */
export function parseCsvRecord(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const _csvCell = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** A value as an exported CSV cell (quoted when it holds a quote, comma or newline). */
export const csvCell = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** A CSV cell as the schema types it; `undefined` for an empty cell (the field is absent). */
export function typedCell(raw: string, field: SchemaField | undefined): { value?: unknown; error?: string } {
  if (raw === '') return {};
  if (!field) return { value: raw };
  switch (field.type) {
    case 'integer':
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) return { error: `${field.name} must be a number` };
      return { value: n };
    }
    case 'boolean':
      if (/^(true|1)$/i.test(raw)) return { value: true };
      if (/^(false|0)$/i.test(raw)) return { value: false };
      return { error: `${field.name} must be true or false` };
    case 'object':
    case 'array':
      try {
        return { value: JSON.parse(raw) };
      } catch {
        return { error: `${field.name} must be JSON` };
      }
    default:
      return { value: raw };
  }
}

export interface ParsedLine {
  id?: string;
  data?: Record<string, unknown>;
  errors: { field: string | null; code: string; message: string }[];
}

const RECORD_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export function splitId(
  obj: Record<string, unknown>,
  idField: string,
  errors: ParsedLine['errors'],
): { id?: string; data: Record<string, unknown> } {
  const { [idField]: rawId, ...data } = obj;
  if (rawId === undefined || rawId === null || rawId === '') return { data };
  const id = String(rawId);
  if (!RECORD_ID.test(id)) errors.push({ field: idField, code: 'invalid_format', message: `${idField} must be 1-128 URL-safe characters` });
  return { id, data };
}
