import type { Dataset, DatasetRecord, Loam, Page as RecordPage } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { type Condition, FILTER_OPS, OP_LABELS, buildFilter } from '../filter.js';
import { Card, ErrorNote, Field, Form, json, Table, useAction, useLoad } from '../ui.js';

const PAGE_SIZE = 20;

/** Records of the draft in a paginated table, the visual filter builder, and record edit. */
export function Records({ loam, dataset, canWrite }: { loam: Loam; dataset: Dataset; canWrite: boolean }) {
  const fields = dataset.schema.fields.map((f) => f.name);
  const [conditions, setConditions] = useState<Condition[]>([{ field: fields[0] ?? '', op: '$eq', value: '' }]);
  const [join, setJoin] = useState<'$and' | '$or'>('$and');
  const [applied, setApplied] = useState<Record<string, unknown> | undefined>();
  const [pages, setPages] = useState<RecordPage<DatasetRecord>[]>([]);
  const [editing, setEditing] = useState<DatasetRecord>();
  const filter = buildFilter(conditions, join);
  const first = useLoad(async () => {
    const page = await loam.records.list(dataset.id, { limit: PAGE_SIZE, ...(applied ? { filter: applied } : {}) });
    setPages([page]);
    return page;
  }, [dataset.id, JSON.stringify(applied)]);
  const current = pages[pages.length - 1];
  const next = useAction(async () => {
    if (current?.hasNextPage()) setPages([...pages, await current.getNextPage()]);
  });
  const update = (i: number, patch: Partial<Condition>) => setConditions(conditions.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  const columns = [...new Set([...fields, ...(current?.items ?? []).flatMap((r) => Object.keys(r.data))])].slice(0, 8);
  return (
    <>
      <Card title="Filter">
        <Form class="filter" onSubmit={() => setApplied(filter)}>
          {conditions.map((c, i) => (
            <fieldset key={i} class="condition">
              <legend class="sr-only">Condition {i + 1}</legend>
              <Field label="Field">
                <input list="dataset-fields" value={c.field} onInput={(e) => update(i, { field: e.currentTarget.value })} />
              </Field>
              <Field label="Operator">
                <select value={c.op} onChange={(e) => update(i, { op: e.currentTarget.value as Condition['op'] })}>
                  {FILTER_OPS.map((op) => (
                    <option key={op} value={op}>
                      {OP_LABELS[op]} ({op})
                    </option>
                  ))}
                </select>
              </Field>
              <Field label="Value">
                <input value={c.value} onInput={(e) => update(i, { value: e.currentTarget.value })} />
              </Field>
              <button
                type="button"
                class="secondary"
                aria-label={`Remove condition ${i + 1}`}
                onClick={() => setConditions(conditions.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            </fieldset>
          ))}
          <datalist id="dataset-fields">
            {fields.map((f) => (
              <option key={f} value={f} />
            ))}
          </datalist>
          <div class="row">
            <button type="button" class="secondary" onClick={() => setConditions([...conditions, { field: '', op: '$eq', value: '' }])}>
              Add condition
            </button>
            <Field label="Combine with">
              <select value={join} onChange={(e) => setJoin(e.currentTarget.value as '$and' | '$or')}>
                <option value="$and">all ($and)</option>
                <option value="$or">any ($or)</option>
              </select>
            </Field>
            <button type="submit">Apply filter</button>
            <button
              type="button"
              class="secondary"
              onClick={() => {
                setConditions([{ field: '', op: '$eq', value: '' }]);
                setApplied(undefined);
              }}
            >
              Clear
            </button>
          </div>
          <Field label="Filter ($-filter language)">
            <output class="code" data-testid="filter-json">
              {filter ? JSON.stringify(filter) : '(none: every record)'}
            </output>
          </Field>
        </Form>
      </Card>
      <Card title="Records">
        <ErrorNote error={first.error ?? next.error} />
        {current ? (
          <>
            <p class="muted" aria-live="polite">
              Page {pages.length} · {current.items.length} records{applied ? ' matching the filter' : ''}
            </p>
            <Table<DatasetRecord>
              caption="Records"
              rows={current.items}
              columns={[
                [
                  'Id',
                  (r) => (
                    <button type="button" class="link" onClick={() => setEditing(r)}>
                      {r.id}
                    </button>
                  ),
                ],
                ...columns.map((name): [string, (r: DatasetRecord) => string] => [
                  name,
                  (r) => (r.data[name] === undefined ? '' : json(r.data[name])),
                ]),
              ]}
              empty="No records."
            />
            <div class="row">
              <button type="button" class="secondary" disabled={pages.length < 2} onClick={() => setPages(pages.slice(0, -1))}>
                Previous page
              </button>
              <button type="button" class="secondary" disabled={!current.hasNextPage() || next.busy} onClick={() => next.act()}>
                Next page
              </button>
            </div>
          </>
        ) : null}
      </Card>
      {editing ? (
        <RecordEditor
          key={editing.id}
          loam={loam}
          dataset={dataset}
          record={editing}
          canWrite={canWrite}
          onSaved={first.reload}
          onDeleted={() => {
            setEditing(undefined);
            first.reload();
          }}
        />
      ) : null}
    </>
  );
}

function RecordEditor({
  loam,
  dataset,
  record,
  canWrite,
  onSaved,
  onDeleted,
}: {
  loam: Loam;
  dataset: Dataset;
  record: DatasetRecord;
  canWrite: boolean;
  onSaved: () => void;
  onDeleted: () => void;
}) {
  const [text, setText] = useState(JSON.stringify(record.data, null, 2));
  const [saved, setSaved] = useState<string>();
  const save = useAction(async () => {
    const data = JSON.parse(text) as Record<string, unknown>;
    const after = await loam.records.update(dataset.id, record.id, data);
    setSaved(`Saved revision ${after.revision}`);
    onSaved();
  });
  const [confirming, setConfirming] = useState(false);
  const remove = useAction(async () => {
    await loam.records.delete(dataset.id, record.id);
    onDeleted();
  });
  return (
    <Card title={`Record ${record.id}`}>
      <p class="muted">
        Revision {record.revision} · created {new Date(record.created_at).toLocaleString()}
      </p>
      <Field label="Record data (JSON merge patch: null removes a field)">
        <textarea rows={8} class="code" readOnly={!canWrite} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </Field>
      {canWrite ? (
        <div class="row">
          <button type="button" disabled={save.busy} onClick={() => save.act()}>
            Save record
          </button>
          {confirming ? (
            <button type="button" class="danger" disabled={remove.busy} onClick={() => remove.act()}>
              Delete {record.id} from the draft
            </button>
          ) : (
            <button type="button" class="secondary" onClick={() => setConfirming(true)}>
              Delete record
            </button>
          )}
        </div>
      ) : null}
      <p aria-live="polite">{saved}</p>
      <ErrorNote error={save.error ?? remove.error} />
    </Card>
  );
}
