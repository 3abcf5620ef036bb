// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const SPACES = /[\t\f\v \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+/g;

/**
 * Unicode NFC, one kind of line break, no control characters, single spaces, at most one blank
 * line. With `keepIndent`, the leading whitespace of a line (code) stays, tabs as four spaces.
 */
export function normalizeText(text: string, keepIndent = false): string {
  const lines = text
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u2028\u2029]/g, '\n')
    .replace(CONTROL, (c) => (c === '\t' || c === '\f' || c === '\v' ? c : ''))
    .split('\n')
    .map((l) => {
      if (!keepIndent) return l.replace(SPACES, ' ').trim();
      const indent = /^[\t ]*/.exec(l)?.[0].replace(/\t/g, '    ') ?? '';
      const rest = l
        .slice(/^[\t ]*/.exec(l)?.[0].length ?? 0)
        .replace(SPACES, ' ')
        .trimEnd();
      return rest ? indent + rest : '';
    });
  return lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\s+$/g, '');
}

const WORD = /[\p{L}\p{N}]+(?:['\u2019.-][\p{L}\p{N}]+)*/gu;

export function countWords(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(WORD)) n++;
  return n;
}

export const firstLineTitle = (text: string): string | undefined => {
  const line = text
    .split('\n')
    .find((l) => l.trim())
    ?.trim();
  return line && line.length <= 200 ? line : undefined;
};
