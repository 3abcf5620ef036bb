import type { PromptVariable, VariableValues } from '@loam/api';

/**
 * `{{name}}` (spaces inside the braces allowed). Anything else between braces — `{{#if}}`,
 * `{{a.b}}`, `{{> partial}}` — is not a placeholder and stays in the text as written: rendering
 * is plain substitution and never evaluates anything.
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** A template split once into literal text and placeholder names: `parts[i] names[i] parts[i+1] …`. */
export interface CompiledTemplate {
  parts: string[];
  names: string[];
}

export function compileTemplate(template: string): CompiledTemplate {
  const parts: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, m.index));
    names.push(m[1]);
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return { parts, names };
}

/** The distinct placeholder names of a template, in order of first use. */
export function placeholdersOf(template: string): string[] {
  return [...new Set(compileTemplate(template).names)];
}

/**
 * Joins the parts with the values. Values are inserted as they are: a value that itself contains
 * `{{x}}` or `$&` is never expanded again.
 */
export function renderCompiled(compiled: CompiledTemplate, values: Record<string, string>): string {
  const { parts, names } = compiled;
  let out = parts[0];
  for (let i = 0; i < names.length; i++) out += (values[names[i]] ?? '') + parts[i + 1];
  return out;
}

export interface ResolvedVariables {
  values: Record<string, string>;
  /** Required variables with neither a value nor a default. */
  missing: string[];
  /** Values given for variables the prompt does not declare. */
  unknown: string[];
}

/** Given values, else the default, else `''` for optional variables; reports what is missing or unknown. */
export function resolveVariables(declared: PromptVariable[], given: VariableValues = {}): ResolvedVariables {
  const values: Record<string, string> = {};
  const missing: string[] = [];
  const known = new Set(declared.map((v) => v.name));
  for (const v of declared) {
    const raw = Object.hasOwn(given, v.name) ? given[v.name] : undefined;
    if (raw !== undefined) values[v.name] = String(raw);
    else if (v.defaultValue !== undefined) values[v.name] = v.defaultValue;
    else if (v.required) missing.push(v.name);
    else values[v.name] = '';
  }
  const unknown = Object.keys(given).filter((k) => !known.has(k));
  return { values, missing, unknown };
}

/** Placeholders used in `template` that `variables` does not declare. */
export function undeclaredPlaceholders(template: string, variables: PromptVariable[]): string[] {
  const declared = new Set(variables.map((v) => v.name));
  return placeholdersOf(template).filter((n) => !declared.has(n));
}
