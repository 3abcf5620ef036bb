import type { Dataset, DatasetImport, Loam } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { Card, ErrorNote, useAction } from '../ui.js';
import { DropZone } from './drop-zone.js';

/** Import a CSV or NDJSON file: the upload's progress, then the import job's (processed / total). */
export function ImportPanel({ loam, dataset, onDone }: { loam: Loam; dataset: Dataset; onDone: () => void }) {
  const [upload, setUpload] = useState<{ loaded: number; total?: number }>();
  const [job, setJob] = useState<DatasetImport>();
  const run = useAction(async (file: File) => {
    setJob(undefined);
    setUpload({ loaded: 0, total: file.size });
    const format = /\.csv$/i.test(file.name) || file.type === 'text/csv' ? 'csv' : 'ndjson';
    const done = await loam.records.import(dataset.id, file, {
      format,
      wait: true,
      pollIntervalMs: 300,
      onProgress: (p) => setUpload({ loaded: p.loaded, total: p.total ?? file.size }),
      onPoll: setJob,
    });
    setJob(done);
    onDone();
  });
  const jobPct = job && job.total > 0 ? Math.round(((job.processed + job.failed) / job.total) * 100) : 0;
  return (
    <Card title="Import records">
      <DropZone
        label="Drop a CSV or NDJSON file here, or choose one"
        accept=".csv,.ndjson,.jsonl,text/csv"
        disabled={run.busy}
        onFile={(f) => run.act(f)}
      />
      {upload ? (
        <div class="progress-line">
          <label for="upload-progress">Upload</label>
          <progress id="upload-progress" max={upload.total ?? 1} value={upload.loaded} />
        </div>
      ) : null}
      {job || run.busy ? (
        <div class="progress-line">
          <label for="import-progress">Import</label>
          <progress id="import-progress" max={100} value={jobPct} />
          <span aria-live="polite" data-testid="import-status">
            {job ? `${job.status}: ${job.processed} of ${job.total} records imported, ${job.failed} failed` : 'uploading…'}
          </span>
        </div>
      ) : null}
      <ErrorNote error={run.error} />
    </Card>
  );
}

/** Export the draft as CSV or NDJSON: waits for the export job, then offers the file. */
export function ExportPanel({ loam, dataset }: { loam: Loam; dataset: Dataset }) {
  const [format, setFormat] = useState<'csv' | 'ndjson'>('csv');
  const [file, setFile] = useState<{ url: string; name: string }>();
  const run = useAction(async () => {
    const body = await loam.records.download(dataset.id, { format }, { pollIntervalMs: 300 });
    const blob = await new Response(body).blob();
    if (file) URL.revokeObjectURL(file.url);
    setFile({ url: URL.createObjectURL(blob), name: `${dataset.name}.${format}` });
  });
  return (
    <Card title="Export records">
      <div class="row">
        <label>
          Format{' '}
          <select value={format} onChange={(e) => setFormat(e.currentTarget.value as 'csv' | 'ndjson')}>
            <option value="csv">CSV</option>
            <option value="ndjson">NDJSON</option>
          </select>
        </label>
        <button type="button" disabled={run.busy} onClick={() => run.act()}>
          {run.busy ? 'Exporting…' : 'Export'}
        </button>
        {file ? (
          <a href={file.url} download={file.name}>
            Download {file.name}
          </a>
        ) : null}
      </div>
      <ErrorNote error={run.error} />
    </Card>
  );
}
