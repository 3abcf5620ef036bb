import type { Session } from './session.js';

/** What every page gets (its own module, so that pages and the route table do not import each other). */
export interface PageProps {
  session: Session;
  /** The path after the page's own segment (`#/datasets/ds_1` → `['ds_1']`). */
  params: string[];
}

/** A link to a page: `href('datasets', id)` → `#/datasets/<id>`. */
export const href = (...segments: string[]) => `#/${segments.map(encodeURIComponent).join('/')}`;
