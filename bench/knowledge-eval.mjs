#!/usr/bin/env node
/**
 * Retrieval quality of knowledge bases (#17): a labeled set of 250 questions over a generated
 * gazetteer (250 fictional towns in 25 Markdown documents, one section each; generated here, so
 * public domain), each question labeled with the section that answers it. Reports recall@5 and
 * MRR (over the top 10) for BM25 alone, vectors alone and hybrid (RRF).
 *
 * Vectors come from a provider double speaking the OpenAI embeddings protocol with deterministic
 * embeddings: feature-hashed word and character-trigram counts (512 dimensions), L2-normalized, a
 * stand-in that rewards shared words and word pieces, not meaning.
 *
 * `--set debian`: the harder set, 244 hand-written paraphrased questions over the openings of 244
 * Debian manual pages (one document each; a question is labeled with its page and passage), where
 * a question shares few words with its answer and many pages share vocabulary.
 *
 * The sets are written to bench/data/knowledge-eval.json and knowledge-eval-debian.json (rebuilt
 * when missing; the Debian one needs man(1) and the pages installed).
 * Run: npm run build && node bench/knowledge-eval.mjs [--set debian]   (--json for a machine-readable line)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { createLoam, loadConfig } from '../packages/server/dist/index.js';
import { ROOT } from './common.mjs';
import { DEBIAN_QUESTIONS } from './knowledge-eval-debian-questions.mjs';

const SET_NAME = process.argv.includes('--set') ? process.argv[process.argv.indexOf('--set') + 1] : 'gazetteer';
if (!['gazetteer', 'debian'].includes(SET_NAME)) throw new Error('--set is gazetteer or debian');
const SET = join(ROOT, SET_NAME === 'debian' ? 'bench/data/knowledge-eval-debian.json' : 'bench/data/knowledge-eval.json');
/** Characters kept of each manual page: NAME, SYNOPSIS and the start of DESCRIPTION. */
const PAGE_CHARS = 1600;

// ---- the labeled set ------------------------------------------------------------------------------
let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const SYL = [
  'bar',
  'cel',
  'dor',
  'fen',
  'gal',
  'hol',
  'kir',
  'lun',
  'mar',
  'nor',
  'pel',
  'quin',
  'ros',
  'sal',
  'tor',
  'ven',
  'wil',
  'yar',
  'zan',
  'ash',
];
const RIVERS = ['Amber', 'Silver', 'Crane', 'Willow', 'Otter', 'Heron', 'Slate', 'Linden', 'Briar', 'Moss', 'Falcon', 'Ember'];
const PRODUCTS = [
  'woollen cloth',
  'blue cheese',
  'copper kettles',
  'apple cider',
  'glass beads',
  'rope',
  'clay pipes',
  'honey',
  'slate roofs',
  'violins',
  'candles',
  'paper',
];
const FESTIVALS = ['lantern walk', 'harvest fair', 'boat race', 'kite day', 'bell ringing', 'bread feast'];
const TRADES = ['miller', 'weaver', 'smith', 'potter', 'fisher', 'mason', 'brewer', 'tanner'];
const FIRST = [
  'Ada',
  'Bram',
  'Cora',
  'Dirk',
  'Edda',
  'Finn',
  'Greta',
  'Hugo',
  'Ilse',
  'Jonas',
  'Kaja',
  'Lars',
  'Mina',
  'Nils',
  'Oda',
  'Piet',
];

function generateSet() {
  const names = new Set();
  while (names.size < 250)
    names.add(`${pick(SYL)}${pick(SYL)}${pick(['by', 'ton', 'stead', 'wick', 'holm', 'ford'])}`.replace(/^./, (c) => c.toUpperCase()));
  const towns = [...names].map((name) => ({
    name,
    river: pick(RIVERS),
    product: pick(PRODUCTS),
    festival: pick(FESTIVALS),
    founder: `${pick(FIRST)} the ${pick(TRADES)}`,
    year: 900 + Math.floor(rand() * 900),
    population: 300 + Math.floor(rand() * 20000),
  }));
  const documents = [];
  for (let d = 0; d < 25; d++) {
    const part = towns.slice(d * 10, d * 10 + 10);
    const body = part
      .map(
        (t) =>
          `## ${t.name}\n\n${t.name} is a market town on the ${t.river} river. Its workshops are known for ${t.product}, sold at the weekly market. ` +
          `The town was founded in ${t.year} by ${t.founder}, and about ${t.population} people live there today. ` +
          `Every summer the townsfolk hold the ${t.festival}, which draws visitors from the whole valley.`,
      )
      .join('\n\n');
    documents.push({ filename: `gazetteer-${String(d + 1).padStart(2, '0')}.md`, text: `# Gazetteer, part ${d + 1}\n\n${body}\n` });
  }
  const templates = [
    (t) => `Which river flows through ${t.name}?`,
    (t) => `What goods is ${t.name} famous for?`,
    (t) => `Who founded ${t.name}, and when?`,
    (t) => `How many people live in ${t.name}?`,
    (t) => `What celebration does ${t.name} hold each summer?`,
    (t) => `Which town was established in ${t.year} by ${t.founder}?`,
  ];
  const questions = towns.map((t, i) => ({
    question: templates[i % templates.length](t),
    relevant: { filename: documents[Math.floor(i / 10)].filename, heading: t.name },
  }));
  return { source: 'generated by bench/knowledge-eval.mjs (public domain)', documents, questions };
}

/**
 * The Debian set: the opening of the manual page of each command of DEBIAN_QUESTIONS, rendered by
 * man(1) from /usr/share/man on a Debian machine (free documentation shipped by Debian), and each
 * command's hand-written, paraphrased question labeled with its page.
 */
function generateDebianSet() {
  const documents = [];
  const questions = [];
  for (const [command, question] of Object.entries(DEBIAN_QUESTIONS)) {
    const page = execFileSync('sh', ['-c', `MANWIDTH=100 man -P cat ${JSON.stringify(command)} 2>/dev/null | col -b`], {
      encoding: 'utf8',
    });
    const text = page
      .replace(/\n{3,}/g, '\n\n')
      .trim()
      .slice(0, PAGE_CHARS);
    if (!/^\s*NAME/m.test(text)) throw new Error(`no manual page for ${command}`);
    const filename = `${command}.txt`;
    documents.push({ filename, text: `${text}\n` });
    questions.push({ question, relevant: { filename, passage: text.slice(0, 300) } });
  }
  return { source: 'manual pages of Debian 12 (/usr/share/man), openings; questions written for Loam', documents, questions };
}

mkdirSync(join(ROOT, 'bench/data'), { recursive: true });
if (!existsSync(SET)) writeFileSync(SET, `${JSON.stringify(SET_NAME === 'debian' ? generateDebianSet() : generateSet(), null, 1)}\n`);
const set = JSON.parse(readFileSync(SET, 'utf8'));

// ---- a deterministic embeddings provider double ---------------------------------------------------
const DIM = 512;
function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
function embed(text) {
  const v = new Array(DIM).fill(0);
  for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    v[hash(w) % DIM] += 1;
    const padded = ` ${w} `;
    for (let i = 0; i + 3 <= padded.length; i++) v[hash(padded.slice(i, i + 3)) % DIM] += 0.5;
  }
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}
const double = createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    const body = JSON.parse(raw || '{}');
    const input = Array.isArray(body.input) ? body.input : [body.input];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        data: input.map((t, index) => ({ object: 'embedding', index, embedding: embed(t) })),
        model: body.model,
        usage: { prompt_tokens: 1, total_tokens: 1 },
      }),
    );
  });
});
await new Promise((r) => double.listen(0, '127.0.0.1', r));

// ---- index and evaluate -----------------------------------------------------------------------------
const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-eval-kb-'));
const config = loadConfig(
  {},
  {
    dataDir,
    logLevel: 'warn',
    adminApiKey: 'loam_sk_eval_knowledge_admin_key_0123456789abcdefghij',
    llmProviders: [
      { name: 'double', kind: 'openai', baseUrl: `http://127.0.0.1:${double.address().port}/v1`, apiKey: 'k', models: ['hash-embed'] },
    ],
  },
);
const loam = await createLoam(config);
await loam.migrate();
await loam.bootstrap();
const { knowledge, retrieval } = loam.services.knowledge;
const { platform } = loam;
const ctx = {
  tenantId: 'default',
  principal: { tenantId: 'default', subject: 'eval', kind: 'api_key', roles: ['admin'], scopes: ['*'] },
  requestId: 'req_eval',
  ip: '127.0.0.1',
};
const collection = await knowledge.createCollection(ctx, {
  name: SET_NAME,
  embedding_model: 'hash-embed',
  chunking: { chunk_tokens: 128, overlap_tokens: 16 },
});
for (const doc of set.documents) {
  const now = platform.clock.now();
  const id = platform.ids.new('doc');
  await platform.transaction(async (tx) => {
    await knowledge.store.insertDocument(tx, {
      id,
      tenant_id: 'default',
      collection_id: collection.id,
      filename: doc.filename,
      content_type: doc.filename.endsWith('.md') ? 'text/markdown' : 'text/plain',
      size: doc.text.length,
      status: 'processing',
      error: null,
      blob_key: null,
      content_id: null,
      markdown: doc.filename.endsWith('.md') ? 1 : 0,
      chunk_count: 0,
      metadata: {},
      classification: 'internal',
      owner: 'eval',
      department: '',
      created_at: now,
      updated_at: now,
      text: doc.text,
    });
    await knowledge.enqueue(tx, { id, tenant_id: 'default' }, 'chunk');
  });
}
await platform.jobs.drain();

const result = { questions: set.questions.length };
for (const mode of ['keyword', 'vector', 'hybrid']) {
  let hit5 = 0;
  let rr = 0;
  for (const q of set.questions) {
    const { hits } = await retrieval.search(ctx, { q: q.question, collectionIds: [collection.id], topK: 10, mode });
    // The gazetteer labels a section (heading) of a document; the Debian set a whole page.
    const rank =
      hits.findIndex((h) => h.filename === q.relevant.filename && (!q.relevant.heading || h.heading_path.includes(q.relevant.heading))) + 1;
    if (rank >= 1 && rank <= 5) hit5++;
    if (rank >= 1) rr += 1 / rank;
  }
  result[mode === 'keyword' ? 'bm25' : mode] = {
    recall_at_5: Number((hit5 / set.questions.length).toFixed(3)),
    mrr: Number((rr / set.questions.length).toFixed(3)),
  };
}
if (process.argv.includes('--json')) console.log(JSON.stringify(result));
else {
  console.log(`retrieval evaluation: ${result.questions} labeled questions (${SET})`);
  for (const m of ['bm25', 'vector', 'hybrid']) console.log(`  ${m.padEnd(7)} recall@5 ${result[m].recall_at_5}  MRR ${result[m].mrr}`);
}
await loam.close(2000);
double.close();
rmSync(dataDir, { recursive: true, force: true });
