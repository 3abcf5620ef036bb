/** `loam docs`: documents of knowledge bases — add files, search, and ask with cited sources. */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { KbDocument } from '@loam/sdk';
import type { Loam } from '@loam/sdk/node';
import { Command } from 'commander';
import { collect, keyValue, positiveInt } from '../args.js';
import { type ClientIO, UsageError, clientAction, clientGroup } from '../client.js';
import { type Output, ProgressBar, print, table } from '../output.js';
import { withExamples } from '../program.js';

const COLLECTION: [string, string] = ['--collection <id>', 'the collection (knowledge base) id'];
const COLLECTIONS: [string, string] = ['--collection <id>', 'a collection to search (repeat for several)'];

/** The files of the arguments: files as given, directories walked (hidden entries skipped), sorted. */
export function filesOf(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (path: string, top: boolean) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      throw new UsageError(`no such file or directory: ${path}`);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (!name.startsWith('.')) walk(join(path, name), false);
    } else if (st.isFile()) out.push(path);
    else if (top) throw new UsageError(`not a file or directory: ${path}`);
  };
  for (const p of paths) walk(p, true);
  return out;
}

interface AddOptions {
  collection: string;
  meta?: Record<string, string>;
  wait: boolean;
  progress: boolean;
}

function add(io: ClientIO): Command {
  const command = new Command('add')
    .description('Add files (or every file under directories) to a collection: upload, index, wait')
    .argument('<path...>', 'files or directories')
    .requiredOption(...COLLECTION)
    .option('--meta <key=value>', 'document metadata (classification, owner, department, …); repeatable', keyValue)
    .option('--no-wait', 'return once uploaded, without waiting for indexing')
    .option('--no-progress', 'do not show the progress bars');
  withExamples(command, 'loam docs add handbook.pdf --collection kb_01…', 'loam docs add ./docs --collection kb_01… --meta department=hr');
  return clientAction<AddOptions>(command, io, async ({ args, opts, o, loam }) => {
    const files = filesOf(args);
    if (files.length === 0) throw new UsageError('no files found');
    const added: KbDocument[] = [];
    let failed = 0;
    for (const [i, path] of files.entries()) {
      const bar = new ProgressBar(o.err, `[${i + 1}/${files.length}] ${basename(path)}`, opts.progress && !o.json);
      let sent = 0;
      let size: number | undefined;
      try {
        const doc = await loam().documents.upload(path, {
          collection: opts.collection,
          ...(opts.meta ? { metadata: opts.meta } : {}),
          wait: opts.wait,
          onProgress: (p) => {
            sent = p.loaded;
            size = p.total;
            bar.update(p.loaded, p.total);
          },
        });
        bar.finish(sent, size, ` ${doc.status}`);
        added.push(doc);
      } catch (err) {
        bar.finish(sent, size, ' failed');
        // One bad file does not stop the others; the exit code says something failed.
        o.err.write(`loam: ${path}: ${(err as Error).message}\n`);
        failed++;
      }
    }
    print(o, added, () => table(added as unknown as Record<string, unknown>[], ['id', 'status', 'chunk_count', 'filename']));
    if (failed) process.exitCode = 1;
  });
}

interface SearchOptions {
  collection: string[];
  topK?: number;
  mode?: 'hybrid' | 'keyword' | 'vector';
}

const oneLine = (s: string, n: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > n ? `${flat.slice(0, n - 1)}…` : flat;
};

function search(io: ClientIO): Command {
  const command = new Command('search')
    .description('Search collections (hybrid BM25 + vectors): the best chunks with their scores')
    .argument('<query>', 'what to search for')
    .requiredOption(...COLLECTIONS, collect)
    .option('--top-k <n>', 'how many chunks (default 10, at most 100)', positiveInt)
    .option('--mode <mode>', 'hybrid (default), keyword or vector');
  withExamples(
    command,
    'loam docs search "vacation policy" --collection kb_01…',
    'loam docs search "refunds" --collection kb_a --collection kb_b --json',
  );
  return clientAction<SearchOptions>(command, io, async ({ args, opts, o, loam }) => {
    if (opts.mode && !['hybrid', 'keyword', 'vector'].includes(opts.mode)) throw new UsageError('--mode is one of hybrid, keyword, vector');
    const r = await loam().knowledge.search(args[0], { collectionIds: opts.collection, topK: opts.topK, mode: opts.mode });
    print(o, r, () =>
      r.hits.length
        ? table(
            r.hits.map((h, i) => ({
              '#': i + 1,
              score: h.score.toFixed(4),
              file: h.filename,
              page: h.page ?? '',
              text: oneLine(h.highlights[0] ?? h.text, 80),
            })),
            ['#', 'score', 'file', 'page', 'text'],
          )
        : 'No matching chunks.',
    );
  });
}

interface AskOptions {
  collection: string[];
  topK?: number;
  model?: string;
  stream: boolean;
}

/** Streams the answer to stdout as it comes, then its sources; Ctrl-C cancels the generation. */
async function streamAnswer(o: Output, client: Loam, body: Parameters<Loam['knowledge']['query']>[0]): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const sources: string[] = [];
  try {
    for await (const part of client.knowledge.query(body, { signal: controller.signal })) {
      if (part.type === 'source-document') sources.push(`${part.title}${pageOf(part)}`);
      else if (part.type === 'text-delta') o.out.write(part.delta);
      else if (part.type === 'error') throw new Error(part.errorText);
    }
    o.out.write(`\n${sources.length ? `\nSources:\n${sources.map((s) => `  ${s}`).join('\n')}\n` : ''}`);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const pageOf = (part: { providerMetadata?: { loam?: { page?: number | null } } }) => {
  const page = part.providerMetadata?.loam?.page;
  return typeof page === 'number' ? ` (page ${page})` : '';
};

function ask(io: ClientIO): Command {
  const command = new Command('ask')
    .description('Ask a question: the answer streams with [n] citations, then its sources')
    .argument('<question>', 'the question')
    .requiredOption(...COLLECTIONS, collect)
    .option('--top-k <n>', 'how many chunks to answer from (default 5)', positiveInt)
    .option('--model <model>', 'the LLM to answer with (default: the server’s; none configured: an extractive answer)')
    .option('--no-stream', 'print the answer once it is complete');
  withExamples(
    command,
    'loam docs ask "How many vacation days do I get?" --collection kb_01…',
    'loam docs ask "Who approves refunds?" --collection kb_01… --json',
  );
  return clientAction<AskOptions>(command, io, async ({ args, opts, o, loam }) => {
    const body = { question: args[0], collection_ids: opts.collection, top_k: opts.topK, model: opts.model };
    if (o.json || !opts.stream) {
      const answer = await loam().knowledge.ask(body);
      return print(o, answer, () =>
        [answer.answer, '', 'Sources:', ...answer.sources.map((s) => `  [${s.number}] ${s.filename}`)].join('\n'),
      );
    }
    await streamAnswer(o, loam(), body);
  });
}

export function docsCommand(io: ClientIO): Command {
  return clientGroup(
    'docs',
    'Knowledge bases: add documents to a collection, search them, ask with cited sources',
    [add(io), search(io), ask(io)],
    'loam docs add ./handbook --collection kb_01…',
    'loam docs ask "How do I file expenses?" --collection kb_01…',
  );
}
