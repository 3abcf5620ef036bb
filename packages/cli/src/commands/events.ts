/** `loam events` (follow and list the event log) and `loam webhooks` (endpoints and deliveries). */
import { Command } from 'commander';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { details, print, table } from '../output.js';
import { withExamples } from '../program.js';

function tail(io: ClientIO): Command {
  const command = new Command('tail')
    .description('Print events as they are committed (Ctrl-C to stop); resumes by itself after a dropped connection')
    .option('--type <patterns>', 'comma-separated event types, `*` wildcards (dataset.*,record.created)')
    .option('--since <time>', 'start with events at or after this RFC 3339 time (default: only new ones)')
    .option('--after <position>', 'start after this event position');
  withExamples(command, 'loam events tail', "loam events tail --type 'dataset.*' --json");
  return clientAction<{ type?: string; since?: string; after?: string }>(command, io, async ({ opts, o, loam }) => {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      if (!o.json) o.err.write('following events; Ctrl-C to stop\n');
      const stream = loam().events.stream({
        type: opts.type,
        since: opts.since,
        after: opts.after,
        signal: controller.signal,
        onReconnect: (err) => o.err.write(`connection lost (${err.message}); resuming\n`),
      });
      for await (const e of stream)
        o.out.write(
          o.json ? `${JSON.stringify(e)}\n` : `${e.position ?? ''}\t${e.time}\t${e.type}\t${e.subject}\t${JSON.stringify(e.data)}\n`,
        );
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });
}

function ls(io: ClientIO): Command {
  const command = new Command('ls')
    .alias('list')
    .description('List events in log order')
    .option('--type <patterns>', 'comma-separated event types, `*` wildcards')
    .option('--subject <subject>', 'only events about this subject')
    .option('--since <time>', 'events at or after this RFC 3339 time')
    .option('--limit <n>', 'at most this many (default 100)', (v) => Number(v));
  withExamples(command, "loam events ls --type 'record.*' --limit 20");
  return clientAction<{ type?: string; subject?: string; since?: string; limit?: number }>(command, io, async ({ opts, o, loam }) => {
    const out: Record<string, unknown>[] = [];
    for await (const e of loam().events.list({ type: opts.type, subject: opts.subject, since: opts.since })) {
      out.push(e);
      if (out.length >= (opts.limit ?? 100)) break;
    }
    print(o, out, () => table(out, ['position', 'time', 'type', 'subject', 'id']));
  });
}

export function eventsCommand(io: ClientIO): Command {
  return clientGroup('events', 'Follow and list the event log', [tail(io), ls(io)], 'loam events tail --type dataset.*', 'loam events ls');
}

function hookCreate(io: ClientIO): Command {
  const command = new Command('create')
    .description('Create a webhook endpoint; prints its secret once')
    .argument('<url>', 'where to POST the events')
    .option('--events <patterns>', 'comma-separated event types, `*` wildcards (default: every event)')
    .option('--format <format>', 'cloudevents (default) or llm-vault');
  withExamples(command, "loam webhooks create https://example.com/hook --events 'dataset.*'");
  return clientAction<{ events?: string; format?: 'cloudevents' | 'llm-vault' }>(command, io, async ({ args, opts, o, loam }) => {
    const hook = await loam().webhooks.create({
      url: args[0],
      ...(opts.events ? { events: opts.events.split(',') } : {}),
      ...(opts.format ? { format: opts.format } : {}),
    });
    print(o, hook, () => details(hook as unknown as Record<string, unknown>));
  });
}

function hookLs(io: ClientIO): Command {
  const command = new Command('ls').alias('list').description('List webhook endpoints');
  withExamples(command, 'loam webhooks ls --json');
  return clientAction(command, io, async ({ o, loam }) => {
    const hooks: Record<string, unknown>[] = [];
    for await (const h of loam().webhooks.list()) hooks.push(h);
    print(o, hooks, () => table(hooks, ['id', 'url', 'active', 'format', 'consecutive_failures']));
  });
}

function hookRm(io: ClientIO): Command {
  const command = new Command('rm').alias('delete').description('Delete a webhook endpoint').argument('<id>', 'the webhook id');
  withExamples(command, 'loam webhooks rm wh_01…');
  return clientAction(command, io, async ({ args, o, loam }) => {
    await loam().webhooks.delete(args[0]);
    print(o, { deleted: args[0] }, () => `deleted ${args[0]}`);
  });
}

function hookTest(io: ClientIO): Command {
  const command = new Command('test').description('Send a webhook.test event to an endpoint').argument('<id>', 'the webhook id');
  withExamples(command, 'loam webhooks test wh_01…');
  return clientAction(command, io, async ({ args, o, loam }) => {
    const d = await loam().webhooks.test(args[0]);
    print(o, d, () => details(d as unknown as Record<string, unknown>));
  });
}

function hookDeliveries(io: ClientIO): Command {
  const command = new Command('deliveries')
    .description('Deliveries of an endpoint, newest first (--status failed: the dead letters)')
    .argument('<id>', 'the webhook id')
    .option('--status <status>', 'pending, succeeded or failed');
  withExamples(command, 'loam webhooks deliveries wh_01… --status failed');
  return clientAction<{ status?: 'pending' | 'succeeded' | 'failed' }>(command, io, async ({ args, opts, o, loam }) => {
    const out: Record<string, unknown>[] = [];
    for await (const d of loam().webhooks.deliveries(args[0], { status: opts.status })) {
      out.push({ ...d, tries: d.attempts.length, last_status: d.attempts.at(-1)?.status_code ?? null });
      if (out.length >= 100) break;
    }
    print(o, out, () => table(out, ['id', 'event_type', 'status', 'tries', 'last_status', 'created_at']));
  });
}

export function webhooksCommand(io: ClientIO): Command {
  return clientGroup(
    'webhooks',
    'Manage webhook endpoints and their deliveries',
    [hookCreate(io), hookLs(io), hookRm(io), hookTest(io), hookDeliveries(io)],
    "loam webhooks create https://example.com/hook --events 'dataset.*'",
    'loam webhooks deliveries wh_01… --status failed',
  );
}
