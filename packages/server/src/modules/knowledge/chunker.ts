/**
 * Cuts a document's text into chunks of about `chunkTokens` tokens with `overlapTokens` of
 * overlap, along its structure: a chunk never spans two sections (a Markdown heading starts a
 * new one, and each chunk keeps the path of headings above it), paragraphs are kept whole when
 * they fit, and a form feed (a PDF page break) advances the page number.
 *
 * Tokens are counted as words and punctuation runs (`\w+|[^\w\s]`), which tracks the subword
 * tokens of embedding models to within about 30 % for English prose; the limit is a budget,
 * not a model's hard context limit.
 */
export interface ChunkOptions {
  chunkTokens: number;
  overlapTokens: number;
  /** The text is Markdown: `#` lines are headings. */
  markdown: boolean;
}

export interface Chunk {
  position: number;
  text: string;
  tokens: number;
  headingPath: string[];
  page: number | null;
}

const TOKEN = /\w+|[^\w\s]/gu;
export const countTokens = (text: string): number => text.match(TOKEN)?.length ?? 0;

interface Block {
  text: string;
  headingPath: string[];
  page: number | null;
  heading: boolean;
}

/** Paragraphs (blank-line separated) with the heading path and page each sits under. */
function blocksOf(text: string, markdown: boolean): Block[] {
  const paged = text.includes('\f');
  const blocks: Block[] = [];
  const path: string[] = [];
  let page = 1;
  for (const pageText of text.split('\f')) {
    for (const para of pageText.split(/\n[ \t]*\n+/)) {
      const lines = para.split('\n');
      let buf: string[] = [];
      const flush = () => {
        const t = buf.join('\n').trim();
        if (t) blocks.push({ text: t, headingPath: [...path], page: paged ? page : null, heading: false });
        buf = [];
      };
      for (const line of lines) {
        const h = markdown ? /^[ \t]{0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$/.exec(line) : null;
        if (!h) {
          buf.push(line);
          continue;
        }
        flush();
        const level = h[1].length;
        path.length = Math.min(path.length, level - 1);
        while (path.length < level - 1) path.push('');
        path.push(h[2].trim());
        blocks.push({ text: h[2].trim(), headingPath: path.filter(Boolean), page: paged ? page : null, heading: true });
      }
      flush();
    }
    page++;
  }
  return blocks;
}

/** The words of `text` as [start, end) offsets of each token, for cutting at token boundaries. */
function tokenSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (const m of text.matchAll(TOKEN)) spans.push([m.index ?? 0, (m.index ?? 0) + m[0].length]);
  return spans;
}

/** A paragraph longer than the budget, cut into windows of `size` tokens stepping by `size - overlap`. */
function splitLong(text: string, size: number, overlap: number): string[] {
  const spans = tokenSpans(text);
  const out: string[] = [];
  const step = Math.max(1, size - overlap);
  for (let i = 0; i < spans.length; i += step) {
    const end = Math.min(spans.length, i + size);
    out.push(text.slice(spans[i][0], spans[end - 1][1]));
    if (end === spans.length) break;
  }
  return out;
}

/** The last `n` tokens of `text` (the overlap carried into the next chunk). */
function tail(text: string, n: number): string {
  if (n <= 0) return '';
  const spans = tokenSpans(text);
  if (spans.length <= n) return text;
  return text.slice(spans[spans.length - n][0]);
}

export function chunkText(text: string, opts: ChunkOptions): Chunk[] {
  const size = Math.max(8, opts.chunkTokens);
  const overlap = Math.min(opts.overlapTokens, Math.floor(size / 2));
  const chunks: Chunk[] = [];
  let parts: string[] = [];
  let tokens = 0;
  let headingOnly = false;
  let current: { headingPath: string[]; page: number | null } | undefined;
  const emit = () => {
    const body = parts.join('\n\n').trim();
    if (body && current && parts.some((p) => p.trim()))
      chunks.push({ position: chunks.length, text: body, tokens: countTokens(body), headingPath: current.headingPath, page: current.page });
  };
  const sectionKey = (b: { headingPath: string[] }) => b.headingPath.join('\u0000');
  for (const block of blocksOf(text, opts.markdown)) {
    const n = countTokens(block.text);
    if (block.heading) {
      // A heading closes the section before it; its text starts the next chunk (context for search).
      if (tokens > 0 && current && !headingOnly) emit();
      headingOnly = true;
      parts = [block.text];
      tokens = n;
      current = { headingPath: block.headingPath, page: block.page };
      continue;
    }
    if (current && (sectionKey(current) !== sectionKey(block) || tokens + n > size) && tokens > 0) {
      const sameSection = sectionKey(current) === sectionKey(block);
      emit();
      const carried = sameSection ? tail(parts.join('\n\n'), overlap) : '';
      parts = carried ? [carried] : [];
      tokens = carried ? countTokens(carried) : 0;
    }
    current = { headingPath: block.headingPath, page: block.page };
    headingOnly = false;
    if (n > size) {
      const pieces = splitLong(block.text, size, overlap);
      for (const [i, piece] of pieces.entries()) {
        if (tokens > 0 && tokens + countTokens(piece) > size) {
          emit();
          parts = [];
          tokens = 0;
        }
        parts.push(piece);
        tokens += countTokens(piece);
        if (i < pieces.length - 1) {
          emit();
          parts = [];
          tokens = 0;
        }
      }
      continue;
    }
    parts.push(block.text);
    tokens += n;
  }
  if (tokens > 0 && !headingOnly) emit();
  return chunks;
}
