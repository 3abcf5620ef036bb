import type { FunctionComponent } from 'preact';
import type { PageProps } from './page.js';

export interface Route {
  path: string;
  title: string;
  /** The scope the page's API calls need: without it the page is neither listed nor shown. */
  scope?: string;
  group: 'Data' | 'Operate' | 'Security';
  load: () => Promise<FunctionComponent<PageProps>>;
}

/** Every page, in navigation order. Pages load on first visit, so the first load stays small. */
export const ROUTES: Route[] = [
  { path: '', title: 'Overview', group: 'Data', load: async () => (await import('./pages/overview.js')).Overview },
  {
    path: 'datasets',
    title: 'Datasets',
    scope: 'datasets:read',
    group: 'Data',
    load: async () => (await import('./pages/datasets.js')).Datasets,
  },
  {
    path: 'content',
    title: 'Content',
    scope: 'ingest:read',
    group: 'Data',
    load: async () => (await import('./pages/content.js')).Content,
  },
  {
    path: 'knowledge',
    title: 'Knowledge',
    scope: 'knowledge:read',
    group: 'Data',
    load: async () => (await import('./pages/knowledge.js')).Knowledge,
  },
  {
    path: 'privacy',
    title: 'Privacy',
    scope: 'anonymization:use',
    group: 'Data',
    load: async () => (await import('./pages/privacy.js')).Privacy,
  },
  { path: 'prompts', title: 'Prompts', scope: 'ai:read', group: 'Data', load: async () => (await import('./pages/prompts.js')).Prompts },
  { path: 'events', title: 'Events', scope: 'events:read', group: 'Operate', load: async () => (await import('./pages/events.js')).Events },
  {
    path: 'webhooks',
    title: 'Webhooks',
    scope: 'events:admin',
    group: 'Operate',
    load: async () => (await import('./pages/webhooks.js')).Webhooks,
  },
  { path: 'bus', title: 'Message bus', scope: 'bus:read', group: 'Operate', load: async () => (await import('./pages/bus.js')).Bus },
  { path: 'logs', title: 'Logs', scope: 'logs:read', group: 'Operate', load: async () => (await import('./pages/logs.js')).Logs },
  { path: 'keys', title: 'API keys', scope: 'auth:admin', group: 'Security', load: async () => (await import('./pages/keys.js')).Keys },
  {
    path: 'access',
    title: 'Users and clients',
    scope: 'auth:admin',
    group: 'Security',
    load: async () => (await import('./pages/access.js')).Access,
  },
  {
    path: 'policies',
    title: 'Policies',
    scope: 'policies:read',
    group: 'Security',
    load: async () => (await import('./pages/policies.js')).Policies,
  },
  { path: 'audit', title: 'Audit log', scope: 'audit:read', group: 'Security', load: async () => (await import('./pages/audit.js')).Audit },
  {
    path: 'tenants',
    title: 'Tenants',
    scope: 'tenants:admin',
    group: 'Security',
    load: async () => (await import('./pages/tenants.js')).Tenants,
  },
];

/** `#/datasets/ds_1?x` → `['datasets', 'ds_1']`. */
export function currentPath(): string[] {
  return location.hash.replace(/^#\/?/, '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
}
