/**
 * The client commands of `loam`, built on the SDK: one entry per `<group> <verb>`, each with its
 * own options (parsed by node:util parseArgs) and a one-line usage.
 */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { APIError, Loam, LoamError } from '@loam/sdk/node';
import { type Output, ProgressBar, details, formatBytes, print, table } from './output.js';
import { type Profile, configPath, loadProfile, removeProfile, saveProfile } from './profile.js';

/** A wrong invocation: printed with the usage, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Context {
  args: string[];
  values: Values;
  o: Output;
  /** The SDK client for the selected profile / flags / environment. */
  loam(): Loam;
}

interface Command {
  usage: string;
  summary: string;
  options?: Options;
  run(ctx: Context): Promise<void>;
}

/** Options every client command accepts. */
const GLOBAL: Options = {
  json: { type: 'boolean' },
  profile: { type: 'string' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const str = (v: Values[string]): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: Values[string]): string[] => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []);
const need = (args: string[], i: number, name: string): string => {
  const v = args[i];
  if (v === undefined) throw new UsageError(`missing <${name}>`);
  return v;
};

/** `k=v` pairs (repeatable flags) into an object. */
function pairs(items: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} expects key=value, got '${item}'`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function int(v: Values[string], name: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of a file argument, or stdin when it is absent or `-`. */
async function fileOrStdin(arg: string | undefined): Promise<string> {
  if (arg === undefined || arg === '-') return readStdin();
  if (!existsSync(arg)) throw new LoamError(`no such file: ${arg}`);
  return readFileSync(arg, 'utf8');
}

const ok = (o: Output, message: string, value: unknown = { ok: true }) => print(o, value, () => message);

const CONTENT_COLUMNS = ['id', 'status', 'sourceType', 'contentType', 'size', 'title', 'createdAt'];
const PROMPT_COLUMNS = ['id', 'name', 'version', 'modelId', 'tags', 'updatedAt'];
const DATASET_COLUMNS = ['id', 'name', 'classification', 'status', 'record_count', 'updated_at'];
const KEY_COLUMNS = ['id', 'name', 'prefix', 'scopes', 'created_at', 'last_used_at', 'revoked_at'];

async function ingestResult(o: Output, item: { id: string; status: string }): Promise<void> {
  print(o, item, () => ('title' in item ? details(item as unknown as Record<string, unknown>) : `${item.id}  ${item.status}`));
}

/** Placeholders of a template, in order of appearance. */
const placeholders = (template: string) => [...new Set([...template.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]))];

export const COMMANDS: Record<string, Command> = {
  login: {
    usage: 'loam login [--url URL] [--api-key KEY|- | --client-id ID --client-secret SECRET [--scope S]] [--profile NAME]',
    summary: 'Store a server URL and credentials in a profile (0600 file in your config directory)',
    options: { 'client-id': { type: 'string' }, 'client-secret': { type: 'string' }, scope: { type: 'string' } },
    async run({ values, o }) {
      const name = str(values.profile) ?? 'default';
      const previous = loadProfile(name);
      const profile: Profile = {
        baseURL: (str(values.url) ?? process.env.LOAM_API_BASE_URL ?? previous?.baseURL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
      };
      const clientId = str(values['client-id']) ?? process.env.LOAM_CLIENT_ID;
      const clientSecret = str(values['client-secret']) ?? process.env.LOAM_CLIENT_SECRET;
      // `--api-key -` reads the key from stdin, keeping it out of shell history and process lists.
      const given = str(values['api-key']);
      const apiKey = given === '-' ? (await readStdin()).trim() : (given ?? process.env.LOAM_API_KEY);
      if (apiKey && !values['client-id']) profile.apiKey = apiKey;
      else if (clientId && clientSecret) Object.assign(profile, { clientId, clientSecret, scope: str(values.scope) });
      else
        throw new UsageError('give --api-key, or --client-id and --client-secret (or LOAM_API_KEY / LOAM_CLIENT_ID + LOAM_CLIENT_SECRET)');

      const loam = clientFor(profile);
      const health = await loam.healthCheck();
      if (!health.ok) throw new LoamError(`${profile.baseURL} is not ready: ${health.error ?? health.status}`);
      if (profile.clientId)
        await loam.auth.token({
          grant_type: 'client_credentials',
          client_id: profile.clientId,
          client_secret: profile.clientSecret,
          scope: profile.scope,
        });
      const path = saveProfile(name, profile);
      ok(o, `Logged in to ${profile.baseURL} (profile '${name}', saved in ${path})`, { profile: name, baseURL: profile.baseURL, path });
    },
  },

  logout: {
    usage: 'loam logout [--profile NAME]',
    summary: 'Forget a stored profile',
    async run({ values, o }) {
      const name = str(values.profile) ?? 'default';
      if (!removeProfile(name)) throw new LoamError(`no profile '${name}' in ${configPath()}`);
      ok(o, `Removed profile '${name}'`);
    },
  },

  'keys create': {
    usage: 'loam keys create <name> [--scope S]... [--role R]... [--expires RFC3339]',
    summary: 'Create an API key (the secret is printed once)',
    options: { scope: { type: 'string', multiple: true }, role: { type: 'string', multiple: true }, expires: { type: 'string' } },
    async run({ args, values, o, loam }) {
      const key = await loam().apiKeys.create({
        name: need(args, 0, 'name'),
        scopes: list(values.scope),
        ...(values.role ? { roles: list(values.role) } : {}),
        ...(values.expires ? { expires_at: str(values.expires) } : {}),
      });
      print(
        o,
        key,
        () =>
          `${details({ id: key.id, name: key.name, scopes: key.scopes.join(' '), key: key.key })}\n\nStore the key now: it is not shown again.`,
      );
    },
  },
  'keys ls': {
    usage: 'loam keys ls',
    summary: 'List API keys',
    async run({ o, loam }) {
      const keys = await loam().apiKeys.list({ limit: 1000 }).toArray();
      print(o, keys, () => table(keys, KEY_COLUMNS));
    },
  },
  'keys revoke': {
    usage: 'loam keys revoke <id>',
    summary: 'Revoke an API key at once',
    async run({ args, o, loam }) {
      const id = need(args, 0, 'id');
      await loam().apiKeys.revoke(id);
      ok(o, `Revoked ${id}`, { id, revoked: true });
    },
  },

  'ingest text': {
    usage: 'loam ingest text <text|-> [--meta k=v]... [--wait]',
    summary: 'Ingest text (from the argument, or stdin with -)',
    options: { meta: { type: 'string', multiple: true }, wait: { type: 'boolean' } },
    async run({ args, values, o, loam }) {
      const content = args[0] === undefined || args[0] === '-' ? await readStdin() : args.join(' ');
      const res = await loam().content.ingestText(
        { content, ...(values.meta ? { metadata: pairs(list(values.meta), 'meta') } : {}) },
        { wait: values.wait === true },
      );
      await ingestResult(o, res);
    },
  },
  'ingest url': {
    usage: 'loam ingest url <url> [--meta k=v]... [--wait]',
    summary: 'Ingest a web page or document by URL',
    options: { meta: { type: 'string', multiple: true }, wait: { type: 'boolean' } },
    async run({ args, values, o, loam }) {
      const res = await loam().content.ingestUrl(
        { url: need(args, 0, 'url'), ...(values.meta ? { metadata: pairs(list(values.meta), 'meta') } : {}) },
        { wait: values.wait === true },
      );
      await ingestResult(o, res);
    },
  },
  'ingest file': {
    usage: 'loam ingest file <path> [--type CONTENT-TYPE] [--meta k=v]... [--wait] [--no-progress]',
    summary: 'Upload a file through a pre-signed URL (with a progress bar)',
    options: {
      type: { type: 'string' },
      meta: { type: 'string', multiple: true },
      wait: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
    async run({ args, values, o, loam }) {
      const path = need(args, 0, 'path');
      if (!existsSync(path)) throw new LoamError(`no such file: ${path}`);
      const bar = new ProgressBar(o.err, `uploading ${basename(path)}`, !values['no-progress'] && !o.json);
      let sent = 0;
      let size: number | undefined;
      const res = await loam().content.ingestFile(path, {
        contentType: str(values.type),
        ...(values.meta ? { metadata: pairs(list(values.meta), 'meta') } : {}),
        wait: values.wait === true,
        onProgress: (p) => {
          sent = p.loaded;
          size = p.total;
          bar.update(p.loaded, p.total);
        },
      });
      bar.finish(sent, size);
      await ingestResult(o, res);
    },
  },

  'content ls': {
    usage: 'loam content ls [--status S] [--type TEXT|URL|FILE] [--limit N] [--all]',
    summary: 'List content items (first page, or every page with --all)',
    options: { status: { type: 'string' }, type: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
    async run({ values, o, loam }) {
      const query = { status: str(values.status) as never, sourceType: str(values.type) as never, limit: int(values.limit, 'limit') };
      const pages = loam().content.list(query);
      const items = values.all ? await pages.toArray() : (await pages).items;
      print(o, items, () => table(items, CONTENT_COLUMNS));
    },
  },
  'content get': {
    usage: 'loam content get <id>',
    summary: 'Show one content item',
    async run({ args, o, loam }) {
      const item = await loam().content.get(need(args, 0, 'id'));
      print(o, item, () => details(item));
    },
  },
  'content text': {
    usage: 'loam content text <id>',
    summary: 'Print the extracted text of an item',
    async run({ args, o, loam }) {
      const text = await loam().content.text(need(args, 0, 'id'));
      print(o, { content: text }, () => text);
    },
  },
  'content rm': {
    usage: 'loam content rm <id>...',
    summary: 'Delete content items (blob, text and index entries)',
    async run({ args, o, loam }) {
      need(args, 0, 'id');
      for (const id of args) await loam().content.delete(id);
      ok(o, `Deleted ${args.join(', ')}`, { deleted: args });
    },
  },

  'prompts ls': {
    usage: 'loam prompts ls [--tag T]... [--model M]',
    summary: 'List prompts',
    options: { tag: { type: 'string', multiple: true }, model: { type: 'string' } },
    async run({ values, o, loam }) {
      const prompts = await loam()
        .prompts.list({ ...(values.tag ? { tags: list(values.tag) } : {}), modelId: str(values.model), maxResults: 100 })
        .toArray();
      print(o, prompts, () => table(prompts, PROMPT_COLUMNS));
    },
  },
  'prompts get': {
    usage: 'loam prompts get <id> [--version N | --label L]',
    summary: 'Show a prompt (latest, or a version or label)',
    options: { version: { type: 'string' }, label: { type: 'string' } },
    async run({ args, values, o, loam }) {
      const p = await loam().prompts.get(need(args, 0, 'id'), { version: int(values.version, 'version'), label: str(values.label) });
      print(o, p, () => `${details({ ...p, template: undefined })}\n\n${p.template}`);
    },
  },
  'prompts push': {
    usage: 'loam prompts push <file> [--name NAME] [--model M] [--tag T]...',
    summary: 'Create or update (new version) a prompt from a .json spec or a template file',
    options: { name: { type: 'string' }, model: { type: 'string' }, tag: { type: 'string', multiple: true } },
    async run({ args, values, o, loam }) {
      const file = need(args, 0, 'file');
      if (!existsSync(file)) throw new LoamError(`no such file: ${file}`);
      const text = readFileSync(file, 'utf8');
      const spec =
        extname(file).toLowerCase() === '.json'
          ? (JSON.parse(text) as Record<string, unknown> & { name?: string; template: string })
          : { template: text, variables: placeholders(text).map((name) => ({ name, required: true })) };
      const name = str(values.name) ?? spec.name ?? basename(file, extname(file));
      const body = {
        ...spec,
        name,
        ...(values.model ? { modelId: str(values.model) } : {}),
        ...(values.tag ? { tags: list(values.tag) } : {}),
      };
      const client = loam();
      let existing: string | undefined;
      for await (const p of client.prompts.list({ maxResults: 100 }))
        if (p.name === name) {
          existing = p.id;
          break;
        }
      const { id: _ignored, ...fields } = body as typeof body & { id?: string };
      const prompt = existing ? await client.prompts.update(existing, fields) : await client.prompts.create(fields);
      print(o, prompt, () => `${existing ? 'Updated' : 'Created'} ${prompt.id} '${prompt.name}' version ${prompt.version}`);
    },
  },
  'prompts render': {
    usage: 'loam prompts render <id> [--var k=v]... [--version N | --label L]',
    summary: 'Render a prompt with variables',
    options: { var: { type: 'string', multiple: true }, version: { type: 'string' }, label: { type: 'string' } },
    async run({ args, values, o, loam }) {
      const res = await loam().prompts.render(need(args, 0, 'id'), {
        variables: pairs(list(values.var), 'var'),
        version: int(values.version, 'version'),
        label: str(values.label),
      });
      print(o, res, () => res.text);
    },
  },
  'prompts generate': {
    usage: 'loam prompts generate <id> [--var k=v]... [--version N | --label L] [--no-stream]',
    summary: 'Render and run a prompt on its model, streaming the answer',
    options: {
      var: { type: 'string', multiple: true },
      version: { type: 'string' },
      label: { type: 'string' },
      'no-stream': { type: 'boolean' },
    },
    async run({ args, values, o, loam }) {
      const id = need(args, 0, 'id');
      const body = { variables: pairs(list(values.var), 'var'), version: int(values.version, 'version'), label: str(values.label) };
      if (o.json || values['no-stream']) {
        const res = await loam().prompts.generate(id, body);
        return print(o, res, () => res.text);
      }
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        for await (const part of loam().prompts.generate(id, { ...body, stream: true }, { signal: controller.signal })) {
          if (part.type === 'text-delta') o.out.write(part.delta);
          if (part.type === 'finish') o.out.write('\n');
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
    },
  },

  'datasets create': {
    usage: 'loam datasets create <name> [--schema FILE.json] [--description D] [--classification C] [--tag T]...',
    summary: 'Create a dataset',
    options: {
      schema: { type: 'string' },
      description: { type: 'string' },
      classification: { type: 'string' },
      tag: { type: 'string', multiple: true },
    },
    async run({ args, values, o, loam }) {
      const schemaFile = str(values.schema);
      const ds = await loam().datasets.create({
        name: need(args, 0, 'name'),
        ...(schemaFile ? { schema: JSON.parse(readFileSync(schemaFile, 'utf8')) } : {}),
        ...(values.description ? { description: str(values.description) } : {}),
        ...(values.classification ? { classification: str(values.classification) as never } : {}),
        ...(values.tag ? { tags: list(values.tag) } : {}),
      });
      print(o, ds, () => `Created ${ds.id} '${ds.name}'`);
    },
  },
  'datasets ls': {
    usage: 'loam datasets ls [--status active|archived] [--tag T]',
    summary: 'List datasets',
    options: { status: { type: 'string' }, tag: { type: 'string' } },
    async run({ values, o, loam }) {
      const all = await loam()
        .datasets.list({ status: str(values.status) as never, tag: str(values.tag), limit: 1000 })
        .toArray();
      print(o, all, () => table(all, DATASET_COLUMNS));
    },
  },
  'datasets get': {
    usage: 'loam datasets get <id>',
    summary: 'Show a dataset',
    async run({ args, o, loam }) {
      const ds = await loam().datasets.get(need(args, 0, 'id'));
      print(o, ds, () => details(ds));
    },
  },
  'datasets stats': {
    usage: 'loam datasets stats <id>',
    summary: 'Record count, bytes and per-field statistics',
    async run({ args, o, loam }) {
      const s = await loam().datasets.stats(need(args, 0, 'id'));
      print(
        o,
        s,
        () =>
          `${s.record_count} records, ${formatBytes(s.bytes)}\n\n${table(
            s.fields.map((f) => ({
              ...f,
              top: f.top_values
                .slice(0, 3)
                .map((t) => `${JSON.stringify(t.value)}×${t.count}`)
                .join(' '),
            })),
            ['name', 'type', 'null_count', 'distinct_estimate', 'min', 'max', 'top'],
          )}`,
      );
    },
  },

  'records import': {
    usage: 'loam records import <dataset> <file> [--format ndjson|csv] [--id-field F] [--no-wait] [--no-progress]',
    summary: 'Import an NDJSON or CSV file into a dataset, with progress',
    options: {
      format: { type: 'string' },
      'id-field': { type: 'string' },
      'no-wait': { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
    async run({ args, values, o, loam }) {
      const dataset = need(args, 0, 'dataset');
      const file = need(args, 1, 'file');
      if (!existsSync(file)) throw new LoamError(`no such file: ${file}`);
      const show = !values['no-progress'] && !o.json;
      const upload = new ProgressBar(o.err, `uploading ${basename(file)}`, show);
      let sent = 0;
      let total: number | undefined;
      let uploaded = false;
      const rows = new ProgressBar(o.err, 'importing', show);
      const imp = await loam().records.import(dataset, file, {
        format: str(values.format) as 'ndjson' | 'csv' | undefined,
        idField: str(values['id-field']),
        wait: !values['no-wait'],
        onProgress: (p) => {
          sent = p.loaded;
          total = p.total;
          upload.update(p.loaded, p.total);
        },
        onPoll: (job) => {
          if (!uploaded) {
            uploaded = true;
            upload.finish(sent, total);
          }
          rows.update(job.processed, job.total || undefined);
        },
      });
      upload.finish(sent, total);
      if (!values['no-wait']) rows.finish(imp.processed, imp.total, imp.failed ? ` (${imp.failed} failed)` : '');
      print(o, imp, () => details(imp));
      if (imp.failed > 0) process.exitCode = 1;
    },
  },
  'records export': {
    usage: 'loam records export <dataset> [--format ndjson|csv|json] [--version V] [--filter JSON] [-o FILE]',
    summary: 'Export records to stdout (or a file), with progress on stderr',
    options: {
      format: { type: 'string' },
      version: { type: 'string' },
      filter: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'no-progress': { type: 'boolean' },
    },
    async run({ args, values, o, loam }) {
      const dataset = need(args, 0, 'dataset');
      const filter = str(values.filter);
      const body = await loam().records.download(dataset, {
        format: (str(values.format) ?? 'ndjson') as 'ndjson',
        ...(values.version ? { version: str(values.version) } : {}),
        ...(filter ? { filter: JSON.parse(filter) } : {}),
      });
      const target: NodeJS.WritableStream = str(values.output) ? createWriteStream(str(values.output)!) : o.out;
      const bar = new ProgressBar(o.err, 'exporting', !values['no-progress']);
      let bytes = 0;
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        if (!target.write(chunk)) await new Promise<void>((r) => target.once('drain', () => r()));
        bar.update(bytes);
      }
      if (target !== o.out) await new Promise<void>((r) => target.end(() => r()));
      bar.finish(bytes);
    },
  },

  'pii analyze': {
    usage: 'loam pii analyze [file|-] [--entity TYPE]... [--min-score S]',
    summary: 'Find PII in a file or stdin',
    options: { entity: { type: 'string', multiple: true }, 'min-score': { type: 'string' } },
    async run({ args, values, o, loam }) {
      const text = await fileOrStdin(args[0]);
      const res = await loam().anonymization.analyze({
        text,
        include_text: true,
        ...(values.entity ? { entities: list(values.entity) } : {}),
        ...(values['min-score'] ? { min_score: Number(values['min-score']) } : {}),
      });
      print(o, res, () =>
        res.entities.length ? table(res.entities, ['type', 'start', 'end', 'score', 'recognizer', 'text']) : 'No PII found',
      );
    },
  },
  'pii anonymize': {
    usage: 'loam pii anonymize [file|-] [--operator TYPE=replace|redact|mask|hash|…]...',
    summary: 'Print a file or stdin with its PII anonymized',
    options: { operator: { type: 'string', multiple: true } },
    async run({ args, values, o, loam }) {
      const text = await fileOrStdin(args[0]);
      const operators = Object.fromEntries(
        Object.entries(pairs(list(values.operator), 'operator')).map(([k, v]) => [k, { type: v as never }]),
      );
      const res = await loam().anonymization.anonymize({ text, ...(values.operator ? { operators } : {}) });
      print(o, res, () => res.text ?? '');
    },
  },
};

/** The SDK client for a stored profile (no secrets ever printed). */
function clientFor(profile: Profile): Loam {
  return new Loam({
    baseURL: profile.baseURL,
    ...(profile.apiKey ? { apiKey: profile.apiKey } : {}),
    ...(profile.clientId && profile.clientSecret
      ? { clientCredentials: { clientId: profile.clientId, clientSecret: profile.clientSecret, scope: profile.scope } }
      : {}),
  });
}

export function clientUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
}

/** Runs a client command; returns false when `argv` names none. */
export async function runClientCommand(argv: string[], o: Omit<Output, 'json'>): Promise<boolean> {
  const key = COMMANDS[`${argv[0]} ${argv[1]}`] ? `${argv[0]} ${argv[1]}` : COMMANDS[argv[0]] ? argv[0] : undefined;
  if (!key) {
    if (argv[0] && Object.keys(COMMANDS).some((k) => k.startsWith(`${argv[0]} `)))
      throw new UsageError(
        `'${argv[0]}' needs one of: ${Object.keys(COMMANDS)
          .filter((k) => k.startsWith(`${argv[0]} `))
          .map((k) => k.split(' ')[1])
          .join(', ')}`,
      );
    return false;
  }
  const command = COMMANDS[key];
  const rest = argv.slice(key.split(' ').length);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL, ...command.options }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('. To specify')[0]} (usage: ${command.usage})`);
  }
  const { values, positionals } = parsed;
  const output: Output = { ...o, json: values.json === true };
  if (values.help) {
    output.out.write(`usage: ${command.usage}\n${command.summary}\n`);
    return true;
  }
  let client: Loam | undefined;
  const loam = () => {
    if (client) return client;
    const profile = loadProfile(str(values.profile));
    if (str(values.profile) && !profile)
      throw new LoamError(`no profile '${values.profile}' in ${configPath()}: run loam login --profile ${values.profile}`);
    const flagKey = str(values['api-key']);
    const baseURL = str(values.url) ?? process.env.LOAM_API_BASE_URL ?? profile?.baseURL;
    client =
      flagKey || process.env.LOAM_API_KEY || !profile
        ? new Loam({ ...(baseURL ? { baseURL } : {}), ...(flagKey ? { apiKey: flagKey } : {}) })
        : clientFor({ ...profile, baseURL: baseURL ?? profile.baseURL });
    return client;
  };
  try {
    await command.run({ args: positionals, values, o: output, loam });
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${err.message} (usage: ${command.usage})`);
    throw err;
  }
  return true;
}

/** One line for the user: the server's code and explanation, or the client-side reason. */
export function describeError(err: unknown): string {
  if (err instanceof APIError) return `${err.detail} (${err.status} ${err.code}${err.requestId ? `, request ${err.requestId}` : ''})`;
  if (err instanceof LoamError) return err.message;
  if (err instanceof SyntaxError) return `invalid JSON: ${err.message}`;
  return (err as Error).message ?? String(err);
}
