/** `loam bus`: send to a session and follow it. */
import { Command } from 'commander';
import { UsageError, type ClientIO, clientAction, clientGroup } from '../client.js';
import { details, print, table } from '../output.js';
import { withExamples } from '../program.js';
import { nonNegativeInt } from '../args.js';

function send(io: ClientIO): Command {
  const command = new Command('send')
    .description('Send a message (JSON) to a session; a JSON array sends a batch')
    .argument('<session>', 'the session name, e.g. support:42')
    .argument('<json>', 'the message data as JSON (a string, number, object or array)')
    .option('--type <type>', 'the message type the receivers dispatch on');
  withExamples(command, `loam bus send support:42 '{"text":"hello"}'`, `loam bus send chat:1 '"hi"' --type said --json`);
  return clientAction<{ type?: string }>(command, io, async ({ args, opts, o, loam }) => {
    let data: unknown;
    try {
      data = JSON.parse(args[1]);
    } catch {
      throw new UsageError(`<json> is not valid JSON: ${args[1].slice(0, 60)}`);
    }
    const messages = await loam().sessions.send(args[0], { ...(opts.type ? { type: opts.type } : {}), data });
    print(o, messages, () => table(messages, ['position', 'id', 'type', 'time']));
  });
}

function tail(io: ClientIO): Command {
  const command = new Command('tail')
    .description('Print the messages of a session as they arrive (Ctrl-C to stop); resumes by itself after a dropped connection')
    .argument('<session>', 'the session name')
    .option('--after <position>', 'start after this position (0 = from the first message; default: only new ones)', nonNegativeInt);
  withExamples(command, 'loam bus tail support:42', 'loam bus tail support:42 --after 0 --json');
  return clientAction<{ after?: number }>(command, io, async ({ args, opts, o, loam }) => {
    const client = loam();
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const after =
      opts.after ??
      (await client.sessions
        .get(args[0])
        .then((s) => s.head)
        .catch(() => 0));
    try {
      await client.sessions.subscribe(args[0], {
        after,
        signal: controller.signal,
        onStarted: ({ head }) => {
          if (!o.json) o.err.write(`following ${args[0]} (head ${head}); Ctrl-C to stop\n`);
        },
        onMessage: (m) => {
          o.out.write(o.json ? `${JSON.stringify(m)}\n` : `${m.position}\t${m.time}\t${m.type ?? '-'}\t${JSON.stringify(m.data)}\n`);
        },
        onReconnect: (err) => o.err.write(`connection lost (${err.message}); resuming\n`),
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });
}

function ls(io: ClientIO): Command {
  const command = new Command('ls')
    .alias('list')
    .description('List sessions with their head and last activity')
    .option('--prefix <prefix>', 'only sessions whose name starts with this');
  withExamples(command, 'loam bus ls', 'loam bus ls --prefix support: --json');
  return clientAction<{ prefix?: string }>(command, io, async ({ opts, o, loam }) => {
    const sessions = await loam().sessions.list({ prefix: opts.prefix, limit: 1000 });
    print(o, sessions, () => table(sessions, ['id', 'head', 'purged_through', 'last_activity_at']));
  });
}

function rm(io: ClientIO): Command {
  const command = new Command('rm')
    .alias('delete')
    .description('Delete a session and its messages')
    .argument('<session>', 'the session name');
  withExamples(command, 'loam bus rm support:42');
  return clientAction(command, io, async ({ args, o, loam }) => {
    await loam().sessions.delete(args[0]);
    print(o, { id: args[0], deleted: true }, () => details({ deleted: args[0] }));
  });
}

export function busCommand(io: ClientIO): Command {
  return clientGroup(
    'bus',
    'Send to and follow message-bus sessions',
    [send(io), tail(io), ls(io), rm(io)],
    'loam bus send support:42 \'{"text":"hi"}\'',
    'loam bus tail support:42',
  );
}
