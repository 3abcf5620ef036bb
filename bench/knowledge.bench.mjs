#!/usr/bin/env node
/**
 * Knowledge bases (#17), in-process on the built server (SQLite):
 * - indexing throughput without embeddings: documents through the durable workflow
 *   (chunk → embed (none) → index jobs, one per step), chunks/s; baseline: inserting the same
 *   chunks' text into a bare FTS5 table in one transaction, measured in the same run;
 * - keyword search p50/p95 over BENCH_CHUNKS chunks (default 100,000), `retrieval.search` with the
 *   access filter, RRF and chunk loading; baseline: the bare FTS5 BM25 query (match, order by
 *   bm25, limit 10) on the same database;
 * - time to first byte of a `POST /api/v1/query` stream without a provider, over HTTP (curl in a child process); baseline:
 *   `GET /api/v1/whoami` (an authenticated route that does nothing).
 *
 * Run: npm run build && node bench/knowledge.bench.mjs   (BENCH_CHUNKS, default 100000; --json)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLoam, loadConfig } from '../packages/server/dist/index.js';
import { table } from './common.mjs';

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100_000);
const WORKFLOW_DOCS = Number(process.env.BENCH_WORKFLOW_DOCS ?? 100);
const CHUNKS_PER_DOC = 100;
const QUERIES = 200;
const ADMIN_KEY = 'loam_sk_bench_knowledge_admin_key_0123456789abcdefg';

// A vocabulary with a Zipf-like frequency: a few common words, a long tail of rare ones.
const VOCAB = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}`);
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const word = () => VOCAB[Math.floor(VOCAB.length ** rand()) - 1];
const sentence = (n) => Array.from({ length: n }, word).join(' ');
/** A document of CHUNKS_PER_DOC paragraphs of ~60 tokens: the chunker makes one chunk of each (chunk_tokens 64). */
const documentText = () => Array.from({ length: CHUNKS_PER_DOC }, () => `${sentence(58)}.`).join('\n\n');

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => Number(x.toFixed(2));

const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-kb-'));
const config = loadConfig({}, { dataDir, logLevel: 'warn', adminApiKey: ADMIN_KEY, rateLimitEnabled: false });
const loam = await createLoam(config);
await loam.migrate();
await loam.bootstrap();
const app = await loam.http();
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${app.server.address().port}`;
const { knowledge, retrieval } = loam.services.knowledge;
const { platform } = loam;
const db = platform.database.db;
const ctx = {
  tenantId: 'default',
  principal: { tenantId: 'default', subject: 'bench', kind: 'api_key', roles: ['admin'], scopes: ['*'] },
  requestId: 'req_bench',
  ip: '127.0.0.1',
};
const collection = await knowledge.createCollection(ctx, { name: 'bench', chunking: { chunk_tokens: 64, overlap_tokens: 0 } });

// ---- indexing throughput through the workflow (documents added as extracted text) -------------
const { sql } = await import('kysely');
const texts = Array.from({ length: WORKFLOW_DOCS }, documentText);
const t0 = performance.now();
for (const text of texts) {
  const now = platform.clock.now();
  const id = platform.ids.new('doc');
  await platform.transaction(async (tx) => {
    await knowledge.store.insertDocument(tx, {
      id,
      tenant_id: 'default',
      collection_id: collection.id,
      filename: `${id}.txt`,
      content_type: 'text/plain',
      size: text.length,
      status: 'processing',
      error: null,
      blob_key: null,
      content_id: null,
      markdown: 0,
      chunk_count: 0,
      metadata: {},
      classification: 'internal',
      owner: 'bench',
      department: '',
      created_at: now,
      updated_at: now,
      text,
    });
    await knowledge.enqueue(tx, { id, tenant_id: 'default' }, 'chunk');
  });
}
await platform.jobs.drain(WORKFLOW_DOCS * 4);
const workflowSec = (performance.now() - t0) / 1000;
const indexed = Number((await sql`select count(*) as n from kb_chunks`.execute(db)).rows[0].n);
const workflowRate = indexed / workflowSec;

// Baseline: the same text into a bare FTS5 table, one transaction.
await sql`create virtual table bench_fts using fts5(body)`.execute(db);
const b0 = performance.now();
await db.transaction().execute(async (tx) => {
  for (const text of texts) for (const p of text.split('\n\n')) await sql`insert into bench_fts (body) values (${p})`.execute(tx);
});
const bareRate = indexed / ((performance.now() - b0) / 1000);

// ---- fill up to CHUNKS (the index step's code: insert chunks, index each) ---------------------
let total = indexed;
while (total < CHUNKS) {
  const now = platform.clock.now();
  const id = platform.ids.new('doc');
  const paragraphs = documentText().split('\n\n');
  await platform.transaction(async (tx) => {
    await knowledge.store.insertDocument(tx, {
      id,
      tenant_id: 'default',
      collection_id: collection.id,
      filename: `${id}.txt`,
      content_type: 'text/plain',
      size: 0,
      status: 'indexed',
      error: null,
      blob_key: null,
      content_id: null,
      markdown: 0,
      chunk_count: paragraphs.length,
      metadata: {},
      classification: 'internal',
      owner: 'bench',
      department: '',
      created_at: now,
      updated_at: now,
    });
    const chunks = paragraphs.map((text, i) => ({ id: `${id}_${i}`, position: i, heading_path: [], page: null, tokens: 60, text }));
    await knowledge.store.insertChunks(tx, { id, tenant_id: 'default', collection_id: collection.id }, chunks);
    for (const c of chunks) await knowledge.store.indexChunk(tx, 'default', c.id, c.text);
  });
  total += paragraphs.length;
}
await platform.database.dialect.analyzeAfterIndex(db, 'kb_chunks');

// ---- keyword search latency ---------------------------------------------------------------------
const queries = Array.from({ length: QUERIES }, () => sentence(3 + Math.floor(rand() * 3)));
const searchMs = [];
const bareMs = [];
let overlap = 0;
let bareHits = 0;
for (const q of queries.slice(0, 10)) await retrieval.search(ctx, { q, collectionIds: [collection.id], topK: 10 }); // warm-up
for (const q of queries) {
  const s0 = performance.now();
  const { hits } = await retrieval.search(ctx, { q, collectionIds: [collection.id], topK: 10 });
  searchMs.push(performance.now() - s0);
  const match = q
    .split(' ')
    .map((w) => `"${w}"`)
    .join(' OR ');
  const s1 = performance.now();
  const bare =
    await sql`select id, bm25(kb_chunks_fts) as s from kb_chunks_fts where kb_chunks_fts match ${match} order by bm25(kb_chunks_fts) limit 10`.execute(
      db,
    );
  bareMs.push(performance.now() - s1);
  // How much of the full BM25 top 10 (every word) Loam's top 10 keeps (it drops very common words).
  const mine = new Set(hits.map((h) => h.chunk_id));
  bareHits += bare.rows.length;
  overlap += bare.rows.filter((r) => mine.has(r.id)).length;
}

// The plan of the keyword query (as the dialect and the store build it): FTS5 hands its matches
// over in rank order (no sort of SQLite's), each joined to its chunk by the fts_rowid index and its
// document by primary key until LIMIT rows are kept.
const plan = (
  await sql`explain query plan
    select t.id, -kb_chunks_fts.rank as score, snippet(kb_chunks_fts, 0, '[', ']', char(8230), 16) as snippet
    from kb_chunks_fts cross join kb_chunks t on t.fts_rowid = kb_chunks_fts.rowid
    where kb_chunks_fts match ${'"w1" OR "w2"'} and t.tenant_id = ${'default'} and t.tenant_id = ${'default'} and t.collection_id in (${collection.id})
      and exists (select 1 from kb_documents d where d.id = t.document_id and d.tenant_id = ${'default'} and d.status = 'indexed')
    order by kb_chunks_fts.rank limit 10`.execute(db)
).rows.map((r) => r.detail);

// ---- time to first byte of a query stream (no provider) -----------------------------------------
// Measured by curl in another process (time_starttransfer): a client in this process could not
// read the first byte while SQLite's synchronous retrieval holds the event loop it shares.
const run = promisify(execFile);
const ttfb = async (url, init) => {
  const args = ['-s', '-o', '/dev/null', '-w', '%{time_starttransfer}', '--max-time', '30', '-N'];
  for (const [k, v] of Object.entries(init.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (init.method === 'POST') args.push('-X', 'POST', '--data-binary', init.body);
  const { stdout } = await run('curl', [...args, url]);
  return Number(stdout) * 1000;
};
const headers = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' };
const queryTtfb = [];
const whoamiTtfb = [];
for (let i = 0; i < 50; i++) {
  const body = JSON.stringify({ question: queries[i], collection_ids: [collection.id], top_k: 5 });
  queryTtfb.push(await ttfb(`${base}/api/v1/query`, { method: 'POST', headers, body }));
  whoamiTtfb.push(await ttfb(`${base}/api/v1/whoami`, { method: 'GET', headers }));
}

const result = {
  chunks: total,
  load: os.loadavg().map((l) => Number(l.toFixed(2))),
  indexing: { workflow_chunks_per_s: Math.round(workflowRate), bare_fts5_chunks_per_s: Math.round(bareRate), chunks: indexed },
  search_ms: {
    p50: ms(pct(searchMs, 50)),
    p95: ms(pct(searchMs, 95)),
    bare_fts5_p50: ms(pct(bareMs, 50)),
    bare_fts5_p95: ms(pct(bareMs, 95)),
    top10_overlap_with_bare: Number((overlap / bareHits).toFixed(3)),
  },
  plan,
  ttfb_ms: { query_p50: ms(pct(queryTtfb, 50)), query_p95: ms(pct(queryTtfb, 95)), whoami_p50: ms(pct(whoamiTtfb, 50)) },
};
if (process.argv.includes('--json')) console.log(JSON.stringify(result));
else {
  console.log(`knowledge bench: ${total} chunks, load ${result.load.join(' ')}`);
  console.log(`keyword query plan: ${plan.join(' | ')}`);
  const row = (measure, loam, baseline, target) => ({ measure, loam, 'baseline (same run)': baseline, target });
  console.log(
    table([
      row(
        'indexing, chunks/s (no embeddings)',
        result.indexing.workflow_chunks_per_s,
        `${result.indexing.bare_fts5_chunks_per_s} (bare FTS5 insert)`,
        '>= 500',
      ),
      row('keyword search p50 ms', result.search_ms.p50, `${result.search_ms.bare_fts5_p50} (bare FTS5 query)`, '<= 20'),
      row('keyword search p95 ms', result.search_ms.p95, `${result.search_ms.bare_fts5_p95}`, ''),
      row('top 10 shared with the bare query', result.search_ms.top10_overlap_with_bare, '1 (itself)', ''),
      row('query stream TTFB p50 ms', result.ttfb_ms.query_p50, `${result.ttfb_ms.whoami_p50} (GET whoami)`, '<= 50'),
      row('query stream TTFB p95 ms', result.ttfb_ms.query_p95, '', ''),
    ]),
  );
}
// The query streams the client cancelled after their first byte leave sockets app.close() would wait for.
app.server.closeAllConnections();
await loam.close(2000);
rmSync(dataDir, { recursive: true, force: true });
