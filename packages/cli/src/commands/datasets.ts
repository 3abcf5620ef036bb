/** `loam datasets`: private datasets (their records: `loam records`). */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { collect, existingFile } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { details, formatBytes, print, table } from '../output.js';
import { withExamples } from '../program.js';

const DATASET_COLUMNS = ['id', 'name', 'classification', 'status', 'record_count', 'updated_at'];

interface CreateOptions {
  schema?: string;
  description?: string;
  classification?: string;
  tag?: string[];
}

function create(io: ClientIO): Command {
  const command = new Command('create')
    .description('Create a dataset')
    .argument('<name>', 'the dataset’s name')
    .option('--schema <file.json>', 'JSON file with the schema ({"fields": [{"name", "type", "required"}, …]})')
    .option('--description <text>', 'what the dataset holds')
    .option('--classification <level>', 'data classification (e.g. public, internal, confidential, restricted)')
    .option('--tag <tag>', 'tag (repeatable)', collect);
  withExamples(
    command,
    'loam datasets create people --schema schema.json --classification internal',
    'loam datasets create logs --tag ops --json',
  );
  return clientAction<CreateOptions>(command, io, async ({ args, opts, o, loam }) => {
    const ds = await loam().datasets.create({
      name: args[0],
      ...(opts.schema ? { schema: JSON.parse(readFileSync(existingFile(opts.schema), 'utf8')) } : {}),
      ...(opts.description ? { description: opts.description } : {}),
      ...(opts.classification ? { classification: opts.classification as never } : {}),
      ...(opts.tag ? { tags: opts.tag } : {}),
    });
    print(o, ds, () => `Created ${ds.id} '${ds.name}'`);
  });
}

function ls(io: ClientIO): Command {
  const command = new Command('ls')
    .alias('list')
    .description('List datasets')
    .addOption(new Option('--status <status>', 'only datasets in this state').choices(['active', 'archived']))
    .option('--tag <tag>', 'only datasets with this tag');
  withExamples(command, 'loam datasets ls', 'loam datasets list --status archived --json');
  return clientAction<{ status?: 'active' | 'archived'; tag?: string }>(command, io, async ({ opts, o, loam }) => {
    const all = await loam().datasets.list({ status: opts.status, tag: opts.tag, limit: 1000 }).toArray();
    print(o, all, () => table(all, DATASET_COLUMNS));
  });
}

function get(io: ClientIO): Command {
  const command = new Command('get').description('Show a dataset').argument('<id>', 'the dataset’s id');
  withExamples(command, 'loam datasets get ds_01…');
  return clientAction(command, io, async ({ args, o, loam }) => {
    const ds = await loam().datasets.get(args[0]);
    print(o, ds, () => details(ds));
  });
}

function stats(io: ClientIO): Command {
  const command = new Command('stats').description('Record count, bytes and per-field statistics').argument('<id>', 'the dataset’s id');
  withExamples(command, 'loam datasets stats ds_01…');
  return clientAction(command, io, async ({ args, o, loam }) => {
    const s = await loam().datasets.stats(args[0]);
    const fields = s.fields.map((f) => ({
      ...f,
      top: f.top_values
        .slice(0, 3)
        .map((t) => `${JSON.stringify(t.value)}×${t.count}`)
        .join(' '),
    }));
    const columns = ['name', 'type', 'null_count', 'distinct_estimate', 'min', 'max', 'top'];
    print(o, s, () => `${s.record_count} records, ${formatBytes(s.bytes)}\n\n${table(fields, columns)}`);
  });
}

export function datasetsCommand(io: ClientIO): Command {
  return clientGroup(
    'datasets',
    'Create, list and inspect datasets (their records: loam records)',
    [create(io), ls(io), get(io), stats(io)],
    'loam datasets ls',
    'loam datasets create people --schema schema.json',
  );
}
