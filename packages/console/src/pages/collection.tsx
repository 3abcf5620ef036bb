import type { Collection, KbDocument, Loam } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { type PageProps, href } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, bytes, useAction, useLoad, usePoll, when } from '../ui.js';
import { DropZone } from './drop-zone.js';
import { QueryPlayground } from './query.js';

/** One collection: its settings (edit, delete), its documents with their live status, an upload. */
export function CollectionDetail({ session, id }: PageProps & { id: string }) {
  const { loam, whoami } = session;
  const collection = useLoad(() => loam.collections.get(id), [id]);
  const canWrite = hasScope(whoami, 'knowledge:write');
  return (
    <Page
      title={collection.data ? `Collection ${collection.data.name}` : 'Collection'}
      actions={<a href={href('knowledge')}>All collections</a>}
    >
      <Loading state={collection}>
        {(kb) => (
          <>
            <p class="muted" data-testid="collection-summary">
              {kb.id} · {kb.document_count} documents · {kb.chunking.chunk_tokens}-token chunks · created {when(kb.created_at)}
              {kb.description ? ` · ${kb.description}` : ''}
            </p>
            {canWrite ? <EditCollection loam={loam} collection={kb} onSaved={collection.reload} /> : null}
            <Documents loam={loam} collection={kb} canWrite={canWrite} onChange={collection.reload} />
            <QueryPlayground loam={loam} collections={[kb]} />
          </>
        )}
      </Loading>
    </Page>
  );
}

/** The name and description inputs of a collection's create and edit forms. */
export function CollectionFields(p: {
  name: string;
  description: string;
  setName: (v: string) => void;
  setDescription: (v: string) => void;
}) {
  return (
    <>
      <Field label="Collection name">
        <input required maxLength={200} value={p.name} onInput={(e) => p.setName(e.currentTarget.value)} />
      </Field>
      <Field label="Description">
        <input maxLength={2000} value={p.description} onInput={(e) => p.setDescription(e.currentTarget.value)} />
      </Field>
    </>
  );
}

function EditCollection({ loam, collection, onSaved }: { loam: Loam; collection: Collection; onSaved: () => void }) {
  const [name, setName] = useState(collection.name);
  const [description, setDescription] = useState(collection.description ?? '');
  const [chunk, setChunk] = useState(String(collection.chunking.chunk_tokens));
  const [overlap, setOverlap] = useState(String(collection.chunking.overlap_tokens));
  const [confirming, setConfirming] = useState(false);
  const save = useAction(async () => {
    await loam.collections.update(collection.id, {
      name: name.trim(),
      description,
      chunking: { chunk_tokens: Number(chunk), overlap_tokens: Number(overlap) },
    });
    onSaved();
  });
  const remove = useAction(async () => {
    await loam.collections.delete(collection.id);
    location.hash = href('knowledge');
  });
  return (
    <Card title="Settings">
      <Form class="row" onSubmit={() => save.act()}>
        <CollectionFields name={name} description={description} setName={setName} setDescription={setDescription} />
        <Field label="Chunk tokens" hint="16–4096; applies to documents indexed from now on">
          <input type="number" min={16} max={4096} required value={chunk} onInput={(e) => setChunk(e.currentTarget.value)} />
        </Field>
        <Field label="Overlap tokens">
          <input type="number" min={0} max={1024} required value={overlap} onInput={(e) => setOverlap(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={save.busy}>
          Save collection
        </button>
        {confirming ? (
          <button type="button" class="danger" disabled={remove.busy} onClick={() => remove.act()}>
            Delete it and its documents
          </button>
        ) : (
          <button type="button" class="secondary" onClick={() => setConfirming(true)}>
            Delete collection
          </button>
        )}
      </Form>
      <ErrorNote error={save.error ?? remove.error} />
    </Card>
  );
}

function Documents({
  loam,
  collection,
  canWrite,
  onChange,
}: {
  loam: Loam;
  collection: Collection;
  canWrite: boolean;
  onChange: () => void;
}) {
  const docs = useLoad(() => loam.documents.list({ collection_id: collection.id, limit: 100 }), [collection.id]);
  // Documents move through extract → chunk → embed → index: the list follows them until each is final.
  const moving = (docs.data ?? []).some((d) => d.status === 'uploaded' || d.status === 'processing');
  usePoll(docs, moving ? 1000 : 5000);
  const [progress, setProgress] = useState<{ name: string; loaded: number; total: number }>();
  const upload = useAction(async (file: File) => {
    setProgress({ name: file.name, loaded: 0, total: file.size });
    await loam.documents.upload(file, {
      collection: collection.id,
      filename: file.name,
      wait: false,
      onProgress: (p) => setProgress({ name: file.name, loaded: p.loaded, total: p.total ?? file.size }),
    });
    docs.reload();
    onChange();
  });
  const remove = useAction(async (id: string) => {
    await loam.documents.delete(id);
    docs.reload();
    onChange();
  });
  return (
    <Card title="Documents">
      {canWrite ? (
        <>
          <DropZone
            label="Drop a document here (PDF, DOCX, HTML, Markdown, text), or choose one"
            disabled={upload.busy}
            onFile={(f) => upload.act(f)}
          />
          {progress ? (
            <div class="progress-line">
              <label for="document-progress">Upload of {progress.name}</label>
              <progress id="document-progress" max={progress.total || 1} value={progress.loaded} />
            </div>
          ) : null}
        </>
      ) : null}
      <ErrorNote error={upload.error ?? remove.error} />
      <p class="muted" aria-live="polite">
        {moving ? 'Following the pipeline…' : ''}
      </p>
      <Loading state={docs}>
        {(rows) => (
          <Table<KbDocument>
            caption="Documents"
            rows={rows}
            columns={[
              ['File', (d) => d.filename],
              ['Type', (d) => d.content_type],
              ['Size', (d) => (d.size === null ? '—' : bytes(d.size))],
              ['Status', (d) => <span class={`tag ${d.status === 'indexed' ? 'ok' : d.status}`}>{d.status}</span>],
              ['Chunks', (d) => d.chunk_count],
              ['Error', (d) => d.error ?? '—'],
              ['Updated', (d) => when(d.updated_at)],
              [
                'Delete',
                (d) =>
                  canWrite ? (
                    <button type="button" class="danger" aria-label={`Delete document ${d.filename}`} onClick={() => remove.act(d.id)}>
                      Delete
                    </button>
                  ) : (
                    '—'
                  ),
              ],
            ]}
            empty="No documents yet."
          />
        )}
      </Loading>
    </Card>
  );
}
