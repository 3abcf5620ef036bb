/**
 * The mixed workload of the cluster test and the checks made afterwards. Every kind is a
 * `{ name, setup(ctx), loop(ctx), verify(ctx) }`: `loop` runs until `ctx.stopping()` and keeps
 * what the server acknowledged; `verify` reads it back after the run (through the load balancer).
 * More kinds (webhooks, events, …) are added to KINDS as their modules land.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sleep } from '../common.mjs';

/** Every request the clients made: when, how it ended, and which replica answered. */
export class Recorder {
  requests = [];

  /** For reading back after the run: a 5xx or a broken connection is tried again (up to 5 times). */
  async read(url, init = {}) {
    let r;
    for (let i = 0; i < 5; i++) {
      r = await this.call('verify', url, init);
      if (r.status > 0 && r.status < 500) return r;
      await sleep(500);
    }
    return r;
  }

  async call(kind, url, init = {}) {
    const start = performance.now();
    let status = 0;
    let res;
    let detail = '';
    try {
      res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(15_000) });
      status = res.status;
      const text = await res.text();
      if (status >= 500) detail = text.slice(0, 100);
      const body = text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
      return { status, body, headers: res.headers };
    } catch (err) {
      detail = String(err.cause?.code ?? err.name);
      return { status: 0, error: err };
    } finally {
      // A 429 is a failure of the workload (its budgets are far above what it sends), not of the probe.
      const ok = status >= 200 && status < 500 && (status !== 429 || kind === 'probe');
      this.requests.push({ kind, start, end: performance.now(), status, ok, server: res?.headers.get('x-served-by') ?? '', detail });
    }
  }
}

const json = (token, body, method = 'POST') => ({
  method,
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});
/** JSON with sorted keys: the database may store an object's keys in another order. */
const canonical = (v) =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
        .join(',')}}`
    : JSON.stringify(v);
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** `fn(item)` for every item, `n` at a time: the read-backs after the run. */
async function eachLimited(items, fn, n = 6) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Sign-ins (`/auth/login`, `/auth/me`) and client-credentials grants (`/auth/token`). */
const auth = {
  name: 'auth',
  async loop(ctx) {
    const user = ctx.users[ctx.worker % ctx.users.length];
    while (!ctx.stopping()) {
      const login = await ctx.rec.call('login', `${ctx.lb}/auth/login`, json(undefined, { username: user.email, password: user.password }));
      if (login.status === 200)
        await ctx.rec.call('me', `${ctx.lb}/auth/me`, { headers: { authorization: `Bearer ${login.body.access_token}` } });
      await ctx.rec.call(
        'token',
        `${ctx.lb}/auth/token`,
        json(undefined, {
          grant_type: 'client_credentials',
          client_id: ctx.client.id,
          client_secret: ctx.client.secret,
          scope: 'storage ingest',
        }),
      );
      await sleep(ctx.pace * 5);
    }
  },
};

/** Pre-signed uploads: URL from Loam, bytes straight to S3; read back through a download URL. */
const uploads = {
  name: 'upload',
  async loop(ctx) {
    while (!ctx.stopping()) {
      const bytes = randomBytes(2048 + Math.floor(Math.random() * 8192));
      const r = await ctx.rec.call(
        'upload-url',
        `${ctx.lb}/generate-upload-url`,
        json(ctx.token(), { filename: 'f.bin', contentType: 'application/octet-stream' }),
      );
      if (r.status === 200) {
        const put = await ctx.rec.call('s3-put', r.body.uploadUrl, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream' },
          body: bytes,
        });
        if (put.status === 200) ctx.acked.uploads.push({ key: r.body.s3Key, sha: sha(bytes) });
      }
      await sleep(ctx.pace);
    }
  },
  async verify(ctx) {
    let bad = 0;
    let why = '';
    await eachLimited(ctx.acked.uploads, async (u) => {
      const d = await ctx.rec.read(`${ctx.lb}/generate-download-url`, json(ctx.token(), { s3Key: u.key }));
      const got = d.status === 200 ? await fetch(d.body.downloadUrl).then((x) => x.arrayBuffer()) : undefined;
      if (!got || sha(Buffer.from(got)) !== u.sha) {
        bad++;
        why ||= ` (first bad: ${d.status} ${got ? `${got.byteLength} bytes differ` : JSON.stringify(d.body).slice(0, 80)})`;
      }
    });
    return {
      name: 'uploads intact',
      value: `${ctx.acked.uploads.length - bad}/${ctx.acked.uploads.length}${why}`,
      pass: bad === 0 && ctx.acked.uploads.length > 0,
    };
  },
};

/** Text ingestion: the item is processed by a job (any replica or the worker) to COMPLETED. */
const ingest = {
  name: 'ingest',
  async loop(ctx) {
    while (!ctx.stopping()) {
      const content = `cluster test ${ctx.worker} ${randomBytes(12).toString('hex')} ${'lorem ipsum '.repeat(20)}`;
      const r = await ctx.rec.call('ingest', `${ctx.lb}/ingest/text`, json(ctx.token(), { content, metadata: { run: ctx.run } }));
      if (r.status === 200 || r.status === 202) ctx.acked.ingested.push({ id: r.body.id, content });
      await sleep(ctx.pace);
    }
  },
  async verify(ctx) {
    const items = ctx.acked.ingested;
    const final = new Map();
    const deadline = Date.now() + ctx.drainMs;
    while (final.size < items.length && Date.now() < deadline) {
      await eachLimited(
        items.filter((it) => !final.has(it.id)),
        async (it) => {
          const r = await ctx.rec.read(`${ctx.lb}/content/${it.id}`, { headers: { authorization: `Bearer ${ctx.token()}` } });
          if (r.status === 200 && ['COMPLETED', 'ERROR'].includes(r.body.status)) final.set(it.id, r.body.status);
        },
      );
      if (final.size < items.length) await sleep(1000);
    }
    let intact = 0;
    await eachLimited(items, async (it) => {
      const t = await ctx.rec.read(`${ctx.lb}/content/${it.id}/text`, { headers: { authorization: `Bearer ${ctx.token()}` } });
      if (t.status === 200 && t.body.content === it.content) intact++;
    });
    const completed = [...final.values()].filter((s) => s === 'COMPLETED').length;
    return [
      {
        name: 'ingested items final (completed)',
        value: `${final.size}/${items.length} (${completed})`,
        pass: items.length > 0 && completed === items.length,
      },
      { name: 'ingested text intact', value: `${intact}/${items.length}`, pass: intact === items.length },
    ];
  },
};

const BATCH = 25;
/** Dataset bulk inserts (one request per batch, idempotent `request_id`) and queries. */
const datasets = {
  name: 'datasets',
  async loop(ctx) {
    let n = 0;
    while (!ctx.stopping()) {
      const batch = `b${ctx.worker}_${n++}_${randomBytes(3).toString('hex')}`;
      const data = Array.from({ length: BATCH }, (_, i) => ({
        id: `${batch}_${i}`,
        data: { batch, i, text: randomBytes(16).toString('hex') },
      }));
      const r = await ctx.rec.call(
        'bulk-insert',
        `${ctx.lb}/api/v1/datasets/${ctx.dataset}/records`,
        json(ctx.adminKey, { request_id: batch, data }),
      );
      if (r.status === 200 || r.status === 201) ctx.acked.batches.push({ batch, data });
      await ctx.rec.call(
        'query',
        `${ctx.lb}/api/v1/datasets/${ctx.dataset}/records/query`,
        json(ctx.adminKey, { filter: { i: 3 }, limit: 20 }),
      );
      await sleep(ctx.pace);
    }
  },
  async verify(ctx) {
    let bad = 0;
    let why = '';
    await eachLimited(ctx.acked.batches, async (b) => {
      const r = await ctx.rec.read(
        `${ctx.lb}/api/v1/datasets/${ctx.dataset}/records/query`,
        json(ctx.adminKey, { filter: { batch: b.batch }, limit: 100 }),
      );
      const got = new Map((r.body?.data ?? []).map((x) => [x.id, canonical(x.data)]));
      if (got.size !== BATCH || b.data.some((x) => got.get(x.id) !== canonical(x.data))) {
        bad++;
        why ||= ` (first bad: ${r.status}, ${got.size} records${got.size ? `, e.g. ${[...got.values()][0]}` : ''})`;
      }
    });
    const n = ctx.acked.batches.length;
    return { name: 'dataset batches whole and intact', value: `${n - bad}/${n}${why}`, pass: n > 0 && bad === 0 };
  },
};

/** Prompt renders of a prompt created at setup. */
const prompts = {
  name: 'prompts',
  async loop(ctx) {
    while (!ctx.stopping()) {
      const who = randomBytes(4).toString('hex');
      const r = await ctx.rec.call('render', `${ctx.lb}/prompts/${ctx.prompt}/render`, json(ctx.adminKey, { variables: { who } }));
      if (r.status === 200 && !JSON.stringify(r.body).includes(who)) ctx.acked.badRenders++;
      await sleep(ctx.pace);
    }
  },
};

export const KINDS = [auth, uploads, ingest, datasets, prompts];

/** Reads an SSE response, calling `onEvent({id, event, data})` per event. */
async function readSse(body, onEvent) {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = { event: 'message', data: '' };
      for (const line of block.split('\n')) {
        const m = /^(id|event|data): ?(.*)$/.exec(line);
        if (m) ev[m[1]] = m[1] === 'data' ? ev.data + m[2] : m[2];
      }
      if (block.split('\n').some((l) => /^(id|event|data):/.test(l))) onEvent(ev);
    }
  }
}

/**
 * Keeps one SSE stream of `sub` open through the load balancer until `sub.done`: when it breaks
 * (its replica killed) it connects again with `request()` (which sends Last-Event-ID). Counts the
 * reconnects and the replicas that served it (`x-served-by`).
 */
export async function resumingStream(sub, request, onEvent) {
  sub.reconnects = -1;
  sub.servers = [];
  while (!sub.done) {
    sub.reconnects++;
    const ac = new AbortController();
    sub.abort = () => ac.abort();
    try {
      const [url, headers] = request();
      const res = await fetch(url, { headers, signal: ac.signal });
      if (res.status !== 200) throw new Error(`stream ${res.status}`);
      sub.servers.push(res.headers.get('x-served-by') ?? '?');
      await readSse(res.body, onEvent);
    } catch {
      // broken by the kill (or aborted at the end): resume
    }
    if (!sub.done) await sleep(200);
  }
}

/** Waits until `caughtUp()` (or `ms`), then closes every subscriber's stream. */
export async function closeStreams(subs, tasks, caughtUp, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until && !caughtUp()) await sleep(200);
  for (const s of subs) {
    s.done = true;
    s.abort?.();
  }
  await Promise.race([Promise.all(tasks), sleep(3000)]);
}

/**
 * Bus: a sender per session and SSE subscribers through the load balancer. A subscriber whose
 * stream breaks (its replica killed) reconnects with Last-Event-ID; every position must arrive
 * exactly once, in order.
 */
export function bus(ctx, sessions = 2, subscribersPerSession = 2) {
  const subs = [];
  const sent = new Map();
  const tasks = [];
  for (let s = 0; s < sessions; s++) {
    const sid = `cluster:${ctx.run}:${s}`;
    sent.set(sid, []);
    for (let k = 0; k < subscribersPerSession; k++) {
      const sub = { sid, last: 0, gaps: 0, dupes: 0, seen: 0 };
      subs.push(sub);
      const request = () => [
        `${ctx.lb}/api/v1/sessions/${encodeURIComponent(sid)}/stream?after=${sub.last}`,
        { 'x-api-key': ctx.adminKey, 'last-event-id': String(sub.last) },
      ];
      tasks.push(
        resumingStream(sub, request, (ev) => {
          if (ev.event !== 'message') return;
          const pos = Number(ev.id);
          if (pos <= sub.last) sub.dupes++;
          else if (pos !== sub.last + 1) sub.gaps++;
          if (pos > sub.last) sub.last = pos;
          sub.seen++;
        }),
      );
    }
    tasks.push(
      (async () => {
        await sleep(500);
        while (!ctx.stopping()) {
          const r = await ctx.rec.call('bus-send', `${ctx.lb}/api/v1/sessions/${encodeURIComponent(sid)}/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': ctx.adminKey },
            body: JSON.stringify({ type: 'tick', data: { at: Date.now() } }),
          });
          // 201 {data: {session_id, messages: [{position, …}]}}: a position that is not a number fails the check.
          if (r.status === 201) sent.get(sid).push(...(r.body.data?.messages ?? [{}]).map((m) => m.position));
          await sleep(ctx.pace);
        }
      })(),
    );
  }
  return {
    /** Waits until subscribers caught up with what was acknowledged (or `ms`), then checks. */
    async verify(ms) {
      const positions = [...sent.values()].flat();
      const unreadable = positions.filter((p) => !Number.isInteger(p)).length;
      const want = (sid) => Math.max(0, ...sent.get(sid).filter(Number.isInteger));
      await closeStreams(subs, tasks, () => subs.every((s) => s.last >= want(s.sid)), ms);
      const acked = [...sent.values()].reduce((n, v) => n + v.length, 0);
      const behind = subs.filter((s) => s.last < want(s.sid)).length;
      const gaps = subs.reduce((n, s) => n + s.gaps + s.dupes, 0);
      const reconnects = subs.reduce((n, s) => n + s.reconnects, 0);
      return [
        {
          name: 'bus SSE subscribers: all acked messages, no gap/dup',
          value: `${subs.length} subs, ${acked} sent, ${gaps} gaps/dups, ${behind} behind, ${reconnects} reconnects${unreadable ? `, ${unreadable} answers without a position` : ''}`,
          pass: acked > 0 && gaps === 0 && behind === 0 && unreadable === 0,
        },
      ];
    },
  };
}
