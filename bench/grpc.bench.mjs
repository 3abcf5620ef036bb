#!/usr/bin/env node
/**
 * gRPC DatasetService (#20) on the built `loam serve` (SQLite unless LOAM_DATABASE_URL names a
 * PostgreSQL database; rate limits off), one run:
 * - bulk insert: records/s of BulkInsertRecords (native gRPC, HTTP/2, a stock grpc-js client, 1,000 records a message,
 *   BENCH_GRPC_STREAM (default 10,000, as a REST call) records a stream) against the REST bulk insert (POST
 *   …/records, 10,000 records a call) over BENCH_RECORDS (default 1,000,000) records a side,
 *   interleaved round by round so both see the same machine load. Both clients' bodies are
 *   encoded before the clock starts. Target: ≥ 1.0×.
 * - StreamRecords: records/s and the server's RSS (sampled every 100 ms) while a client reads the
 *   records BulkInsertRecords stored, against REST cursor pages (limit 1000) of the same records
 *   as the throughput baseline. Target: RSS growth ≤ 50 MB.
 *
 * Run: npm run build && node bench/grpc.bench.mjs   (--json for a machine-readable line;
 *      BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=…" profiles the server; BENCH_LOAM_BIN=…/bin/loam.mjs
 *      runs another build, e.g. a copy of the baseline's packages/cli)
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort, median, rssOf, sleep, startLoam, table } from './common.mjs';

const TOTAL = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const GRPC_STREAM = Number(process.env.BENCH_GRPC_STREAM ?? 10_000);
const BATCH = 10_000;
const ADMIN_KEY = 'loam_sk_bench_grpc_admin_key_0123456789abcdefghij';
// The Connect packages are the server's and the SDK's dependencies (not hoisted to the root).
const requireFromServer = createRequire(join(ROOT, 'packages/server/package.json'));
const { createGrpcTransport } = await import(requireFromServer.resolve('@connectrpc/connect-node'));
const { createDatasetServiceClient } = await import(join(ROOT, 'packages/sdk/dist/grpc.js'));
const { BulkInsertRecordsRequestSchema, BulkInsertRecordsResponseSchema } = await import(join(ROOT, 'packages/api/dist/grpc/index.js'));
const { create, fromBinary, toBinary } = await import(requireFromServer.resolve('@bufbuild/protobuf'));
const grpc = await import('@grpc/grpc-js');

const utf8 = new TextEncoder();
const person = (i) => ({ email: `person${i}@example.com`, name: `Person ${i}`, age: i % 90, city: ['Oslo', 'Lima', 'Pune'][i % 3] });

async function main() {
  const grpcPort = await freePort();
  const loam = await startLoam(
    {
      LOAM_ADMIN_API_KEY: ADMIN_KEY,
      LOAM_RATE_LIMIT_ENABLED: 'false',
      LOAM_GRPC_PORT: String(grpcPort),
      LOAM_BODY_LIMIT: String(64 * 1024 * 1024),
    },
    undefined,
    { bin: process.env.BENCH_LOAM_BIN },
  );
  const headers = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' };
  const api = async (method, path, body) => {
    const r = await fetch(loam.url + path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  };
  const stock = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), {});
  const vault = createDatasetServiceClient({
    apiKey: ADMIN_KEY,
    transport: createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort}` }),
  });
  const schema = {
    fields: [
      { name: 'email', type: 'string', required: true },
      { name: 'age', type: 'integer' },
    ],
  };
  const newDataset = async (name) => (await api('POST', '/api/v1/datasets', { name, schema })).data.id;

  /**
   * Messages of 1,000 records, serialized before the clock starts as the REST body is (the REST
   * side times sending a ready JSON text; this side sending ready protobuf bytes).
   */
  const messagesOf = (datasetId, records) => {
    const messages = [];
    for (let i = 0; i < records.length; i += 1000) {
      const message = { datasetId, records: records.slice(i, i + 1000).map((r) => ({ data: utf8.encode(JSON.stringify(r)) })) };
      messages.push(Buffer.from(toBinary(BulkInsertRecordsRequestSchema, create(BulkInsertRecordsRequestSchema, message))));
    }
    return messages;
  };
  /** One BulkInsertRecords stream of ready `messages` (a stock grpc-js client: bytes as they are). */
  const grpcInsert = (messages) =>
    new Promise((resolve, reject) => {
      const metadata = new grpc.Metadata();
      metadata.set('x-api-key', ADMIN_KEY);
      const call = stock.makeClientStreamRequest(
        '/llm_data_vault.v1.DatasetService/BulkInsertRecords',
        (bytes) => bytes,
        (bytes) => fromBinary(BulkInsertRecordsResponseSchema, bytes),
        metadata,
        {},
        (err, res) => (err ? reject(err) : resolve(res)),
      );
      (async () => {
        for (const m of messages) if (!call.write(m)) await once(call, 'drain');
        call.end();
      })().catch(reject);
    });

  try {
    // ---- bulk insert: TOTAL records a side, REST and gRPC interleaved round by round ----
    // A round: GRPC_STREAM records as REST calls of 10,000, then as one BulkInsertRecords stream.
    const restDs = await newDataset('rest-insert');
    const grpcDs = await newDataset('grpc-insert');
    const warm = Array.from({ length: 1000 }, (_, i) => person(TOTAL + i));
    await api(
      'POST',
      `/api/v1/datasets/${restDs}/records`,
      warm.map((data) => ({ data })),
    );
    await grpcInsert(messagesOf(grpcDs, warm));
    let restMs = 0;
    let grpcMs = 0;
    const roundRatios = []; // each round's REST time over its gRPC time (the records are the same)
    const loads = [os.loadavg()[0]];
    for (let done = 0; done < TOTAL; ) {
      const count = Math.min(GRPC_STREAM, TOTAL - done);
      const records = Array.from({ length: count }, (_, i) => person(done + i));
      let roundRestMs = 0;
      for (let i = 0; i < count; i += BATCH) {
        const body = JSON.stringify(records.slice(i, i + BATCH).map((data) => ({ data })));
        const t0 = performance.now();
        await api('POST', `/api/v1/datasets/${restDs}/records`, body);
        roundRestMs += performance.now() - t0;
      }
      const messages = messagesOf(grpcDs, records);
      const t0 = performance.now();
      const res = await grpcInsert(messages);
      const roundGrpcMs = performance.now() - t0;
      restMs += roundRestMs;
      grpcMs += roundGrpcMs;
      roundRatios.push(roundRestMs / roundGrpcMs);
      if (Number(res.inserted) !== count) throw new Error(`inserted ${res.inserted}`);
      done += count;
      loads.push(os.loadavg()[0]);
    }
    const n = TOTAL;
    const restRate = n / (restMs / 1000);
    const grpcRate = n / (grpcMs / 1000);

    // ---- StreamRecords over the TOTAL records BulkInsertRecords stored (+ the 1,000 warm-up) ----
    const streamDs = grpcDs;
    const expected = TOTAL + warm.length;
    await sleep(2000); // let the server settle after the fill
    const rssBefore = rssOf(loam.pid);
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(loam.pid) ?? 0);
    }, 100);
    const streamLoads = [os.loadavg()[0]];
    let streamed = 0;
    let t0 = performance.now();
    for await (const _ of vault.streamRecords({ datasetId: streamDs })) streamed++;
    const streamSec = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    streamLoads.push(os.loadavg()[0]);
    if (streamed !== expected) throw new Error(`streamed ${streamed} of ${expected}`);

    // REST cursor pages of the same records: the throughput baseline.
    let paged = 0;
    let cursor;
    t0 = performance.now();
    do {
      const page = await api(
        'GET',
        `/api/v1/datasets/${streamDs}/records?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      paged += page.data.length;
      cursor = page.pagination?.cursor;
    } while (cursor);
    const pageSec = (performance.now() - t0) / 1000;

    const mb = (b) => (b / 1024 / 1024).toFixed(1);
    const results = {
      machine: {
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        node: process.version,
        load: os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' '),
        load_insert: `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
        load_stream: `${Math.min(...streamLoads).toFixed(1)}–${Math.max(...streamLoads).toFixed(1)}`,
      },
      insert: {
        records: n,
        rest_per_s: Math.round(restRate),
        grpc_per_s: Math.round(grpcRate),
        ratio: +(grpcRate / restRate).toFixed(2),
        rounds: roundRatios.length,
        ratio_median_of_rounds: +median(roundRatios).toFixed(2),
      },
      stream: {
        records: streamed,
        grpc_per_s: Math.round(streamed / streamSec),
        rest_pages_per_s: Math.round(paged / pageSec),
        ratio: +(streamed / streamSec / (paged / pageSec)).toFixed(2),
        rss_before_mb: +mb(rssBefore),
        rss_peak_mb: +mb(peak),
        rss_growth_mb: +mb(peak - rssBefore),
      },
    };
    if (process.argv.includes('--json')) console.log(JSON.stringify(results));
    else {
      const m = results.machine;
      console.log(
        `machine: ${m.cores} × ${m.cpu}, Node ${m.node}, load ${m.load} (1-min load: ${m.load_insert} inserting, ${m.load_stream} streaming)`,
      );
      console.log(
        table([
          { what: 'bulk insert REST (10,000/call)', records: n, 'records/s': results.insert.rest_per_s, 'vs baseline': '1.00×' },
          {
            what: `BulkInsertRecords (${GRPC_STREAM.toLocaleString('en')}/stream)`,
            records: n,
            'records/s': results.insert.grpc_per_s,
            'vs baseline': `${results.insert.ratio}×`,
          },
          { what: 'REST cursor pages (1000)', records: paged, 'records/s': results.stream.rest_pages_per_s, 'vs baseline': '1.00×' },
          {
            what: 'StreamRecords (gRPC)',
            records: streamed,
            'records/s': results.stream.grpc_per_s,
            'vs baseline': `${results.stream.ratio}×`,
          },
        ]),
      );
      console.log(
        `BulkInsertRecords vs REST, median of ${results.insert.rounds} rounds' ratios: ${results.insert.ratio_median_of_rounds}× (the table: total times)`,
      );
      console.log(
        `StreamRecords server RSS: ${results.stream.rss_before_mb} MB before, ${results.stream.rss_peak_mb} MB peak, growth ${results.stream.rss_growth_mb} MB (target ≤ 50 MB)`,
      );
    }
  } finally {
    stock.close();
    await loam.stop();
  }
}

await main();
