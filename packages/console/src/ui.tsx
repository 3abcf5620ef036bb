import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

/** The message of an SDK error (problem+json `detail`, or the error's own message). */
export function errorText(err: unknown): string {
  const e = err as { error?: { detail?: string; message?: string }; message?: string };
  return e?.error?.detail ?? e?.error?.message ?? e?.message ?? String(err);
}

export interface Loaded<T> {
  data?: T;
  error?: string;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and again whenever `deps` change or `reload()` is called. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (err) => live && setState({ error: errorText(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: useCallback(() => setTick((t) => t + 1), []) };
}

/**
 * Loads again `ms` after each load: lists that show work in progress follow it by themselves
 * (quickly while something moves, slowly otherwise, so that new work shows up too).
 */
export function usePoll(state: Loaded<unknown>, ms: number) {
  useEffect(() => {
    if (state.loading) return;
    const timer = setTimeout(state.reload, ms);
    return () => clearTimeout(timer);
  }, [ms, state.loading, state.data]);
}

/** An action with its busy state and error, for forms and buttons. */
export function useAction<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const act = async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      await run(...args);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, act };
}

export function Page({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Loam console`;
  }, [title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{title}</h1>
        {actions}
      </header>
      {children}
    </section>
  );
}

/** A form whose submit runs `onSubmit` in place (the browser does not navigate). */
export function Form({ onSubmit, children, class: className }: { onSubmit: () => void; children: ComponentChildren; class?: string }) {
  return (
    <form
      class={className}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}

/** A secret the server returns once (an API key, a client secret): shown until dismissed, never again. */
export function SecretOnce({
  title,
  secret,
  onDismiss,
  testId,
}: {
  title: string;
  secret: string;
  onDismiss: () => void;
  testId?: string;
}) {
  return (
    <div class="secret" role="status">
      <p>
        <strong>{title}</strong> It is shown only this once.
      </p>
      <output class="code" data-testid={testId}>
        {secret}
      </output>
      <button type="button" class="secondary" onClick={onDismiss}>
        I have copied it
      </button>
    </div>
  );
}

/** `a, b c` → `['a', 'b', 'c']`: lists typed into one input. */
export const splitList = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

export function Card({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function ErrorNote({ error }: { error?: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** The state of a load: a spinner line, its error, or the content. */
export function Loading<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (state.error) return <ErrorNote error={state.error} />;
  if (state.data === undefined) return <p class="muted">Loading…</p>;
  return <>{children(state.data)}</>;
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <div class="field">
      {/* biome-ignore lint/a11y/noLabelWithoutControl: the control is the child passed in */}
      <label>
        <span>{label}</span>
        {children}
      </label>
      {hint ? <small class="muted">{hint}</small> : null}
    </div>
  );
}

/** A table of rows with the given columns; `empty` when there are none. */
export function Table<T>({
  rows,
  columns,
  caption,
  empty = 'Nothing yet.',
}: {
  rows: T[];
  columns: [string, (row: T) => ComponentChildren][];
  caption: string;
  empty?: string;
}) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    // Focusable so a keyboard can scroll a table wider than the screen.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section class="table-wrap" tabIndex={0} aria-label={caption}>
      <table>
        <caption class="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map(([name]) => (
              <th key={name} scope="col">
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              {columns.map(([name, cell]) => (
                <td key={name} data-label={name}>
                  {cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export const when = (iso?: string | null) => (iso ? new Date(iso).toLocaleString() : '—');
export const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
