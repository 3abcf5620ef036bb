import type { Collection, Loam, QueryPart } from '@loam/sdk';
import { useRef, useState } from 'preact/hooks';
import { Card, ErrorNote, Field, Form, errorText } from '../ui.js';

type Citation = Extract<QueryPart, { type: 'source-document' }>;

/** Asks a question of the chosen collections; the answer streams in (`POST /api/v1/query`) with its citations. */
export function QueryPlayground({ loam, collections }: { loam: Loam; collections: Collection[] }) {
  const [chosen, setChosen] = useState<string[]>(collections.slice(0, 1).map((c) => c.id));
  const [question, setQuestion] = useState('');
  const [answer, setAnswer] = useState('');
  const [sources, setSources] = useState<Citation[]>([]);
  const [state, setState] = useState<'idle' | 'streaming' | 'done'>('idle');
  const [error, setError] = useState<string>();
  const abort = useRef<AbortController>();
  const ask = async () => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setAnswer('');
    setSources([]);
    setError(undefined);
    setState('streaming');
    try {
      const stream = loam.knowledge.query({ question, collection_ids: chosen }, { signal: controller.signal });
      for await (const part of stream) {
        if (part.type === 'text-delta') setAnswer((a) => a + part.delta);
        else if (part.type === 'source-document') setSources((s) => [...s, part]);
        else if (part.type === 'error') setError(part.errorText);
      }
    } catch (err) {
      if (!controller.signal.aborted) setError(errorText(err));
    } finally {
      if (abort.current === controller) setState('done');
    }
  };
  const toggle = (id: string, on: boolean) => setChosen(on ? [...chosen, id] : chosen.filter((c) => c !== id));
  return (
    <Card title="Query playground">
      <Form onSubmit={() => ask()}>
        <fieldset class="row choices">
          <legend>Collections to ask</legend>
          {collections.map((c) => (
            <label key={c.id} class="check">
              <input type="checkbox" checked={chosen.includes(c.id)} onChange={(e) => toggle(c.id, e.currentTarget.checked)} />
              {c.name}
            </label>
          ))}
        </fieldset>
        <Field label="Question">
          <textarea rows={2} required value={question} onInput={(e) => setQuestion(e.currentTarget.value)} />
        </Field>
        <div class="row">
          <button type="submit" disabled={state === 'streaming' || chosen.length === 0}>
            Ask
          </button>
          {state === 'streaming' ? (
            <button type="button" class="secondary" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : null}
          <span class="muted" aria-live="polite" data-testid="query-state">
            {state === 'streaming' ? 'streaming…' : state === 'done' ? 'answer complete' : ''}
          </span>
        </div>
      </Form>
      <ErrorNote error={error} />
      {state !== 'idle' ? (
        <>
          <Field label="Answer">
            <output class="code answer" data-testid="query-answer">
              {answer}
            </output>
          </Field>
          <h3>Citations</h3>
          {sources.length ? (
            <ol class="citations" data-testid="query-citations">
              {sources.map((s) => {
                const m = s.providerMetadata?.loam;
                return (
                  <li key={s.sourceId} value={m?.citation}>
                    <strong>{s.filename ?? s.title}</strong>
                    {m ? (
                      <span class="muted">
                        {' '}
                        score {m.score.toFixed(4)}
                        {m.page ? ` · page ${m.page}` : ''}
                      </span>
                    ) : null}
                    {m ? <blockquote>{m.text}</blockquote> : null}
                  </li>
                );
              })}
            </ol>
          ) : (
            <p class="muted">{state === 'done' ? 'No sources cited.' : 'Retrieving…'}</p>
          )}
        </>
      ) : null}
    </Card>
  );
}
