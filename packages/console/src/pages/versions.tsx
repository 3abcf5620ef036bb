import type { Dataset, DatasetVersion, Loam, VersionDiff } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { Card, ErrorNote, Field, Form, json, Loading, Table, useAction, useLoad, when } from '../ui.js';

/** Versions of a dataset: finalize the draft as a version, and a field-level diff of two versions. */
export function Versions({ loam, dataset, canWrite, onChange }: { loam: Loam; dataset: Dataset; canWrite: boolean; onChange: () => void }) {
  const versions = useLoad(async () => (await loam.versions.list(dataset.id, { limit: 100 })).items, [dataset.id]);
  const [name, setName] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [diff, setDiff] = useState<VersionDiff>();
  const create = useAction(async () => {
    await loam.versions.create(dataset.id, name ? { name } : {});
    setName('');
    versions.reload();
    onChange();
  });
  const compare = useAction(async () => setDiff(await loam.versions.diff(dataset.id, from, to, { fields: true, limit: 200 })));
  const options = (list: DatasetVersion[]) =>
    list.map((v) => (
      <option key={v.id} value={v.id}>
        v{v.number} {v.name ?? ''}
      </option>
    ));
  return (
    <>
      {canWrite ? (
        <Card title="Finalize the draft">
          <Form class="row" onSubmit={() => create.act()}>
            <Field label="Version name">
              <input value={name} maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <button type="submit" disabled={create.busy}>
              Create version
            </button>
          </Form>
          <ErrorNote error={create.error} />
        </Card>
      ) : null}
      <Card title="Versions">
        <Loading state={versions}>
          {(list) => (
            <>
              <Table<DatasetVersion>
                caption="Versions"
                rows={list}
                columns={[
                  ['Number', (v) => `v${v.number}`],
                  ['Name', (v) => v.name ?? '—'],
                  ['Records', (v) => v.record_count],
                  ['Status', (v) => v.status],
                  ['Created', (v) => when(v.created_at)],
                ]}
                empty="No versions yet: create one from the draft."
              />
              {list.length >= 2 ? (
                <Form class="row" onSubmit={() => compare.act()}>
                  <Field label="From version">
                    <select value={from} onChange={(e) => setFrom(e.currentTarget.value)} required>
                      <option value="">Choose…</option>
                      {options(list)}
                    </select>
                  </Field>
                  <Field label="To version">
                    <select value={to} onChange={(e) => setTo(e.currentTarget.value)} required>
                      <option value="">Choose…</option>
                      {options(list)}
                    </select>
                  </Field>
                  <button type="submit" disabled={compare.busy}>
                    Compare
                  </button>
                </Form>
              ) : null}
              <ErrorNote error={compare.error} />
            </>
          )}
        </Loading>
      </Card>
      {diff ? <DiffView diff={diff} /> : null}
    </>
  );
}

function DiffView({ diff }: { diff: VersionDiff }) {
  const changes = Object.entries(diff.changes ?? {}).flatMap(([id, list]) => list.map((c) => ({ id, ...c })));
  return (
    <Card title="Differences">
      <p data-testid="diff-summary">
        <span class="tag added">{diff.added.length} added</span> <span class="tag removed">{diff.removed.length} removed</span>{' '}
        <span class="tag modified">{diff.modified.length} modified</span>
      </p>
      {diff.added.length ? <p>Added: {diff.added.join(', ')}</p> : null}
      {diff.removed.length ? <p>Removed: {diff.removed.join(', ')}</p> : null}
      <Table
        caption="Field changes"
        rows={changes}
        columns={[
          ['Record', (c) => c.id],
          ['Field', (c) => <code>{c.field}</code>],
          ['Before', (c) => <del>{json(c.before)}</del>],
          ['After', (c) => <ins>{json(c.after)}</ins>],
        ]}
        empty="No field-level changes."
      />
    </Card>
  );
}
