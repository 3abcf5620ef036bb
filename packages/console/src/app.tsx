import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type PageProps, href } from './page.js';
import { type Route, ROUTES, currentPath } from './routes.js';
import { type Session, hasScope, resume, signOut } from './session.js';
import { SignIn } from './sign-in.js';

function usePath(): string[] {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return path;
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    resume().then((s) => setSession(s ?? null));
  }, []);
  if (session === undefined) return <p class="muted boot">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  return (
    <Shell
      session={session}
      onSignOut={async () => {
        await signOut(session);
        location.hash = '';
        setSession(null);
      }}
    />
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const path = usePath();
  const allowed = ROUTES.filter((r) => !r.scope || hasScope(session.whoami, r.scope));
  const route = ROUTES.find((r) => r.path === (path[0] ?? ''));
  const who = session.credential.kind === 'user' ? session.credential.email : session.whoami.subject;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href()}>
          Loam
        </a>
        <span class="who" title={`tenant ${session.whoami.tenant_id}`}>
          {who} · {session.whoami.tenant_id}
        </span>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Console">
        {(['Data', 'Operate', 'Security'] as const)
          .filter((group) => allowed.some((r) => r.group === group))
          .map((group) => (
            <div key={group} class="nav-group">
              <h2>{group}</h2>
              <ul>
                {allowed
                  .filter((r) => r.group === group)
                  .map((r) => (
                    <li key={r.path}>
                      <a href={href(...(r.path ? [r.path] : []))} aria-current={route === r ? 'page' : undefined}>
                        {r.title}
                      </a>
                    </li>
                  ))}
              </ul>
            </div>
          ))}
      </nav>
      <main id="main" tabIndex={-1}>
        <RoutedPage route={route} session={session} params={path.slice(1)} />
      </main>
    </div>
  );
}

function RoutedPage({ route, session, params }: { route?: Route; session: Session; params: string[] }) {
  const [page, setPage] = useState<{ route: Route; component: FunctionComponent<PageProps> }>();
  const allowed = route && (!route.scope || hasScope(session.whoami, route.scope));
  useEffect(() => {
    if (route && allowed) route.load().then((component) => setPage({ route, component }));
  }, [route, allowed]);
  if (!route) return <Refusal title="Not found" text="There is no such page." />;
  if (!allowed) return <Refusal title="Not allowed" text={`This credential lacks the scope '${route.scope}' that ${route.title} needs.`} />;
  if (!page || page.route !== route) return <p class="muted">Loading…</p>;
  const Component = page.component;
  return <Component session={session} params={params} />;
}

function Refusal({ title, text }: { title: string; text: string }) {
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title">{title}</h1>
      <p role="alert">{text}</p>
    </section>
  );
}
