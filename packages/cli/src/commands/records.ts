/** `loam records`: importing and exporting the records of a dataset. */
import { createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import type { DatasetImport } from '@loam/sdk/node';
import { Command, Option } from 'commander';
import { existingFile } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { type Output, ProgressBar, details, print } from '../output.js';
import { withExamples } from '../program.js';

interface ImportOptions {
  format?: 'ndjson' | 'csv';
  idField?: string;
  wait: boolean;
  progress: boolean;
}

/**
 * Two bars on stderr: the upload (bytes of the file), then the import job (lines of the file, as
 * the server counts them: without a CSV header or blank lines).
 */
class ImportProgress {
  private readonly upload: ProgressBar;
  private readonly lines: ProgressBar;
  private sent = 0;
  private size: number | undefined;

  constructor(o: Output, file: string, show: boolean) {
    this.upload = new ProgressBar(o.err, `uploading ${basename(file)}`, show);
    this.lines = new ProgressBar(o.err, 'importing', show, 'lines');
  }

  uploading(loaded: number, total?: number): void {
    this.sent = loaded;
    this.size = total;
    this.upload.update(loaded, total);
  }

  importing(job: DatasetImport): void {
    this.uploaded();
    this.lines.update(job.processed, job.total || undefined);
  }

  uploaded(): void {
    this.upload.finish(this.sent, this.size);
  }

  imported(job: DatasetImport): void {
    this.lines.finish(job.processed, job.total, job.failed ? ` (${job.failed} failed)` : '');
  }
}

function importRecords(io: ClientIO): Command {
  const command = new Command('import')
    .description('Import an NDJSON or CSV file into a dataset, with upload and import progress; exit 1 if any line failed')
    .argument('<dataset>', 'the dataset’s id')
    .argument('<file>', 'the NDJSON or CSV file')
    .addOption(new Option('--format <format>', 'file format (default: from the file name)').choices(['ndjson', 'csv']))
    .option('--id-field <field>', 'the key or column holding record ids (default: id)')
    .option('--no-wait', 'return once the import job is queued, without waiting for it')
    .option('--no-progress', 'do not show progress bars');
  withExamples(
    command,
    'loam records import ds_01… people.ndjson',
    'loam records import ds_01… people.csv --id-field email --no-wait --json',
  );
  return clientAction<ImportOptions>(command, io, async ({ args, opts, o, loam }) => {
    const [dataset, file] = [args[0], existingFile(args[1])];
    const progress = new ImportProgress(o, file, opts.progress && !o.json);
    const imp = await loam().records.import(dataset, file, {
      format: opts.format,
      idField: opts.idField,
      wait: opts.wait,
      onProgress: (p) => progress.uploading(p.loaded, p.total),
      onPoll: (job) => progress.importing(job),
    });
    progress.uploaded();
    if (opts.wait) progress.imported(imp);
    print(o, imp, () => details(imp));
    if (imp.failed > 0) process.exitCode = 1;
  });
}

interface ExportOptions {
  format: 'ndjson' | 'csv' | 'json';
  version?: string;
  filter?: string;
  output?: string;
  progress: boolean;
}

function exportRecords(io: ClientIO): Command {
  const command = new Command('export')
    .description('Export records to stdout (or a file), with progress on stderr')
    .argument('<dataset>', 'the dataset’s id')
    .addOption(new Option('--format <format>', 'output format').choices(['ndjson', 'csv', 'json']).default('ndjson'))
    .option('--version <version>', 'export this dataset version (default: the current records)')
    .option('--filter <json>', 'only records matching this filter (JSON)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--no-progress', 'do not show the progress bar');
  withExamples(command, 'loam records export ds_01… > people.ndjson', 'loam records export ds_01… --format csv -o people.csv');
  return clientAction<ExportOptions>(command, io, async ({ args, opts, o, loam }) => {
    const body = await loam().records.download(args[0], {
      format: opts.format as 'ndjson',
      ...(opts.version ? { version: opts.version } : {}),
      ...(opts.filter ? { filter: JSON.parse(opts.filter) } : {}),
    });
    const target: NodeJS.WritableStream = opts.output ? createWriteStream(opts.output) : o.out;
    const bar = new ProgressBar(o.err, 'exporting', opts.progress);
    let bytes = 0;
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      if (!target.write(chunk)) await new Promise<void>((r) => target.once('drain', () => r()));
      bar.update(bytes);
    }
    if (target !== o.out) await new Promise<void>((r) => target.end(() => r()));
    bar.finish(bytes);
  });
}

export function recordsCommand(io: ClientIO): Command {
  return clientGroup(
    'records',
    'Import and export the records of a dataset',
    [importRecords(io), exportRecords(io)],
    'loam records import ds_01… people.ndjson',
    'loam records export ds_01… --format csv > people.csv',
  );
}
