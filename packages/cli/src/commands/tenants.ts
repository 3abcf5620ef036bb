/** `loam tenants`: tenants, for platform operators. */
import { Command } from 'commander';
import { collect } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { details, print, table } from '../output.js';
import { withExamples } from '../program.js';

const COLUMNS = ['id', 'name', 'tier', 'status', 'created_at'];

interface CreateOptions {
  name?: string;
  tier?: string;
  quota?: string[];
}

/** `--quota datasets=100` (repeatable) → `{ datasets: 100 }`; `none` lifts a quota. */
function quotasOf(pairs: string[] | undefined): Record<string, number | null> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, number | null> = {};
  for (const pair of pairs) {
    const [name, value] = pair.split('=');
    if (!name || value === undefined || !(value === 'none' || /^\d+$/.test(value)))
      throw new Error(`--quota takes name=number or name=none, e.g. datasets=100 (got ${pair})`);
    out[name] = value === 'none' ? null : Number(value);
  }
  return out;
}

function create(io: ClientIO): Command {
  const command = new Command('create')
    .description('Create a tenant')
    .argument('<id>', 'lower-case letters, digits and dashes (2–63)')
    .option('--name <name>', 'a display name (default: the id)')
    .option('--tier <tier>', 'free, standard or enterprise (default: free)')
    .option('--quota <name=limit>', 'a quota: storage_bytes, content_items, prompts, datasets, records (repeatable)', collect);
  withExamples(command, 'loam tenants create acme --name "Acme" --tier standard', 'loam tenants create beta --quota datasets=10 --json');
  return clientAction<CreateOptions>(command, io, async ({ args, opts, o, loam }) => {
    const quotas = quotasOf(opts.quota);
    const tenant = await loam().tenants.create({
      id: args[0],
      name: opts.name ?? args[0],
      ...(opts.tier ? { tier: opts.tier as 'free' } : {}),
      ...(quotas ? { quotas } : {}),
    });
    print(o, tenant, () => details({ id: tenant.id, name: tenant.name, tier: tenant.tier, status: tenant.status }));
  });
}

function ls(io: ClientIO): Command {
  const command = new Command('ls').alias('list').description('List tenants');
  withExamples(command, 'loam tenants ls', 'loam tenants ls --json');
  return clientAction(command, io, async ({ o, loam }) => {
    const tenants = await loam().tenants.list({ limit: 1000 }).toArray();
    print(o, tenants, () => table(tenants, COLUMNS));
  });
}

function show(io: ClientIO): Command {
  const command = new Command('show').description('Show a tenant, its quotas and its usage').argument('<id>', 'the tenant id');
  withExamples(command, 'loam tenants show acme', 'loam tenants show acme --json');
  return clientAction(command, io, async ({ args, o, loam }) => {
    const [tenant, usage] = await Promise.all([loam().tenants.get(args[0]), loam().tenants.usage(args[0], { days: 7 })]);
    print(o, { ...tenant, usage }, () =>
      details({
        id: tenant.id,
        name: tenant.name,
        tier: tenant.tier,
        status: tenant.status,
        quotas: JSON.stringify(tenant.quotas),
        storage_bytes: String(usage.storage_bytes),
        datasets: String(usage.datasets),
        records: String(usage.records),
        requests_7d: String(usage.days.reduce((n, d) => n + d.requests, 0)),
      }),
    );
  });
}

function suspend(io: ClientIO): Command {
  const command = new Command('suspend')
    .description('Suspend a tenant (every request of it gets 403), or reactivate it with --undo')
    .argument('<id>', 'the tenant id')
    .option('--undo', 'reactivate the tenant');
  withExamples(command, 'loam tenants suspend acme', 'loam tenants suspend acme --undo');
  return clientAction<{ undo?: boolean }>(command, io, async ({ args, opts, o, loam }) => {
    const tenant = await loam().tenants.update(args[0], { status: opts.undo ? 'active' : 'suspended' });
    print(o, tenant, () => `${tenant.id}: ${tenant.status}`);
  });
}

function rm(io: ClientIO): Command {
  const command = new Command('rm')
    .alias('delete')
    .description('Erase a tenant: its keys, blobs and rows (a job; cannot be undone)')
    .argument('<id>', 'the tenant id')
    .requiredOption('--yes', 'confirm the erasure');
  withExamples(command, 'loam tenants rm acme --yes');
  return clientAction<{ yes?: boolean }>(command, io, async ({ args, o, loam }) => {
    const erasure = await loam().tenants.erase(args[0]);
    print(o, erasure, () => `Erasing ${erasure.tenant_id}: job ${erasure.job_id} (loam reports what it removed in the job's result)`);
  });
}

export function tenantsCommand(io: ClientIO): Command {
  return clientGroup(
    'tenants',
    'Create, list, show, suspend and erase tenants (platform admins)',
    [create(io), ls(io), show(io), suspend(io), rm(io)],
    'loam tenants ls',
    'loam tenants create acme --tier standard',
  );
}
