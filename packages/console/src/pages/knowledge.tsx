import type { Collection } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { type PageProps, href } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Form, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';
import { CollectionDetail, CollectionFields } from './collection.js';
import { QueryPlayground } from './query.js';

/** Knowledge bases: collections, a collection's documents (`#/knowledge/<id>`), the query playground. */
export function Knowledge(props: PageProps) {
  if (props.params[0]) return <CollectionDetail {...props} id={props.params[0]} />;
  return <CollectionList {...props} />;
}

function CollectionList({ session }: PageProps) {
  const { loam, whoami } = session;
  const collections = useLoad(() => loam.collections.list({ limit: 100 }));
  return (
    <Page title="Knowledge">
      {hasScope(whoami, 'knowledge:write') ? <CreateCollectionForm session={session} /> : null}
      <Card title="Collections">
        <Loading state={collections}>
          {(rows) => (
            <Table<Collection>
              caption="Collections"
              rows={rows}
              columns={[
                ['Name', (c) => <a href={href('knowledge', c.id)}>{c.name}</a>],
                ['Description', (c) => c.description ?? '—'],
                ['Documents', (c) => c.document_count],
                ['Chunking', (c) => `${c.chunking.chunk_tokens} tokens, ${c.chunking.overlap_tokens} overlap`],
                ['Embeddings', (c) => c.embedding_model ?? 'none (keyword retrieval)'],
                ['Updated', (c) => when(c.updated_at)],
              ]}
              empty="No collections yet."
            />
          )}
        </Loading>
      </Card>
      <Loading state={collections}>{(rows) => (rows.length ? <QueryPlayground loam={loam} collections={rows} /> : null)}</Loading>
    </Page>
  );
}

function CreateCollectionForm({ session }: Pick<PageProps, 'session'>) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useAction(async () => {
    const kb = await session.loam.collections.create({ name: name.trim(), ...(description ? { description } : {}) });
    location.hash = href('knowledge', kb.id);
  });
  return (
    <Card title="New collection">
      <Form class="row" onSubmit={() => create.act()}>
        <CollectionFields name={name} description={description} setName={setName} setDescription={setDescription} />
        <button type="submit" disabled={create.busy}>
          Create collection
        </button>
      </Form>
      <ErrorNote error={create.error} />
    </Card>
  );
}
