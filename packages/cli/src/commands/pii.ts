/** `loam pii`: find and anonymize personal data in text. */
import { Command } from 'commander';
import { collect, fileOrStdin, keyValue } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { print, table } from '../output.js';
import { withExamples } from '../program.js';

function analyze(io: ClientIO): Command {
  const command = new Command('analyze')
    .description('Find PII in a file or stdin')
    .argument('[file]', "the file to read; '-' or nothing reads stdin")
    .option('--entity <type>', 'only this entity type, e.g. EMAIL_ADDRESS (repeatable)', collect)
    .option('--min-score <score>', 'only findings scored at least this (0 to 1)');
  withExamples(command, 'loam pii analyze notes.txt', 'echo "Call Ada at ada@example.com" | loam pii analyze --entity EMAIL_ADDRESS');
  return clientAction<{ entity?: string[]; minScore?: string }>(command, io, async ({ args, opts, o, loam }) => {
    const res = await loam().anonymization.analyze({
      text: await fileOrStdin(args[0]),
      include_text: true,
      ...(opts.entity ? { entities: opts.entity } : {}),
      ...(opts.minScore ? { min_score: Number(opts.minScore) } : {}),
    });
    print(o, res, () =>
      res.entities.length ? table(res.entities, ['type', 'start', 'end', 'score', 'recognizer', 'text']) : 'No PII found',
    );
  });
}

function anonymize(io: ClientIO): Command {
  const command = new Command('anonymize')
    .description('Print a file or stdin with its PII anonymized')
    .argument('[file]', "the file to read; '-' or nothing reads stdin")
    .option('--operator <TYPE=op>', 'how to anonymize an entity type: replace, redact, mask, hash, … (repeatable)', keyValue);
  withExamples(command, 'loam pii anonymize notes.txt', 'loam pii anonymize - --operator EMAIL_ADDRESS=redact < notes.txt');
  return clientAction<{ operator?: Record<string, string> }>(command, io, async ({ args, opts, o, loam }) => {
    const text = await fileOrStdin(args[0]);
    const operators = Object.fromEntries(Object.entries(opts.operator ?? {}).map(([k, v]) => [k, { type: v as never }]));
    const res = await loam().anonymization.anonymize({ text, ...(opts.operator ? { operators } : {}) });
    print(o, res, () => res.text ?? '');
  });
}

export function piiCommand(io: ClientIO): Command {
  return clientGroup(
    'pii',
    'Find and anonymize personal data (PII) in text',
    [analyze(io), anonymize(io)],
    'loam pii analyze notes.txt',
    'cat notes.txt | loam pii anonymize',
  );
}
