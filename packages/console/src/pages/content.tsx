import type { ContentItem } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Loading, Page, Table, bytes, useAction, useLoad, usePoll, when } from '../ui.js';
import { DropZone } from './drop-zone.js';

const MOVING = ['PENDING', 'PROCESSING'];

/** Content: upload by drag-and-drop (pre-signed URL, progress), status through the pipeline as it changes, extracted text. */
export function Content({ session }: PageProps) {
  const { loam, whoami } = session;
  const items = useLoad(async () => (await loam.content.list({ limit: 50 })).items);
  // Items in the pipeline are followed until each is COMPLETED or ERROR; new items (from any client) show up too.
  const moving = (items.data ?? []).some((c) => MOVING.includes(c.status));
  usePoll(items, moving ? 1000 : 5000);
  const [progress, setProgress] = useState<{ loaded: number; total: number }>();
  const [status, setStatus] = useState<string>();
  const [text, setText] = useState<{ id: string; text: string }>();
  const upload = useAction(async (file: File) => {
    setProgress({ loaded: 0, total: file.size });
    setStatus('uploading');
    await loam.content.ingestFile(file, {
      filename: file.name,
      onProgress: (p) => setProgress({ loaded: p.loaded, total: p.total ?? file.size }),
    });
    setStatus(`uploaded: ${file.name}`);
    items.reload();
  });
  const show = useAction(async (id: string) => setText({ id, text: await loam.content.text(id) }));
  return (
    <Page title="Content">
      {hasScope(whoami, 'ingest:write') ? (
        <Card title="Upload">
          <DropZone
            label="Drop a document here (PDF, DOCX, HTML, text), or choose one"
            disabled={upload.busy}
            onFile={(f) => upload.act(f)}
          />
          {progress ? (
            <div class="progress-line">
              <label for="content-progress">Upload</label>
              <progress id="content-progress" max={progress.total || 1} value={progress.loaded} />
              <span aria-live="polite">{status}</span>
            </div>
          ) : null}
          <ErrorNote error={upload.error} />
        </Card>
      ) : null}
      <Card title="Items">
        <p class="muted" aria-live="polite">
          {moving ? 'Following the pipeline…' : ''}
        </p>
        <Loading state={items}>
          {(rows) => (
            <Table<ContentItem>
              caption="Content items"
              rows={rows}
              columns={[
                ['Title', (c) => c.title ?? c.sourceUri],
                ['Type', (c) => c.contentType],
                ['Size', (c) => bytes(c.size)],
                ['Status', (c) => <span class={`tag status-${c.status.toLowerCase()}`}>{c.status}</span>],
                ['Created', (c) => when(c.createdAt)],
                [
                  'Text',
                  (c) =>
                    c.status === 'COMPLETED' ? (
                      <button type="button" class="link" onClick={() => show.act(c.id)}>
                        View text
                      </button>
                    ) : (
                      '—'
                    ),
                ],
              ]}
              empty="No content yet."
            />
          )}
        </Loading>
        <ErrorNote error={show.error} />
      </Card>
      {text ? (
        <Card title={`Extracted text of ${text.id}`}>
          <pre class="code extracted">{text.text}</pre>
        </Card>
      ) : null}
    </Page>
  );
}
