/** `loam content`: the items ingested. */
import { Command } from 'commander';
import { positiveInt } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { details, print, table } from '../output.js';
import { withExamples } from '../program.js';

const CONTENT_COLUMNS = ['id', 'status', 'sourceType', 'contentType', 'size', 'title', 'createdAt'];

interface ListOptions {
  status?: string;
  type?: string;
  limit?: number;
  all?: boolean;
}

function ls(io: ClientIO): Command {
  const command = new Command('ls')
    .alias('list')
    .description('List content items (first page, or every page with --all)')
    .option('--status <status>', 'only items in this state (pending, processing, completed, failed)')
    .option('--type <source>', 'only items of this source type (TEXT, URL, FILE)')
    .option('--limit <n>', 'items per page', positiveInt)
    .option('--all', 'fetch every page, not only the first');
  withExamples(command, 'loam content ls --status completed', 'loam content list --type FILE --all --json');
  return clientAction<ListOptions>(command, io, async ({ opts, o, loam }) => {
    const query = { status: opts.status as never, sourceType: opts.type as never, limit: opts.limit };
    const pages = loam().content.list(query);
    const items = opts.all ? await pages.toArray() : (await pages).items;
    print(o, items, () => table(items, CONTENT_COLUMNS));
  });
}

function get(io: ClientIO): Command {
  const command = new Command('get').description('Show one content item').argument('<id>', 'the item’s id');
  withExamples(command, 'loam content get cnt_01…');
  return clientAction(command, io, async ({ args, o, loam }) => {
    const item = await loam().content.get(args[0]);
    print(o, item, () => details(item));
  });
}

function text(io: ClientIO): Command {
  const command = new Command('text').description('Print the extracted text of an item').argument('<id>', 'the item’s id');
  withExamples(command, 'loam content text cnt_01… > item.txt');
  return clientAction(command, io, async ({ args, o, loam }) => {
    const extracted = await loam().content.text(args[0]);
    print(o, { content: extracted }, () => extracted);
  });
}

function rm(io: ClientIO): Command {
  const command = new Command('rm')
    .alias('delete')
    .description('Delete content items (blob, text and index entries)')
    .argument('<id...>', 'ids of the items to delete');
  withExamples(command, 'loam content rm cnt_01… cnt_02…');
  return clientAction(command, io, async ({ args, o, loam }) => {
    for (const id of args) await loam().content.delete(id);
    print(o, { deleted: args }, () => `Deleted ${args.join(', ')}`);
  });
}

export function contentCommand(io: ClientIO): Command {
  return clientGroup(
    'content',
    'List, show, print and delete content items',
    [ls(io), get(io), text(io), rm(io)],
    'loam content ls',
    'loam content text cnt_01…',
  );
}
