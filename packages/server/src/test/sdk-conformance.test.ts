import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestLoam, type TestLoam } from './harness.js';

/**
 * Every /api/v1 operation of the OpenAPI document has a method in each of the four SDKs
 * (TypeScript packages/sdk, Python sdks/python, Go sdks/go, Rust sdks/rust), by the table in
 * sdks/operations.json; each named method must be defined in that SDK's source.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

interface Operation {
  op: string;
  ts: string | null;
  python: string;
  go: string;
  rust: string;
  ts_gap?: string;
}
interface Table {
  operations: Operation[];
  operator_only: { op: string; reason: string }[];
}

function sources(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(p, ext));
    else if (entry.name.endsWith(ext) && !entry.name.endsWith('_test.go')) out.push(readFileSync(p, 'utf8'));
  }
  return out;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const camel = (s: string) => s.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/** The text from a class/impl header to the next header of the same kind. */
function blocks(files: string[], header: RegExp, next: RegExp): string[] {
  const out: string[] = [];
  for (const text of files) {
    for (const m of text.matchAll(new RegExp(header.source, 'g'))) {
      const start = m.index ?? 0;
      const rest = text.slice(start + m[0].length);
      const end = rest.search(next);
      out.push(end < 0 ? rest : rest.slice(0, end));
    }
  }
  return out;
}

const ts = sources(join(root, 'packages/sdk/src'), '.ts');
const py = sources(join(root, 'sdks/python/src/loam'), '.py');
const go = sources(join(root, 'sdks/go'), '.go');
const rs = sources(join(root, 'sdks/rust/src'), '.rs');

const checks: Record<'ts' | 'python' | 'go' | 'rust', (name: string) => boolean> = {
  ts: (name) => {
    const parts = name.split('.');
    const method = parts.at(-1) as string;
    const cls = parts[0].charAt(0).toUpperCase() + parts[0].slice(1);
    const def = new RegExp(`\\n\\s+(async\\s+)?${esc(method)}(<[^>]*>)?\\(|\\n\\s+${esc(method)}:\\s*(async\\s*)?\\(`);
    const classes = blocks(ts, new RegExp(`export class ${cls}\\b`), /\nexport class /);
    if (parts.length < 3) return classes.some((b) => def.test(b));
    // `admin.users.list`: the method is in the class's `users = { … }` group, not just anywhere in the class.
    return blocks(classes, new RegExp(`\\n\\s+(readonly\\s+)?${esc(parts[1])}\\s*=\\s*\\{`), /\n {2}\};/).some((b) => def.test(b));
  },
  python: (name) => {
    const parts = name.split('.');
    const method = parts.at(-1) as string;
    const def = new RegExp(`\\n\\s+def ${esc(method)}\\(`);
    if (parts.length === 1) return py.some((f) => def.test(f));
    const cls = camel(parts.at(-2) as string);
    return blocks(py, new RegExp(`\\nclass ${cls}\\b`), /\nclass /).some((b) => def.test(b));
  },
  go: (name) => {
    const parts = name.split('.');
    const method = parts.at(-1) as string;
    const recv = parts[0] === 'Client' ? 'Client' : `${parts.at(-2)}Service`;
    const def = new RegExp(`func \\(\\w+ \\*${esc(recv)}\\) ${esc(method)}(\\[[^\\]]*\\])?\\(`);
    return go.some((f) => def.test(f));
  },
  rust: (name) => {
    const parts = name.split('.');
    const method = parts.at(-1) as string;
    const def = new RegExp(`\\n\\s+pub (async )?fn ${esc(method)}(<[^>]*>)?\\(`);
    if (parts.length === 1) return blocks(rs, /\nimpl Client \{/, /\nimpl/).some((b) => def.test(b));
    const ty = camel(parts.at(-2) as string);
    return blocks(rs, new RegExp(`\\nimpl<'a> ${ty}<'a> \\{`), /\nimpl/).some((b) => def.test(b));
  },
};

describe('SDK conformance: every /api/v1 operation has a method in each SDK', () => {
  let t: TestLoam;
  let served: string[];
  const table = JSON.parse(readFileSync(join(root, 'sdks/operations.json'), 'utf8')) as Table;

  beforeAll(async () => {
    t = await createTestLoam();
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, object> };
    served = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/api/v1/'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  });
  afterAll(() => t.close());

  it('maps every served operation (or lists it as operator-only), and nothing else', () => {
    const mapped = [...table.operations.map((o) => o.op), ...table.operator_only.map((o) => o.op)];
    expect(
      served.filter((op) => !mapped.includes(op)),
      'operations with no SDK method: add them to sdks/operations.json',
    ).toEqual([]);
    expect(
      mapped.filter((op) => !served.includes(op)),
      'rows for operations the server no longer serves',
    ).toEqual([]);
    expect(new Set(mapped).size).toBe(mapped.length);
    expect(table.operator_only.length).toBeLessThanOrEqual(3); // the allow-list stays short (operator routes have SDK methods too)
    for (const o of table.operator_only) expect(o.reason.length).toBeGreaterThan(10);
  });

  for (const sdk of ['ts', 'python', 'go', 'rust'] as const) {
    it(`${sdk}: every named method is defined in the SDK source`, () => {
      const missing = table.operations
        .filter((o) => o[sdk] !== null)
        .filter((o) => !checks[sdk](o[sdk] as string))
        .map((o) => `${o.op} → ${o[sdk]}`);
      expect(missing).toEqual([]);
      if (sdk !== 'ts') expect(table.operations.filter((o) => !o[sdk])).toEqual([]);
    });
  }

  it('a TypeScript gap is named with a reason, and stays a gap only while @loam/sdk lacks it', () => {
    const gaps = table.operations.filter((o) => o.ts === null);
    for (const g of gaps) expect(g.ts_gap, g.op).toBeTruthy();
    expect(gaps.length).toBeLessThanOrEqual(8);
  });

  it('the checker rejects a method that does not exist', () => {
    expect(checks.ts('datasets.nonexistent')).toBe(false);
    expect(checks.ts('admin.mailbox.update')).toBe(false); // `update` exists, but in another group of `admin`
    expect(checks.ts('admin.users.update')).toBe(true);
    expect(checks.python('datasets.nonexistent')).toBe(false);
    expect(checks.go('Datasets.Nonexistent')).toBe(false);
    expect(checks.rust('datasets.nonexistent')).toBe(false);
    expect(checks.python('versions.anonymize')).toBe(false); // the method exists, but on another resource
  });
});
