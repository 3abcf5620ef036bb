import type { EnvelopeOf, Whoami } from '@loam/api';
import { type APIPromise, LoamCore, type LoamOptions, dataOf } from './core.js';
import { Admin } from './resources/admin.js';
import { Anonymization } from './resources/anonymization.js';
import { ApiKeys } from './resources/api-keys.js';
import { AuditLogs } from './resources/audit-logs.js';
import { Auth } from './resources/auth.js';
import { Content } from './resources/content.js';
import { Credentials } from './resources/credentials.js';
import { Datasets } from './resources/datasets.js';
import { Governance } from './resources/governance.js';
import { Jobs } from './resources/jobs.js';
import { Llm } from './resources/llm.js';
import { Logs } from './resources/logs.js';
import { Policies } from './resources/policies.js';
import { Prompts } from './resources/prompts.js';
import { Records } from './resources/records.js';
import { Events, Webhooks } from './resources/events.js';
import { Collections, Documents, Knowledge } from './resources/knowledge.js';
import { type Broker, Sessions, broker } from './resources/sessions.js';
import { Storage } from './resources/storage.js';
import { Tenants } from './resources/tenants.js';
import { Versions } from './resources/versions.js';

/**
 * The Loam client. Every option also comes from the environment (`LOAM_API_BASE_URL`,
 * `LOAM_API_KEY`, `LOAM_CLIENT_ID` + `LOAM_CLIENT_SECRET`, `LOAM_REQUEST_TIMEOUT`, `LOAM_DEBUG`).
 * @example
 * import { Loam } from '@loam/sdk';
 * const loam = new Loam({ baseURL: 'http://127.0.0.1:8080', apiKey: process.env.LOAM_API_KEY });
 * const item = await loam.content.ingestText({ content: 'Hello, Loam' }, { wait: true });
 */
export class Loam extends LoamCore {
  readonly auth = new Auth(this);
  readonly credentials = new Credentials(this);
  readonly apiKeys = new ApiKeys(this);
  readonly policies = new Policies(this);
  readonly auditLogs = new AuditLogs(this);
  readonly storage = new Storage(this);
  readonly content = new Content(this);
  readonly prompts = new Prompts(this);
  readonly datasets = new Datasets(this);
  readonly versions = new Versions(this);
  readonly records = new Records(this);
  readonly anonymization = new Anonymization(this);
  readonly jobs = new Jobs(this);
  /** Operator tasks (scope `admin`): `users`, `signingKeys`, `mailbox`, `health()`, `rotateMasterKey()`. */
  readonly admin = new Admin(this);
  /** The session message bus (`/api/v1/sessions`). */
  readonly sessions = new Sessions(this);
  /** The event log: catalogue, lists, the live stream (`/api/v1/events`). */
  readonly events = new Events(this);
  /** Webhook endpoints and their deliveries (`/api/v1/webhooks`). */
  readonly webhooks = new Webhooks(this);

  /**
   * A broker typed by the events it carries: `send(sessionId, evt)` and `onMessage(sessionId, …)`.
   * @example
   * const bus = loam.bus<{ text: string }>();
   * await bus.send('chat:1', { text: 'hello' });
   */
  bus<T = unknown>(): Broker<T> {
    return broker<T>(this.sessions);
  }
  readonly llm = new Llm(this);
  /** The observatory: log records of executions (`/api/v1/logs`, `/api/v1/executions`). */
  readonly logs = new Logs(this);
  /** Compliance reports and policy evaluation. */
  readonly governance = new Governance(this);
  /** Tenants, for platform operators. */
  readonly tenants = new Tenants(this);
  /** Knowledge bases (`/api/v1/collections`). */
  readonly collections = new Collections(this);
  /** Documents of knowledge bases (`/api/v1/documents`). */
  readonly documents = new Documents(this);
  /** Search, answers with citations (`/api/v1/query`) and embeddings. */
  readonly knowledge = new Knowledge(this);

  /** Who this client is to the server: tenant, subject, scopes and roles. @example const { tenant_id } = await loam.whoami(); */
  whoami(options?: { signal?: AbortSignal; timeout?: number }): APIPromise<Whoami> {
    return dataOf(this.request<EnvelopeOf<Whoami>>('GET', '/api/v1/whoami', options));
  }

  /**
   * A new client with some options changed (its own token cache and metrics).
   * @example const asUser = loam.withOptions({ accessToken: tokens.access_token, apiKey: undefined });
   */
  withOptions(options: Partial<LoamOptions>): this {
    const merged = { ...this.options, baseURL: this.baseURL, ...options };
    if ('accessToken' in options || 'clientCredentials' in options) merged.apiKey = options.apiKey;
    if ('apiKey' in options || 'clientCredentials' in options) merged.accessToken = options.accessToken;
    if ('apiKey' in options || 'accessToken' in options) merged.clientCredentials = options.clientCredentials;
    const copy = new (this.constructor as new (o: LoamOptions) => this)(merged);
    copy.fileResolver = this.fileResolver;
    return copy;
  }
}
