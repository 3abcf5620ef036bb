import type { CreateDataset, Dataset, SchemaField } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { type PageProps, href } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';
import { DatasetDetail } from './dataset.js';

const TYPES = ['string', 'integer', 'number', 'boolean', 'datetime', 'object', 'array'];

/** `email:string:email` lines → schema fields (name, type, optional PII class; `!` after the name: required). */
export function parseSchema(text: string): SchemaField[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [rawName, type = 'string', pii] = line.split(':').map((s) => s.trim());
      if (!TYPES.includes(type)) throw new Error(`Unknown type '${type}' in '${line}' (one of ${TYPES.join(', ')})`);
      const required = rawName.endsWith('!');
      return { name: required ? rawName.slice(0, -1) : rawName, type: type as SchemaField['type'], required, ...(pii ? { pii } : {}) };
    });
}

export function Datasets(props: PageProps) {
  if (props.params[0]) return <DatasetDetail {...props} id={props.params[0]} />;
  return <DatasetList {...props} />;
}

function DatasetList({ session }: PageProps) {
  const { loam, whoami } = session;
  const [search, setSearch] = useState('');
  const list = useLoad(async () => (await loam.datasets.list({ limit: 200 })).items);
  const shown = (list.data ?? []).filter((d) =>
    `${d.name} ${d.description ?? ''} ${d.tags.join(' ')}`.toLowerCase().includes(search.toLowerCase()),
  );
  return (
    <Page title="Datasets">
      {hasScope(whoami, 'datasets:write') ? (
        <CreateDatasetForm onCreated={(d) => (location.hash = href('datasets', d.id))} session={session} />
      ) : null}
      <Card title="All datasets">
        <Field label="Search datasets">
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </Field>
        <Loading state={list}>
          {() => (
            <Table<Dataset>
              caption="Datasets"
              rows={shown}
              columns={[
                ['Name', (d) => <a href={href('datasets', d.id)}>{d.name}</a>],
                ['Records', (d) => d.record_count],
                ['Classification', (d) => d.classification],
                ['Status', (d) => d.status],
                ['Updated', (d) => when(d.updated_at)],
              ]}
              empty="No datasets match."
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}

function CreateDatasetForm({ session, onCreated }: Pick<PageProps, 'session'> & { onCreated: (d: Dataset) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [schema, setSchema] = useState('');
  const { busy, error, act } = useAction(async () => {
    const body: CreateDataset = { name: name.trim(), ...(description ? { description } : {}) };
    const fields = parseSchema(schema);
    if (fields.length) body.schema = { fields };
    onCreated(await session.loam.datasets.create(body));
  });
  return (
    <Card title="New dataset">
      <Form class="grid" onSubmit={() => act()}>
        <Field label="Name">
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Description">
          <input value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <Field label="Schema" hint="One field a line: name[!]:type[:pii class], e.g. email!:string:email">
          <textarea rows={3} value={schema} onInput={(e) => setSchema(e.currentTarget.value)} />
        </Field>
        <div>
          <button type="submit" disabled={busy}>
            Create dataset
          </button>
        </div>
        <ErrorNote error={error} />
      </Form>
    </Card>
  );
}
