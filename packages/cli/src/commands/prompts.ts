/** `loam prompts`: prompt templates, their versions, rendering and generation. */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Loam } from '@loam/sdk/node';
import { Command } from 'commander';
import { collect, existingFile, keyValue, positiveInt } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { type Output, details, print, table } from '../output.js';
import { withExamples } from '../program.js';

const PROMPT_COLUMNS = ['id', 'name', 'version', 'modelId', 'tags', 'updatedAt'];

interface VersionOptions {
  version?: number;
  label?: string;
}
interface RenderOptions extends VersionOptions {
  var?: Record<string, string>;
}

/** `--version N | --label L`: which version of the prompt a command uses. */
function versionOptions(command: Command): Command {
  return command
    .option('--version <n>', 'use this version (default: the latest)', positiveInt)
    .option('--label <label>', 'use the version with this label (e.g. production)');
}

/** Placeholders of a template, in order of appearance. */
const placeholders = (template: string) => [...new Set([...template.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]))];

function ls(io: ClientIO): Command {
  const command = new Command('ls')
    .alias('list')
    .description('List prompts')
    .option('--tag <tag>', 'only prompts with this tag (repeatable)', collect)
    .option('--model <model>', 'only prompts for this model id');
  withExamples(command, 'loam prompts ls', 'loam prompts list --tag support --json');
  return clientAction<{ tag?: string[]; model?: string }>(command, io, async ({ opts, o, loam }) => {
    const prompts = await loam()
      .prompts.list({ ...(opts.tag ? { tags: opts.tag } : {}), modelId: opts.model, maxResults: 100 })
      .toArray();
    print(o, prompts, () => table(prompts, PROMPT_COLUMNS));
  });
}

function get(io: ClientIO): Command {
  const command = versionOptions(
    new Command('get').description('Show a prompt and its template (latest, or a version or label)').argument('<id>', 'the prompt’s id'),
  );
  withExamples(command, 'loam prompts get prm_01…', 'loam prompts get prm_01… --version 2');
  return clientAction<VersionOptions>(command, io, async ({ args, opts, o, loam }) => {
    const p = await loam().prompts.get(args[0], { version: opts.version, label: opts.label });
    print(o, p, () => `${details({ ...p, template: undefined })}\n\n${p.template}`);
  });
}

/** The id of the prompt named `name`, if there is one. */
async function findByName(client: Loam, name: string): Promise<string | undefined> {
  for await (const p of client.prompts.list({ maxResults: 100 })) if (p.name === name) return p.id;
  return undefined;
}

function push(io: ClientIO): Command {
  const command = new Command('push')
    .description('Create a prompt, or a new version of the prompt with that name, from a .json spec or a template file')
    .argument('<file>', 'a .json prompt spec, or a template whose {{placeholders}} become required variables')
    .option('--name <name>', 'prompt name (default: the spec’s name, else the file name without extension)')
    .option('--model <model>', 'model id the prompt runs on')
    .option('--tag <tag>', 'tag (repeatable)', collect);
  withExamples(command, 'loam prompts push greet.md --model llama3.1', 'loam prompts push support.json --tag support');
  return clientAction<{ name?: string; model?: string; tag?: string[] }>(command, io, async ({ args, opts, o, loam }) => {
    const file = existingFile(args[0]);
    const text = readFileSync(file, 'utf8');
    const spec =
      extname(file).toLowerCase() === '.json'
        ? (JSON.parse(text) as Record<string, unknown> & { name?: string; template: string })
        : { template: text, variables: placeholders(text).map((name) => ({ name, required: true })) };
    const name = opts.name ?? spec.name ?? basename(file, extname(file));
    const body = { ...spec, name, ...(opts.model ? { modelId: opts.model } : {}), ...(opts.tag ? { tags: opts.tag } : {}) };
    const client = loam();
    const existing = await findByName(client, name);
    const { id: _ignored, ...fields } = body as typeof body & { id?: string };
    const prompt = existing ? await client.prompts.update(existing, fields) : await client.prompts.create(fields);
    print(o, prompt, () => `${existing ? 'Updated' : 'Created'} ${prompt.id} '${prompt.name}' version ${prompt.version}`);
  });
}

function render(io: ClientIO): Command {
  const command = versionOptions(
    new Command('render')
      .description('Render a prompt with variables')
      .argument('<id>', 'the prompt’s id')
      .option('--var <key=value>', 'a template variable (repeatable)', keyValue),
  );
  withExamples(command, 'loam prompts render prm_01… --var name=Ada');
  return clientAction<RenderOptions>(command, io, async ({ args, opts, o, loam }) => {
    const res = await loam().prompts.render(args[0], { variables: opts.var ?? {}, version: opts.version, label: opts.label });
    print(o, res, () => res.text);
  });
}

async function streamAnswer(o: Output, client: Loam, id: string, body: { variables: Record<string, string> } & VersionOptions) {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    for await (const part of client.prompts.generate(id, { ...body, stream: true }, { signal: controller.signal })) {
      if (part.type === 'text-delta') o.out.write(part.delta);
      if (part.type === 'finish') o.out.write('\n');
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function generate(io: ClientIO): Command {
  const command = versionOptions(
    new Command('generate')
      .description('Render and run a prompt on its model, streaming the answer to stdout (Ctrl-C cancels)')
      .argument('<id>', 'the prompt’s id')
      .option('--var <key=value>', 'a template variable (repeatable)', keyValue)
      .option('--no-stream', 'print the answer once it is complete'),
  );
  withExamples(
    command,
    'loam prompts generate prm_01… --var text="$(cat notes.txt)"',
    'loam prompts generate prm_01… --label production --json',
  );
  return clientAction<RenderOptions & { stream: boolean }>(command, io, async ({ args, opts, o, loam }) => {
    const body = { variables: opts.var ?? {}, version: opts.version, label: opts.label };
    if (o.json || !opts.stream) {
      const res = await loam().prompts.generate(args[0], body);
      return print(o, res, () => res.text);
    }
    await streamAnswer(o, loam(), args[0], body);
  });
}

export function promptsCommand(io: ClientIO): Command {
  return clientGroup(
    'prompts',
    'Manage prompt templates, render them and run them on their model',
    [ls(io), get(io), push(io), render(io), generate(io)],
    'loam prompts push greet.md --model llama3.1',
    'loam prompts generate prm_01… --var name=Ada',
  );
}
