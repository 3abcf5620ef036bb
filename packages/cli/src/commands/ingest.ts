/** `loam ingest`: text, web pages and files into content items. */
import { basename } from 'node:path';
import { Command } from 'commander';
import { existingFile, keyValue, readStdin } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { type Output, ProgressBar, details, print } from '../output.js';
import { withExamples } from '../program.js';

interface IngestOptions {
  meta?: Record<string, string>;
  wait?: boolean;
}

const META = ['--meta <key=value>', 'metadata stored with the item (repeatable)'] as const;
const WAIT = ['--wait', 'wait until the item is processed, and print it then'] as const;

function printItem(o: Output, item: { id: string; status: string }): void {
  print(o, item, () => ('title' in item ? details(item as unknown as Record<string, unknown>) : `${item.id}  ${item.status}`));
}

function text(io: ClientIO): Command {
  const command = new Command('text')
    .description('Ingest text (from the arguments, or stdin with -)')
    .argument('[text...]', "the text; '-' or nothing reads stdin")
    .option(...META, keyValue)
    .option(...WAIT);
  withExamples(command, 'loam ingest text "Loam keeps data close" --meta source=cli', 'cat notes.txt | loam ingest text - --wait');
  return clientAction<IngestOptions>(command, io, async ({ args, opts, o, loam }) => {
    const content = args[0] === undefined || args[0] === '-' ? await readStdin() : args.join(' ');
    const res = await loam().content.ingestText({ content, ...(opts.meta ? { metadata: opts.meta } : {}) }, { wait: opts.wait === true });
    printItem(o, res);
  });
}

function url(io: ClientIO): Command {
  const command = new Command('url')
    .description('Ingest a web page or document by URL')
    .argument('<url>', 'http(s) URL of the page or document')
    .option(...META, keyValue)
    .option(...WAIT);
  withExamples(command, 'loam ingest url https://example.com/handbook.pdf --wait');
  return clientAction<IngestOptions>(command, io, async ({ args, opts, o, loam }) => {
    const res = await loam().content.ingestUrl(
      { url: args[0], ...(opts.meta ? { metadata: opts.meta } : {}) },
      { wait: opts.wait === true },
    );
    printItem(o, res);
  });
}

function file(io: ClientIO): Command {
  const command = new Command('file')
    .description('Upload a file through a pre-signed URL (with a progress bar)')
    .argument('<path>', 'the file to upload')
    .option('--type <content-type>', 'content type (default: guessed from the file name)')
    .option(...META, keyValue)
    .option(...WAIT)
    .option('--no-progress', 'do not show the upload progress bar');
  withExamples(command, 'loam ingest file ./report.pdf --wait', 'loam ingest file notes.txt --type text/markdown --meta team=docs');
  return clientAction<IngestOptions & { type?: string; progress: boolean }>(command, io, async ({ args, opts, o, loam }) => {
    const path = existingFile(args[0]);
    const bar = new ProgressBar(o.err, `uploading ${basename(path)}`, opts.progress && !o.json);
    let sent = 0;
    let size: number | undefined;
    const res = await loam().content.ingestFile(path, {
      contentType: opts.type,
      ...(opts.meta ? { metadata: opts.meta } : {}),
      wait: opts.wait === true,
      onProgress: (p) => {
        sent = p.loaded;
        size = p.total;
        bar.update(p.loaded, p.total);
      },
    });
    bar.finish(sent, size);
    printItem(o, res);
  });
}

export function ingestCommand(io: ClientIO): Command {
  return clientGroup(
    'ingest',
    'Ingest text, web pages and files as content items',
    [text(io), url(io), file(io)],
    'loam ingest file ./report.pdf --wait',
    'loam ingest url https://example.com/post',
  );
}
