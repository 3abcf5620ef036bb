/** Human output (aligned tables, key/value blocks, progress bars) and `--json` output. */

export interface Output {
  json: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WriteStream;
}

const MAX_CELL = 48;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  const s = typeof value === 'object' ? JSON.stringify(value) : String(value);
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

/** Columns padded to their widest cell; the header in upper case. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], r))));
  const header = columns.map((c) => c.split('.').pop()!.toUpperCase());
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row
      .map((v, i) => (i === row.length - 1 ? v : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

/** `key  value` lines for one object, keys aligned. */
export function details(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj);
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys
    .map((k) => {
      const v = obj[k];
      const text = v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? '-');
      return `${k.padEnd(width)}  ${text}`;
    })
    .join('\n');
}

/** Prints `value` as JSON with --json, else the human rendering. */
export function print(o: Output, value: unknown, human: () => string): void {
  o.out.write(o.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}

/** What a progress bar counts: bytes (shown as KiB, MiB, …) or lines of a file. */
export type ProgressUnit = 'bytes' | 'lines';

/**
 * A progress bar on stderr: redrawn in place on a terminal; elsewhere (pipes, CI logs) only the
 * final line is printed, so logs stay readable.
 */
export class ProgressBar {
  private last = 0;
  private done = false;

  constructor(
    private readonly err: NodeJS.WriteStream,
    private readonly label: string,
    private readonly enabled = true,
    private readonly unit: ProgressUnit = 'bytes',
  ) {}

  update(loaded: number, total?: number): void {
    if (!this.enabled || !this.err.isTTY) return;
    const now = Date.now();
    if (now - this.last < 100 && (!total || loaded < total)) return;
    this.last = now;
    this.err.write(`\r${this.render(loaded, total)}`);
  }

  finish(loaded: number, total?: number, suffix = ''): void {
    if (!this.enabled || this.done) return;
    this.done = true;
    this.err.write(`${this.err.isTTY ? '\r' : ''}${this.render(loaded, total)}${suffix}\n`);
  }

  /** `37.1 KiB/52.0 KiB`, `120/500 lines`; without a total `37.1 KiB`, `120 lines`. */
  private amount(loaded: number, total?: number): string {
    if (this.unit === 'lines') return total ? `${loaded}/${total} lines` : `${loaded} lines`;
    return total ? `${formatBytes(loaded)}/${formatBytes(total)}` : formatBytes(loaded);
  }

  private render(loaded: number, total?: number): string {
    const width = 24;
    if (!total) return `${this.label} ${this.amount(loaded)}`;
    const ratio = Math.min(1, loaded / total);
    const filled = Math.round(ratio * width);
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(ratio * 100)}% ${this.amount(loaded, total)}`;
  }
}
