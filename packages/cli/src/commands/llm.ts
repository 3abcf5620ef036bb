/** `loam llm`: generate with any configured model through the gateway, list models, show usage. */
import type { GenerateRequest, LlmPrivacyMode } from '@loam/sdk';
import type { Loam } from '@loam/sdk/node';
import { Command, InvalidArgumentError } from 'commander';
import { positiveInt, readStdin } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { type Output, print, table } from '../output.js';
import { withExamples } from '../program.js';

const MODES = ['off', 'detect', 'redact', 'pseudonymize'];

function privacyMode(value: string): LlmPrivacyMode {
  if (!MODES.includes(value)) throw new InvalidArgumentError(`one of ${MODES.join(', ')}`);
  return value as LlmPrivacyMode;
}

function temperature(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 2) throw new InvalidArgumentError('a number from 0 to 2');
  return n;
}

interface GenerateOptions {
  model?: string;
  system?: string;
  temperature?: number;
  maxTokens?: number;
  privacy?: LlmPrivacyMode;
  stream: boolean;
}

async function streamAnswer(o: Output, client: Loam, body: Omit<GenerateRequest, 'stream'>): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    for await (const part of client.llm.stream(body, { signal: controller.signal })) {
      if (part.type === 'delta') o.out.write(part.text);
      if (part.type === 'finish') o.out.write('\n');
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function generate(io: ClientIO): Command {
  const command = new Command('generate')
    .description('Generate an answer with a model, streaming it to stdout (Ctrl-C cancels)')
    .argument('<prompt>', 'the prompt text, or - to read it from stdin')
    .option('--model <model>', 'a model id or provider/model (default: the server’s default model)')
    .option('--system <text>', 'a system message')
    .option('--temperature <t>', 'sampling temperature, 0 to 2', temperature)
    .option('--max-tokens <n>', 'longest answer in tokens', positiveInt)
    .option('--privacy <mode>', 'off, detect, redact or pseudonymize (PII in the prompt)', privacyMode)
    .option('--no-stream', 'print the answer once it is complete');
  withExamples(
    command,
    'loam llm generate "Summarize Loam in one line" --model gpt-4o-mini',
    'cat notes.txt | loam llm generate - --model llama3.1 --privacy pseudonymize',
    'loam llm generate "Hi" --json',
  );
  return clientAction<GenerateOptions>(command, io, async ({ args, opts, o, loam }) => {
    const prompt = args[0] === '-' ? await readStdin() : args[0];
    const body = {
      prompt,
      model: opts.model,
      system: opts.system,
      temperature: opts.temperature,
      max_tokens: opts.maxTokens,
      ...(opts.privacy ? { privacy: { mode: opts.privacy } } : {}),
    };
    if (o.json || !opts.stream) {
      const res = await loam().llm.generate(body);
      return print(o, res, () => res.text);
    }
    await streamAnswer(o, loam(), body);
  });
}

function models(io: ClientIO): Command {
  const command = new Command('models').description('List the models the server routes, and their first provider');
  withExamples(command, 'loam llm models');
  return clientAction(command, io, async ({ o, loam }) => {
    const list = await loam().llm.models();
    print(o, list, () => table(list, ['id', 'provider']));
  });
}

function usage(io: ClientIO): Command {
  const command = new Command('usage')
    .description('Tokens and calls per UTC day and model')
    .option('--from <day>', 'first day, YYYY-MM-DD (default: 30 days ago)')
    .option('--to <day>', 'last day, YYYY-MM-DD (default: today)');
  withExamples(command, 'loam llm usage', 'loam llm usage --from 2026-11-01 --json');
  return clientAction<{ from?: string; to?: string }>(command, io, async ({ opts, o, loam }) => {
    const report = await loam().llm.usage({ from: opts.from, to: opts.to });
    print(o, report, () =>
      [
        table(report.days, ['day', 'model', 'calls', 'prompt_tokens', 'completion_tokens', 'total_tokens']),
        `total: ${report.totals.calls} calls, ${report.totals.total_tokens} tokens`,
      ].join('\n'),
    );
  });
}

export function llmCommand(io: ClientIO): Command {
  return clientGroup(
    'llm',
    'Generate with any configured model through the LLM gateway; models and usage',
    [generate(io), models(io), usage(io)],
    'loam llm generate "Hello" --model gpt-4o-mini',
    'loam llm usage',
  );
}
