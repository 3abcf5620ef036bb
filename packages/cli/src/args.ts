/** Parsers for option values (a bad value is a command-line error: exit 2) and input sources. */
import { existsSync, readFileSync } from 'node:fs';
import { LoamError } from '@loam/sdk/node';
import { InvalidArgumentError } from 'commander';

/** A repeatable option: every value, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A repeatable `key=value` option, into an object. */
export function keyValue(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('Expected key=value.');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return n;
}

/** A whole number ≥ 0 (positions, offsets). */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of a file argument, or stdin when it is absent or `-`. */
export async function fileOrStdin(arg: string | undefined): Promise<string> {
  if (arg === undefined || arg === '-') return readStdin();
  return readFileSync(existingFile(arg), 'utf8');
}

/** `path`, or a one-line error when there is no such file. */
export function existingFile(path: string): string {
  if (!existsSync(path)) throw new LoamError(`no such file: ${path}`);
  return path;
}
