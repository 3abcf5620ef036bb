import type { PrivacyMode } from './store.js';
import type { ChatMessage } from './types.js';

/**
 * What the gateway needs of the privacy engine: PII detection on a text. The privacy module's
 * service satisfies it; the gateway never imports that module.
 */
export interface PiiScanner {
  analyze(tenantId: string, req: { text: string }): Promise<{ entities: { type: string; start: number; end: number }[] }>;
}

/** What privacy did to a call's texts: the texts the provider sees, counts per type, and how to undo. */
export interface Shielded {
  texts: string[];
  counts: Record<string, number>;
  /** Set in `pseudonymize` mode when something was replaced: restores the originals in answers. */
  restorer?: TokenRestorer;
}

const TOKEN = /<([A-Z][A-Z0-9_]*)_(\d+)>/g;

/**
 * Scans `texts` for PII and, by mode: `detect` only counts; `redact` replaces each entity with
 * `<TYPE>`; `pseudonymize` replaces each distinct value with a token `<TYPE_n>` (the same value
 * gets the same token across the call's texts) that `restorer` turns back into the value.
 */
export async function shieldTexts(scanner: PiiScanner, tenantId: string, mode: PrivacyMode, texts: string[]): Promise<Shielded> {
  const counts: Record<string, number> = {};
  if (mode === 'off') return { texts, counts };
  const tokens = new Map<string, string>(); // value → token
  const perType = new Map<string, number>();
  const out: string[] = [];
  for (const text of texts) {
    if (!text) {
      out.push(text);
      continue;
    }
    const { entities } = await scanner.analyze(tenantId, { text });
    const sorted = [...entities].sort((a, b) => a.start - b.start || b.end - a.end);
    let result = '';
    let cursor = 0;
    for (const e of sorted) {
      if (e.start < cursor) continue; // overlaps one already replaced
      counts[e.type] = (counts[e.type] ?? 0) + 1;
      if (mode === 'detect') continue;
      const value = text.slice(e.start, e.end);
      let replacement = `<${e.type}>`;
      if (mode === 'pseudonymize') {
        let token = tokens.get(value);
        if (!token) {
          const n = (perType.get(e.type) ?? 0) + 1;
          perType.set(e.type, n);
          token = `<${e.type}_${n}>`;
          tokens.set(value, token);
        }
        replacement = token;
      }
      result += text.slice(cursor, e.start) + replacement;
      cursor = e.end;
    }
    out.push(mode === 'detect' ? text : result + text.slice(cursor));
  }
  const restorer = mode === 'pseudonymize' && tokens.size > 0 ? new TokenRestorer(new Map([...tokens].map(([v, t]) => [t, v]))) : undefined;
  return { texts: out, counts, restorer };
}

/** Privacy applied to chat messages (every role: earlier answers may quote PII too). */
export async function shieldMessages(
  scanner: PiiScanner,
  tenantId: string,
  mode: PrivacyMode,
  messages: ChatMessage[],
): Promise<Shielded & { messages: ChatMessage[] }> {
  const shielded = await shieldTexts(
    scanner,
    tenantId,
    mode,
    messages.map((m) => m.content),
  );
  return { ...shielded, messages: messages.map((m, i) => ({ ...m, content: shielded.texts[i] })) };
}

/**
 * Puts the original values back in place of their tokens: in a whole answer (`restore`), or in a
 * streamed one (`push` each delta, then `flush`), where a token may arrive split across deltas —
 * a tail that could still become a token is held back until the next delta decides.
 */
export class TokenRestorer {
  private pending = '';
  private readonly longest: number;

  constructor(private readonly values: ReadonlyMap<string, string>) {
    this.longest = Math.max(...[...values.keys()].map((t) => t.length));
  }

  restore(text: string): string {
    return text.replace(TOKEN, (token) => this.values.get(token) ?? token);
  }

  push(delta: string): string {
    const text = this.restore(this.pending + delta);
    const lt = text.lastIndexOf('<');
    if (lt >= 0 && text.length - lt < this.longest && this.couldBecomeToken(text.slice(lt))) {
      this.pending = text.slice(lt);
      return text.slice(0, lt);
    }
    this.pending = '';
    return text;
  }

  /** What is still held back (the answer ended). */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }

  private couldBecomeToken(tail: string): boolean {
    for (const token of this.values.keys()) if (token.startsWith(tail)) return true;
    return false;
  }
}
