/**
 * Events in the cluster test, through their public HTTP behaviour only:
 * - a webhook endpoint (a receiver this process runs) registered for the events of the
 *   workload's writes; the receiver notes, for every request, which Loam process made it (the
 *   owner of the connecting socket, found in /proc) — the server's delivery records are read
 *   afterwards and set beside what arrived;
 * - event-stream subscribers (`GET /api/v1/events/stream`) through the load balancer that resume
 *   with Last-Event-ID when their replica is killed; afterwards each must have seen exactly the
 *   log (`GET /api/v1/events`, same filter) in order, no gap, no duplicate.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { sleep } from '../common.mjs';
import { closeStreams, resumingStream } from './workload.mjs';

/** The events of the workload's writes: bulk inserts, text ingestion and its processing. */
export const EVENT_TYPES = ['record.created', 'content.created', 'content.processed'];

/**
 * The process (among `candidates()`: [{pid, name}]) owning the local end of a loopback TCP
 * connection from `port` to `peerPort`: the socket's inode from /proc/net/tcp, then the process
 * that has it open. Undefined when not found (not Linux, or a process we did not start).
 */
export function processOfConnection(port, peerPort, candidates) {
  const hex = (p) => p.toString(16).toUpperCase().padStart(4, '0');
  let inode;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hex(port)}`) && f[2]?.endsWith(`:${hex(peerPort)}`)) inode = f[9];
    }
    if (inode) break;
  }
  if (!inode) return undefined;
  for (const c of candidates()) {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${c.pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${c.pid}/fd/${fd}`) === `socket:[${inode}]`) return c;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/**
 * The webhook receiver: answers 200 to everything and keeps one receipt per request —
 * `{ delivery: webhook-id, events: [event ids], by: process name }`. A body may be one
 * CloudEvent or an array of them (batched delivery).
 */
export async function webhookReceiver(candidates) {
  const receipts = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let events = [];
      try {
        events = [JSON.parse(Buffer.concat(chunks).toString())].flat().map((e) => e.id ?? e.event?.id);
      } catch {
        // not JSON: counted as a receipt without events
      }
      receipts.push({ delivery: String(req.headers['webhook-id'] ?? ''), events, by: req.socket.loamProcess ?? '?' });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  // Looked up while the connection is open (the sender waits for the answer), once per connection.
  server.on('connection', (socket) => {
    socket.loamProcess = processOfConnection(socket.remotePort, server.address().port, candidates)?.name;
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    receipts,
    close: () => new Promise((r) => server.close(r)),
  };
}

const typeQuery = `type=${encodeURIComponent(EVENT_TYPES.join(','))}`;

/** Every page of `path` (an /api/v1 list with cursor pagination), read through the load balancer. */
async function listAll(ctx, path) {
  const out = [];
  let cursor;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r = await ctx.rec.read(`${ctx.lb}${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
      headers: { 'x-api-key': ctx.adminKey },
    });
    if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
    out.push(...r.body.data);
    cursor = r.body.pagination?.has_more ? r.body.pagination.cursor : undefined;
  } while (cursor);
  return out;
}

/** The log of the workload's event types since `since`, in log order. */
const eventLog = (ctx, since) => listAll(ctx, `/api/v1/events?${typeQuery}&since=${encodeURIComponent(since)}`);

/**
 * Registers the webhook endpoint and opens `subscribers` event streams (from `since`, before the
 * workload's first write), and more until one of them is served by `victim`. `verify(ms)` waits up to `ms` for the deliveries and streams to catch
 * up with the log, then checks them.
 */
export async function events(ctx, { receiver, since, victim, subscribers = 2 }) {
  const hook = await ctx.rec.call('setup', `${ctx.lb}/api/v1/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ctx.adminKey },
    body: JSON.stringify({ url: receiver.url, events: EVENT_TYPES, description: 'cluster test' }),
  });
  if (hook.status !== 201) throw new Error(`setup: POST /api/v1/webhooks answered ${hook.status}: ${JSON.stringify(hook.body)}`);
  const webhookId = hook.body.data?.id ?? hook.body.id;

  const subs = [];
  const tasks = [];
  const open = async () => {
    const sub = { ids: [], lastId: undefined, servers: [] };
    subs.push(sub);
    const request = () => [
      `${ctx.lb}/api/v1/events/stream?${typeQuery}&since=${encodeURIComponent(since)}`,
      { 'x-api-key': ctx.adminKey, ...(sub.lastId ? { 'last-event-id': sub.lastId } : {}) },
    ];
    tasks.push(
      resumingStream(sub, request, (ev) => {
        if (ev.event === 'message') sub.ids.push(JSON.parse(ev.data).id);
        if (ev.event === 'message' || ev.event === 'ready') sub.lastId = ev.id;
      }),
    );
    const until = Date.now() + 15_000;
    while (!sub.servers.length && Date.now() < until) await sleep(50);
  };
  for (let i = 0; i < subscribers; i++) await open();
  // The load balancer chooses; more subscribers until one is on the replica that will be killed.
  while (!subs.some((s) => s.servers[0] === victim) && subs.length < subscribers + 5) await open();

  return {
    async verify(ms) {
      const deadline = Date.now() + ms;
      let log = await eventLog(ctx, since);
      const delivered = () => new Set(receiver.receipts.flatMap((r) => r.events));
      while (Date.now() < deadline && log.some((e) => !delivered().has(e.id))) {
        await new Promise((r) => setTimeout(r, 500));
        log = await eventLog(ctx, since);
      }
      await closeStreams(subs, tasks, () => subs.every((s) => s.ids.length >= log.length), Math.max(0, deadline - Date.now()));
      const records = await listAll(ctx, `/api/v1/webhooks/${webhookId}/deliveries`);
      return [writesLogged(ctx, log), ...webhookChecks(log, receiver.receipts, records), streamCheck(log, subs)];
    },
  };
}

/** Every acknowledged write has its event in the log: a `record.created` per batch, two per ingested item. */
function writesLogged(ctx, log) {
  const inserted = new Set(log.filter((e) => e.type === 'io.loam.record.created').flatMap((e) => e.data?.ids ?? []));
  const content = new Set(log.filter((e) => e.type.startsWith('io.loam.content.')).map((e) => `${e.type}:${e.subject}`));
  const batches = ctx.acked.batches.filter((b) => b.data.every((r) => inserted.has(r.id))).length;
  const items = ctx.acked.ingested.filter(
    (it) => content.has(`io.loam.content.created:${it.id}`) && content.has(`io.loam.content.processed:${it.id}`),
  ).length;
  return {
    name: 'acked writes have their events in the log (batches, items)',
    value: `${batches}/${ctx.acked.batches.length}, ${items}/${ctx.acked.ingested.length}; ${log.length} events`,
    pass: batches === ctx.acked.batches.length && items === ctx.acked.ingested.length && log.length > 0,
  };
}

/**
 * At least once: every logged event reached the receiver. Exactly one process per delivery: all
 * requests carrying one `webhook-id` came from the same process, and the server recorded one
 * delivery per event (not one per replica), each succeeded.
 */
function webhookChecks(log, receipts, records) {
  const received = new Set(receipts.flatMap((r) => r.events));
  const missing = log.filter((e) => !received.has(e.id)).length;
  const byDelivery = new Map();
  for (const r of receipts) byDelivery.set(r.delivery, [...(byDelivery.get(r.delivery) ?? []), r]);
  const twoProcesses = [...byDelivery.values()].filter((rs) => new Set(rs.map((r) => r.by)).size > 1).length;
  const unknown = receipts.filter((r) => r.by === '?').length;
  const repeated = [...byDelivery].filter(([, rs]) => rs.length > 1);
  // At least once allows a repeat; say what the server recorded for the first one.
  const first = repeated.length ? records.find((d) => d.id === repeated[0][0]) : undefined;
  const example = first
    ? ` (e.g. ${first.id}: ${repeated[0][1].length} requests, attempts recorded: ${first.attempts.map((a) => a.status_code ?? a.error).join(', ')})`
    : '';
  const perProcess = new Map();
  for (const rs of byDelivery.values()) perProcess.set(rs[0].by, (perProcess.get(rs[0].by) ?? 0) + 1);
  const logged = new Set(log.map((e) => e.id));
  const ofLog = records.filter((d) => d.kind === 'event' && logged.has(d.event_id));
  const perEvent = new Map();
  for (const d of ofLog) perEvent.set(d.event_id, (perEvent.get(d.event_id) ?? 0) + 1);
  const doubled = [...perEvent.values()].filter((n) => n > 1).length;
  const unrecorded = log.length - perEvent.size;
  const notSucceeded = ofLog.filter((d) => d.status !== 'succeeded').length;
  const attempts = ofLog.reduce((n, d) => n + d.attempts.length, 0);
  return [
    {
      name: 'webhook: every logged event delivered at least once',
      value: `${log.length - missing}/${log.length} events, ${receipts.length} requests, ${repeated.length} deliveries received twice+${example}`,
      pass: log.length > 0 && missing === 0,
    },
    {
      name: 'webhook: each delivery made by exactly one process',
      value: `${byDelivery.size} deliveries: ${[...perProcess].map(([p, n]) => `${p} ${n}`).join(', ')}; ${twoProcesses} by two, ${unknown} requests unidentified`,
      pass: byDelivery.size > 0 && twoProcesses === 0 && unknown === 0,
    },
    {
      name: 'webhook: server records, one delivery per event',
      value: `${ofLog.length} records, ${doubled} events twice, ${unrecorded} unrecorded, ${notSucceeded} not succeeded; ${attempts} attempts`,
      pass: doubled === 0 && unrecorded === 0 && notSucceeded === 0,
    },
  ];
}

/** Each stream subscriber saw exactly the log, in order, across its reconnects. */
function streamCheck(log, subs) {
  const want = log.map((e) => e.id);
  const exact = subs.filter((s) => s.ids.length === want.length && s.ids.every((id, i) => id === want[i])).length;
  const dupes = subs.reduce((n, s) => n + s.ids.length - new Set(s.ids).size, 0);
  const missing = subs.reduce((n, s) => n + want.filter((id) => !new Set(s.ids).has(id)).length, 0);
  const served = subs.map((s) => s.servers.join('→')).join(', ');
  const resumed = subs.filter((s) => s.reconnects > 0).length;
  return {
    name: 'event stream subscribers: the whole log in order, across the kill',
    value: `${exact}/${subs.length} exact (${missing} missing, ${dupes} dups), ${resumed} resumed (${served})`,
    // At least one stream must have been on the killed replica: otherwise nothing was resumed.
    pass: want.length > 0 && exact === subs.length && resumed > 0,
  };
}
