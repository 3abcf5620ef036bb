import type { LoamCore, Query } from './core.js';

/** One page of a list. Iterate `items`; `raw` is the response body exactly as the server sent it. */
export class Page<Item> {
  constructor(
    readonly items: Item[],
    /** The token (Atriumn `nextToken`) or cursor (`/api/v1`) of the next page; undefined on the last page. */
    readonly nextPageToken: string | undefined,
    readonly raw: unknown,
    private readonly load: (token?: string) => Promise<Page<Item>>,
    /** Total matching items, when the list was asked to count (`count: true`). */
    readonly totalCount?: number,
  ) {}

  hasNextPage(): boolean {
    return this.nextPageToken !== undefined;
  }

  /** @example let page = await loam.content.list(); while (page.hasNextPage()) page = await page.getNextPage(); */
  getNextPage(): Promise<Page<Item>> {
    if (this.nextPageToken === undefined) throw new Error('No next page: check hasNextPage() first');
    return this.load(this.nextPageToken);
  }
}

/**
 * What every `list` method returns: `await` it for the first page, or iterate it to walk every
 * item of every page, fetching pages as needed. Works the same for both pagination styles.
 * @example
 * for await (const item of loam.content.list({ status: 'COMPLETED' })) console.log(item.id);
 * for await (const page of loam.content.list().pages()) console.log(page.items.length);
 */
export class PagePromise<Item> implements PromiseLike<Page<Item>>, AsyncIterable<Item> {
  private first?: Promise<Page<Item>>;

  constructor(private readonly load: (token?: string) => Promise<Page<Item>>) {}

  // biome-ignore lint/suspicious/noThenProperty: a PagePromise is awaited for its first page on purpose
  then<R1 = Page<Item>, R2 = never>(
    onfulfilled?: ((value: Page<Item>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.first ??= this.load();
    return this.first.then(onfulfilled, onrejected);
  }

  /** Every page in order, starting with the first. */
  async *pages(): AsyncGenerator<Page<Item>, void, undefined> {
    let page: Page<Item> = await this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** Collects every item (mind large lists). @example const all = await loam.prompts.list().toArray(); */
  async toArray(): Promise<Item[]> {
    const all: Item[] = [];
    for await (const item of this) all.push(item);
    return all;
  }
}

/** A list in Atriumn style: `{<itemsKey>: [...], nextToken}`; an absent or empty `nextToken` ends it. */
export function tokenList<Item>(client: LoamCore, path: string, itemsKey: string, query: Query = {}): PagePromise<Item> {
  const load = async (token?: string): Promise<Page<Item>> => {
    const body = await client.request<Record<string, unknown>>('GET', path, { query: { ...query, nextToken: token } });
    const next = typeof body?.nextToken === 'string' && body.nextToken ? body.nextToken : undefined;
    return new Page((body?.[itemsKey] as Item[] | undefined) ?? [], next, body, load);
  };
  return new PagePromise(load);
}

interface Envelope {
  data?: unknown;
  pagination?: { cursor?: string; has_more?: boolean; total_count?: number };
}

/** A list in `/api/v1` style: the envelope's `data` array, continued by `pagination.cursor`. */
export function cursorList<Item>(
  client: LoamCore,
  path: string,
  query: Query = {},
  post?: { body: Record<string, unknown> },
): PagePromise<Item> {
  const load = async (cursor?: string): Promise<Page<Item>> => {
    const body = post
      ? await client.request<Envelope>('POST', path, { query, body: { ...post.body, ...(cursor ? { cursor } : {}) } })
      : await client.request<Envelope>('GET', path, { query: { ...query, cursor } });
    const p = body?.pagination;
    const next = p?.has_more && p.cursor ? p.cursor : undefined;
    return new Page((body?.data as Item[] | undefined) ?? [], next, body, load, p?.total_count);
  };
  return new PagePromise(load);
}
