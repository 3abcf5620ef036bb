/** What `POST /auth/token` answers (the fields the cache needs). */
export interface IssuedToken {
  access_token: string;
  expires_in: number;
}

/** Refresh this long before expiry (Atriumn clients use the same margin). */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/**
 * Caches a client-credentials access token. It is fetched on first use, refreshed 5 minutes
 * before it expires (or halfway, for tokens shorter than 10 minutes), and dropped when the
 * server rejects it. Concurrent callers share one fetch, so a burst of requests — or a burst of
 * 401s — costs one token request.
 */
export class TokenCache {
  private token?: { value: string; refreshAt: number };
  private inflight?: Promise<string>;

  constructor(
    private readonly fetchToken: () => Promise<IssuedToken>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token, from the cache or freshly fetched. */
  get(): Promise<string> {
    if (this.token && this.now() < this.token.refreshAt) return Promise.resolve(this.token.value);
    if (!this.inflight) {
      this.inflight = this.fetchToken()
        .then((t) => {
          const lifetime = t.expires_in * 1000;
          const margin = Math.min(REFRESH_MARGIN_MS, lifetime / 2);
          this.token = { value: t.access_token, refreshAt: this.now() + lifetime - margin };
          return t.access_token;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  /** Forgets `rejected` if it is still the cached token (a newer one fetched meanwhile is kept). */
  invalidate(rejected: string): void {
    if (this.token?.value === rejected) this.token = undefined;
  }
}
