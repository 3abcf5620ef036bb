import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Option, bool, int, str, streamingOptions } from './config-options.js';

export const options = {
  host: { env: 'LOAM_HOST', schema: str('127.0.0.1'), doc: 'Address the HTTP server listens on' },
  port: { env: 'LOAM_PORT', schema: int(8080, 0, 65535), doc: 'HTTP port (0 = any free port)' },
  publicUrl: {
    env: 'LOAM_PUBLIC_URL',
    schema: str(''),
    doc: 'Base URL clients reach Loam at, used in pre-signed URLs (default http://HOST:PORT)',
  },
  dataDir: { env: 'LOAM_DATA_DIR', schema: str('./data'), doc: 'Directory for SQLite, blobs and key files' },
  databaseUrl: {
    env: 'LOAM_DATABASE_URL',
    schema: str(''),
    doc: 'postgres://… to use PostgreSQL; empty = SQLite in the data directory',
    secret: true,
  },
  databasePoolMax: { env: 'LOAM_DATABASE_POOL_MAX', schema: int(10, 1, 1000), doc: 'PostgreSQL pool size' },
  migrate: { env: 'LOAM_MIGRATE', schema: bool(true), doc: '`loam serve` applies pending migrations on start' },
  logLevel: {
    env: 'LOAM_LOG_LEVEL',
    schema: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    doc: 'fatal, error, warn, info, debug, trace or silent',
  },
  redisUrl: {
    env: 'LOAM_REDIS_URL',
    schema: str(''),
    doc: 'redis://… to share rate limits (and later caches) between instances',
    secret: true,
  },
  natsUrl: {
    env: 'LOAM_NATS_URL',
    schema: str(''),
    doc: 'nats://… to also publish every committed event to NATS JetStream (stream LOAM_EVENTS, subjects loam.events.<tenant>.<type>)',
    secret: true,
  },
  secretKey: {
    env: 'LOAM_SECRET_KEY',
    schema: str(''),
    doc: 'Server secret (≥ 32 chars) for signatures and cursors; generated into the data directory when empty',
    secret: true,
  },
  adminApiKey: {
    env: 'LOAM_ADMIN_API_KEY',
    schema: str(''),
    doc: 'On first start, use this value as the admin API key instead of generating and printing one',
    secret: true,
  },
  apiKeyCacheMs: {
    env: 'LOAM_API_KEY_CACHE_MS',
    schema: int(2000, 0, 10_000),
    doc: 'How long an instance reuses a verified API key without reading the database (0 = every request reads it); revoking or rotating takes effect at once on the instance that did it, within this time on the others',
  },
  corsOrigins: {
    env: 'LOAM_CORS_ORIGINS',
    schema: str(''),
    doc: 'Comma-separated allowed CORS origins, `*` for any; empty disables CORS',
  },
  bodyLimit: { env: 'LOAM_BODY_LIMIT', schema: int(16 * 1024 * 1024, 1024), doc: 'Largest request body in bytes' },
  requestTimeoutMs: {
    env: 'LOAM_REQUEST_TIMEOUT_MS',
    schema: int(300_000, 100),
    doc: 'Longest time to receive a whole request, headers and body (408 and the connection closed beyond)',
  },
  bodyTimeoutMs: {
    env: 'LOAM_BODY_TIMEOUT_MS',
    schema: int(30_000, 100),
    doc: 'Longest pause while a request body is arriving (408 and the connection closed beyond)',
  },
  trustProxy: { env: 'LOAM_TRUST_PROXY', schema: bool(false), doc: 'Trust X-Forwarded-* headers (behind a proxy)' },
  atriumnPrefix: {
    env: 'LOAM_ATRIUMN_PREFIX',
    schema: Type.String({ default: '', pattern: '^(/[A-Za-z0-9._~-]+)*$' }),
    doc: 'Extra path prefix under which the Atriumn routes are also served, e.g. /atriumn',
  },
  rateLimitEnabled: { env: 'LOAM_RATE_LIMIT_ENABLED', schema: bool(true), doc: 'Enforce per-route rate limits' },
  rateLimitMultiplier: {
    env: 'LOAM_RATE_LIMIT_MULTIPLIER',
    schema: Type.Number({ default: 1, exclusiveMinimum: 0 }),
    doc: 'Multiplies every rate limit (tests and benchmarks raise it)',
  },
  jobConcurrency: { env: 'LOAM_JOB_CONCURRENCY', schema: int(4, 0, 256), doc: 'Jobs run at once per process (0 = no workers)' },
  jobPollMs: { env: 'LOAM_JOB_POLL_MS', schema: int(500, 10), doc: 'How often idle workers look for due jobs' },
  jobLeaseMs: { env: 'LOAM_JOB_LEASE_MS', schema: int(30_000, 100), doc: 'A job whose worker is silent this long is retried' },
  relayLeaseMs: {
    env: 'LOAM_RELAY_LEASE_MS',
    schema: int(30_000, 100),
    doc: 'An event relay silent this long (crashed) hands its subscribers over to another instance',
  },
  relayPollMs: { env: 'LOAM_RELAY_POLL_MS', schema: int(250, 10), doc: 'How often the event relay looks for new events' },
  shutdownTimeoutMs: {
    env: 'LOAM_SHUTDOWN_TIMEOUT_MS',
    schema: int(10_000, 0),
    doc: 'Deadline for graceful shutdown on SIGTERM',
  },
  // identity module: users, tokens, machine credentials, mail, external OpenID Connect issuer
  jwtSecret: {
    env: 'LOAM_JWT_SECRET',
    schema: str(''),
    doc: 'HS256 secret (≥ 32 chars) for access and id tokens; empty = derived from the server secret',
    secret: true,
  },
  jwtSigningAlg: {
    env: 'LOAM_JWT_SIGNING_ALG',
    schema: Type.Union(
      ['HS256', 'EdDSA', 'RS256'].map((a) => Type.Literal(a)),
      { default: 'HS256' },
    ),
    doc: 'Algorithm of new tokens: HS256, or EdDSA / RS256 with rotating keys published at /.well-known/jwks.json',
  },
  accessTokenTtlSec: {
    env: 'LOAM_ACCESS_TOKEN_TTL_SEC',
    schema: int(3600, 60, 604_800),
    doc: "Lifetime of the access and id tokens Loam issues (`expires_in`); the data-vault gateway's 24 h is 86400. Tokens this long are accepted whatever LOAM_JWT_MAX_LIFETIME_SEC says",
  },
  jwtMaxLifetimeSec: {
    env: 'LOAM_JWT_MAX_LIFETIME_SEC',
    schema: int(3600, 60),
    doc: 'Longest lifetime (exp − iat) of an access token Loam accepts; tokens issued in the future (iat beyond the 60 s skew) are refused too',
  },
  jwtIssuer: { env: 'LOAM_JWT_ISSUER', schema: str('loam'), doc: '`iss` of the tokens Loam issues (and requires)' },
  jwtAudience: { env: 'LOAM_JWT_AUDIENCE', schema: str('loam'), doc: '`aud` of the tokens Loam issues (and requires)' },
  tokenRevocationSyncMs: {
    env: 'LOAM_TOKEN_REVOCATION_SYNC_MS',
    schema: int(1000, 10, 60_000),
    doc: 'How often an instance picks up token revocations (logout, password change) made by other instances',
  },
  refreshTokenTtlDays: {
    env: 'LOAM_REFRESH_TOKEN_TTL_DAYS',
    schema: int(30, 1, 3650),
    doc: 'Lifetime of a refresh-token family (days since login)',
  },
  userDefaultScopes: {
    env: 'LOAM_USER_DEFAULT_SCOPES',
    schema: str('ai storage ingest'),
    doc: 'Space-separated scopes of the access tokens of signed-in users',
  },
  smtpUrl: {
    env: 'LOAM_SMTP_URL',
    schema: str(''),
    doc: 'smtp://user:pass@host:port (smtps:// for TLS) to send mail; empty = development mailbox at /api/v1/admin/mailbox',
    secret: true,
  },
  mailFrom: { env: 'LOAM_MAIL_FROM', schema: str('Loam <no-reply@localhost>'), doc: 'Sender of confirmation and reset mail' },
  oidcIssuer: {
    env: 'LOAM_OIDC_ISSUER',
    schema: str(''),
    doc: 'Trust bearer tokens of this OpenID Connect issuer (keys from its discovery document); empty = none',
  },
  oidcAudience: { env: 'LOAM_OIDC_AUDIENCE', schema: str(''), doc: 'Required `aud` of external OIDC tokens (empty = not checked)' },
  oidcTenantClaim: {
    env: 'LOAM_OIDC_TENANT_CLAIM',
    schema: str('tenant_id'),
    doc: 'Claim of external OIDC tokens naming the tenant (absent = default tenant)',
  },
  oidcRolesClaim: { env: 'LOAM_OIDC_ROLES_CLAIM', schema: str('groups'), doc: 'Claim of external OIDC tokens listing the roles' },
  // storage and content modules: blob store, pre-signed URLs, quotas, URL fetching
  blobStore: {
    env: 'LOAM_BLOB_STORE',
    schema: Type.Union(
      ['local', 's3'].map((a) => Type.Literal(a)),
      { default: 'local' },
    ),
    doc: 'Where uploaded files live: `local` (the data directory; Loam serves the pre-signed URLs) or `s3`',
  },
  s3Endpoint: { env: 'LOAM_S3_ENDPOINT', schema: str(''), doc: 'S3-compatible endpoint URL (MinIO, R2, …); empty = AWS' },
  s3Region: { env: 'LOAM_S3_REGION', schema: str('us-east-1'), doc: 'S3 region' },
  s3Bucket: { env: 'LOAM_S3_BUCKET', schema: str('loam'), doc: 'S3 bucket holding every object' },
  s3ForcePathStyle: { env: 'LOAM_S3_FORCE_PATH_STYLE', schema: bool(false), doc: 'Path-style S3 URLs (MinIO and most self-hosted stores)' },
  s3AccessKeyId: {
    env: 'LOAM_S3_ACCESS_KEY_ID',
    schema: str(''),
    doc: 'S3 access key id; empty = the AWS default credential chain',
    secret: true,
  },
  s3SecretAccessKey: { env: 'LOAM_S3_SECRET_ACCESS_KEY', schema: str(''), doc: 'S3 secret access key', secret: true },
  presignExpirySec: {
    env: 'LOAM_PRESIGN_EXPIRY_SEC',
    schema: int(900, 1, 7 * 24 * 3600),
    doc: 'Lifetime of pre-signed upload and download URLs in seconds (max 7 days)',
  },
  storageMaxFileBytes: { env: 'LOAM_STORAGE_MAX_FILE_BYTES', schema: int(100 * 1024 * 1024, 1), doc: 'Largest file a tenant may upload' },
  storageTenantQuotaBytes: {
    env: 'LOAM_STORAGE_TENANT_QUOTA_BYTES',
    schema: int(10 * 1024 * 1024 * 1024, 1),
    doc: 'Bytes of stored files per tenant',
  },
  contentMaxTextBytes: {
    env: 'LOAM_CONTENT_MAX_TEXT_BYTES',
    schema: int(1024 * 1024, 1),
    doc: 'Largest inline text ingested (UTF-8 bytes)',
  },
  contentMaxUrlLength: {
    env: 'LOAM_CONTENT_MAX_URL_LENGTH',
    schema: int(2048, 10),
    doc: 'Longest URL accepted for ingestion or callbacks',
  },
  contentExtractTimeoutMs: {
    env: 'LOAM_CONTENT_EXTRACT_TIMEOUT_MS',
    schema: int(300_000, 100),
    doc: 'Deadline to extract the text of one document (in a worker thread); past it the item fails',
  },
  contentExtractMemoryMb: {
    env: 'LOAM_CONTENT_EXTRACT_MEMORY_MB',
    schema: int(256, 32, 16_384),
    doc: 'Heap cap (MB) of the worker thread extracting one document; past it the item fails',
  },
  contentExtractWorkers: {
    env: 'LOAM_CONTENT_EXTRACT_WORKERS',
    schema: int(1, 1, 64),
    doc: 'Worker threads extracting documents at once per process (others wait their turn)',
  },
  contentMaxExtractedChars: {
    env: 'LOAM_CONTENT_MAX_EXTRACTED_CHARS',
    schema: int(20_000_000, 1000),
    doc: 'Longest extracted text kept per item (characters); a longer text is cut and the item gets a warning',
  },
  contentOcr: {
    env: 'LOAM_OCR',
    schema: Type.Union(
      ['off', 'tesseract'].map((a) => Type.Literal(a)),
      { default: 'off' },
    ),
    doc: 'OCR of images and image-only PDFs: `off` or `tesseract` (runs the `tesseract` command)',
  },
  contentMaxItems: { env: 'LOAM_CONTENT_MAX_ITEMS', schema: int(10_000, 1), doc: 'Content items per tenant' },
  fetchTimeoutMs: { env: 'LOAM_FETCH_TIMEOUT_MS', schema: int(10_000, 100), doc: 'Timeout of one URL fetch, redirects included' },
  fetchMaxBytes: { env: 'LOAM_FETCH_MAX_BYTES', schema: int(100 * 1024 * 1024, 1), doc: 'Largest response body fetched from a URL' },
  // policies and audit modules: Cedar authorization, policy management, audit log
  policyCacheSize: {
    env: 'LOAM_POLICY_CACHE_SIZE',
    schema: int(10_000, 1),
    doc: 'Authorization decisions kept in memory per instance (keyed by policy-set version and request)',
  },
  policyRefreshMs: {
    env: 'LOAM_POLICY_REFRESH_MS',
    schema: int(1000, 0),
    doc: 'How often an instance checks the database for policy changes made through another instance',
  },
  policiesMaxPerTenant: { env: 'LOAM_POLICIES_MAX_PER_TENANT', schema: int(1000, 1), doc: 'Cedar policies per tenant' },
  opaUrl: {
    env: 'LOAM_OPA_URL',
    schema: str(''),
    doc: 'http://… of an Open Policy Agent server the access check also asks (its Data API); empty = Cedar only. Denies when OPA denies or cannot be reached',
    secret: true,
  },
  opaPolicyPath: {
    env: 'LOAM_OPA_POLICY_PATH',
    schema: str('loam/authz/allow'),
    doc: 'The OPA document asked: POST /v1/data/<path> with input {subject, resource, action, context}; true or {allow: true} allows',
  },
  opaTimeoutMs: { env: 'LOAM_OPA_TIMEOUT_MS', schema: int(500, 1), doc: 'How long the access check waits for OPA before it denies' },
  opaCacheTtlMs: {
    env: 'LOAM_OPA_CACHE_TTL_MS',
    schema: int(5000, 0),
    doc: 'How long an OPA decision is reused for the same input (the local policy cache; 0 = ask every time)',
  },
  // prompts and llm modules: prompt quotas, LLM providers, retries, timeouts
  promptsMaxPerTenant: { env: 'LOAM_PROMPTS_MAX_PER_TENANT', schema: int(1000, 1), doc: 'Prompts per tenant (403 quota_exceeded beyond)' },
  promptsMaxTemplateBytes: {
    env: 'LOAM_PROMPTS_MAX_TEMPLATE_BYTES',
    schema: int(100 * 1024, 1),
    doc: 'Largest prompt template in UTF-8 bytes (413 payload_too_large beyond)',
  },
  llmProviders: {
    env: 'LOAM_LLM_PROVIDERS',
    schema: Type.Union([Type.String(), Type.Array(Type.Record(Type.String(), Type.Unknown()))], { default: '' }),
    doc: 'Named LLM providers as a JSON array: [{"name","kind":"openai|azure|ollama","baseUrl","apiKey","models":[…],"deployment","apiVersion"}] (see docs/prompts.md)',
    secret: true,
  },
  llmDefaultModel: {
    env: 'LOAM_LLM_DEFAULT_MODEL',
    schema: str(''),
    doc: 'Model for prompts without modelId (default: the first listed model)',
  },
  llmEmbeddingModel: { env: 'LOAM_LLM_EMBEDDING_MODEL', schema: str(''), doc: 'Model used for embeddings when a caller names none' },
  llmTimeoutMs: {
    env: 'LOAM_LLM_TIMEOUT_MS',
    schema: int(60_000, 100, 600_000),
    doc: 'Deadline of one LLM call, retries included (504 llm_timeout)',
  },
  llmMaxRetries: { env: 'LOAM_LLM_MAX_RETRIES', schema: int(2, 0, 10), doc: 'Retries of an LLM call after 429, 5xx or a network error' },
  llmRetryBaseMs: {
    env: 'LOAM_LLM_RETRY_BASE_MS',
    schema: int(500, 1),
    doc: 'First retry delay; doubles on each retry (Retry-After wins when longer)',
  },
  llmRetryMaxDelayMs: {
    env: 'LOAM_LLM_RETRY_MAX_DELAY_MS',
    schema: int(30_000, 0),
    doc: 'Longest wait before a retry; a longer Retry-After fails the call at once',
  },
  llmBreakerFailures: {
    env: 'LOAM_LLM_BREAKER_FAILURES',
    schema: int(5, 1, 1000),
    doc: 'Consecutive failed attempts (429, 5xx, network) after which an LLM provider is skipped for a cooldown',
  },
  llmBreakerCooldownMs: {
    env: 'LOAM_LLM_BREAKER_COOLDOWN_MS',
    schema: int(30_000, 0),
    doc: 'How long a failing LLM provider is skipped before one call probes it again',
  },
  llmPrivacyMode: {
    env: 'LOAM_LLM_PRIVACY_MODE',
    schema: Type.Union(
      ['off', 'detect', 'redact', 'pseudonymize'].map((m) => Type.Literal(m)),
      { default: 'off' },
    ),
    doc: 'Default privacy of LLM gateway calls (off, detect, redact, pseudonymize); tenants and calls may choose another',
  },
  llmDailyTokenQuota: {
    env: 'LOAM_LLM_DAILY_TOKEN_QUOTA',
    schema: int(0, 0),
    doc: 'Default tokens per tenant and UTC day through the LLM gateway (0 = unlimited; 429 quota_exceeded beyond)',
  },
  llmOpenAiRateLimit: {
    env: 'LOAM_LLM_OPENAI_RATE_LIMIT',
    schema: int(600, 1),
    doc: 'Requests per minute per API key on the OpenAI-compatible routes (/v1/*)',
  },
  llmHeartbeatMs: { env: 'LOAM_LLM_HEARTBEAT_MS', schema: int(15_000, 10), doc: 'Heartbeat comment interval of streamed generations' },
  openaiApiKey: { env: 'LOAM_OPENAI_API_KEY', schema: str(''), doc: 'Shortcut: adds the provider `openai` with this key', secret: true },
  openaiBaseUrl: {
    env: 'LOAM_OPENAI_BASE_URL',
    schema: str(''),
    doc: 'Shortcut: base URL of the `openai` provider (any OpenAI-compatible server)',
  },
  openaiModels: { env: 'LOAM_OPENAI_MODELS', schema: str(''), doc: 'Comma-separated models of the `openai` provider (empty = any)' },
  ollamaUrl: {
    env: 'LOAM_OLLAMA_URL',
    schema: str(''),
    doc: 'Shortcut: adds the provider `ollama` at this URL, e.g. http://127.0.0.1:11434',
  },
  ollamaModels: { env: 'LOAM_OLLAMA_MODELS', schema: str(''), doc: 'Comma-separated models of the `ollama` provider (empty = any)' },
  // privacy module: PII detection limits, differential privacy, master key for encryption at rest
  privacyMaxTextBytes: {
    env: 'LOAM_PRIVACY_MAX_TEXT_BYTES',
    schema: int(2 * 1024 * 1024, 1),
    doc: 'Largest text or document analyzed or anonymized in one request (413 payload_too_large beyond)',
  },
  privacyDefaultEpsilon: {
    env: 'LOAM_PRIVACY_DEFAULT_EPSILON',
    schema: Type.Number({ default: 1, exclusiveMinimum: 0 }),
    doc: 'Differential-privacy ε budget of a dataset (or named budget) until an admin sets another',
  },
  kmsProvider: {
    env: 'LOAM_KMS_PROVIDER',
    schema: Type.Union(
      ['file', 'vault', 'aws-kms'].map((a) => Type.Literal(a)),
      { default: 'file' },
    ),
    doc: 'Master key for envelope encryption: `file` (<data dir>/master.key, mode 0600), `vault` (HashiCorp Vault transit) or `aws-kms`',
  },
  vaultAddr: { env: 'LOAM_VAULT_ADDR', schema: str(''), doc: 'Vault address, e.g. https://vault:8200 (kmsProvider vault)' },
  vaultToken: { env: 'LOAM_VAULT_TOKEN', schema: str(''), doc: 'Vault token allowed to use the transit key', secret: true },
  vaultTransitMount: { env: 'LOAM_VAULT_TRANSIT_MOUNT', schema: str('transit'), doc: 'Mount path of the transit engine' },
  vaultTransitKey: { env: 'LOAM_VAULT_TRANSIT_KEY', schema: str('loam'), doc: 'Transit key wrapping Loam data keys' },
  awsKmsKeyId: {
    env: 'LOAM_AWS_KMS_KEY_ID',
    schema: str(''),
    doc: 'AWS KMS key id or ARN (kmsProvider aws-kms; credentials from the AWS default chain)',
  },
  awsKmsRegion: { env: 'LOAM_AWS_KMS_REGION', schema: str('us-east-1'), doc: 'AWS KMS region' },
  awsKmsEndpoint: { env: 'LOAM_AWS_KMS_ENDPOINT', schema: str(''), doc: 'KMS-compatible endpoint URL (LocalStack, …); empty = AWS' },
  // datasets module
  datasetImportChunkSize: {
    env: 'LOAM_DATASET_IMPORT_CHUNK_SIZE',
    schema: int(1000, 1, 10_000),
    doc: 'Lines a dataset import commits per transaction (its unit of atomicity and of resumption)',
  },
  datasetExportUrlTtlSec: {
    env: 'LOAM_DATASET_EXPORT_URL_TTL_SEC',
    schema: int(3600, 60, 7 * 24 * 3600),
    doc: 'Seconds a dataset export download URL stays valid',
  },
  busMaxMessageBytes: {
    env: 'LOAM_BUS_MAX_MESSAGE_BYTES',
    schema: int(262_144, 16, 16 * 1024 * 1024),
    doc: 'Largest message `data` sent to a session (UTF-8 bytes of its JSON; 413 beyond)',
  },
  busHeartbeatMs: {
    env: 'LOAM_BUS_HEARTBEAT_MS',
    schema: int(15_000, 10),
    doc: 'Heartbeat interval of session streams (SSE comments, WebSocket pings)',
  },
  busTokenTtlSec: {
    env: 'LOAM_BUS_TOKEN_TTL_SEC',
    schema: int(60, 5, 3600),
    doc: 'Lifetime of the session tokens browsers pass as `?token=` to the stream and WebSocket',
  },
  busPurgeIntervalMs: {
    env: 'LOAM_BUS_PURGE_INTERVAL_MS',
    schema: int(60_000, 100),
    doc: 'How often the bus.purge job applies the retention rules (one job at a time across every process)',
  },
  busMaxBufferedBytes: {
    env: 'LOAM_BUS_MAX_BUFFERED_BYTES',
    schema: int(8 * 1024 * 1024, 65_536),
    doc: 'A stream subscriber this far behind (bytes queued for its socket) is cut off with an error event',
  },
  ...streamingOptions,
} satisfies Record<string, Option>;

type Options = typeof options;
export type Config = { [K in keyof Options]: Static<Options[K]['schema']> };

export class ConfigError extends Error {}

const ConfigSchema = Type.Object(
  Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.schema])) as {
    [K in keyof Options]: Options[K]['schema'];
  },
  { additionalProperties: false },
);

/** Reads an env string into the option's type; validation happens afterwards on the whole. */
function fromEnv(raw: string, schema: TSchema): unknown {
  const type = (schema as { type?: string }).type;
  if (type === 'integer' || type === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    return raw;
  }
  return raw;
}

/**
 * Builds the configuration: defaults < file (`LOAM_CONFIG`) < environment < overrides.
 * Fails with a ConfigError naming the option and its env var.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  let file: Record<string, unknown> = {};
  if (env.LOAM_CONFIG) {
    try {
      file = JSON.parse(readFileSync(resolve(env.LOAM_CONFIG), 'utf8'));
    } catch (err) {
      throw new ConfigError(`LOAM_CONFIG: cannot read ${env.LOAM_CONFIG}: ${(err as Error).message}`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file))
      throw new ConfigError(`LOAM_CONFIG: ${env.LOAM_CONFIG} must hold a JSON object`);
  }
  const merged: Record<string, unknown> = { ...file };
  for (const [key, opt] of Object.entries(options) as [keyof Options, Option][]) {
    const raw = env[opt.env];
    if (raw !== undefined) merged[key] = fromEnv(raw, opt.schema);
  }
  Object.assign(merged, overrides);
  const withDefaults = Value.Default(ConfigSchema, merged);
  const first = Value.Errors(ConfigSchema, withDefaults).First();
  if (first) {
    const key = first.path.split('/')[1] ?? '';
    const opt = (options as Record<string, Option>)[key];
    const where = opt ? `${key} (${opt.env})` : `${key || 'config'} (unknown option)`;
    const choices = opt ? literalsOf(opt.schema) : [];
    const message = choices.length ? `must be one of ${choices.join(', ')} (got ${JSON.stringify(first.value)})` : first.message;
    throw new ConfigError(`invalid configuration: ${where}: ${message}`);
  }
  const config = withDefaults as Config;
  const invalid = (key: keyof Config, message: string) =>
    new ConfigError(`invalid configuration: ${key} (${options[key].env}): ${message}`);
  if (config.secretKey && config.secretKey.length < 32) throw invalid('secretKey', 'must be at least 32 characters');
  if (config.databaseUrl && !isPostgresUrl(config.databaseUrl))
    throw invalid('databaseUrl', 'must be a PostgreSQL URL, postgres://user:password@host:5432/database (empty = SQLite)');
  if (config.kmsProvider === 'vault') {
    if (!config.vaultAddr) throw invalid('vaultAddr', 'is required with LOAM_KMS_PROVIDER=vault');
    if (!config.vaultToken) throw invalid('vaultToken', 'is required with LOAM_KMS_PROVIDER=vault');
  }
  if (config.kmsProvider === 'aws-kms' && !config.awsKmsKeyId) throw invalid('awsKmsKeyId', 'is required with LOAM_KMS_PROVIDER=aws-kms');
  return config;
}

/** The allowed values of an enum option (a union of literals); empty for any other option. */
function literalsOf(schema: TSchema): string[] {
  const anyOf = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (!anyOf?.every((s) => typeof s.const === 'string')) return [];
  return anyOf.map((s) => String(s.const));
}

function isPostgresUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** LOAM_* variables read elsewhere (the CLI's and SDK's client settings, the test suites). */
const OTHER_VARIABLES = [
  'LOAM_CONFIG',
  'LOAM_CONFIG_FILE',
  'LOAM_API_BASE_URL',
  'LOAM_API_KEY',
  'LOAM_CLIENT_ID',
  'LOAM_CLIENT_SECRET',
  'LOAM_CLIENT_SCOPE',
  'LOAM_REQUEST_TIMEOUT',
  'LOAM_DEBUG',
];

/** A warning for each LOAM_* variable no option reads, naming the closest known one. */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = [...Object.values(options).map((o: Option) => o.env), ...OTHER_VARIABLES];
  return Object.keys(env)
    .filter((name) => name.startsWith('LOAM_') && !name.startsWith('LOAM_TEST_') && !known.includes(name))
    .sort()
    .map((name) => {
      const closest = known.reduce((best, k) => (editDistance(name, k) < editDistance(name, best) ? k : best));
      const hint = editDistance(name, closest) <= Math.max(2, Math.floor(name.length / 4)) ? `; did you mean ${closest}?` : '';
      return `unknown variable ${name} is ignored${hint}`;
    });
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The effective configuration with every secret replaced, for the start-up log. */
export function redactConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => {
      const opt = (options as Record<string, Option>)[k];
      if (opt?.secret && v) {
        if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return [k, redactUrl(v)];
        return [k, '[redacted]'];
      }
      return [k, v];
    }),
  );
}

/** The options that differ from their defaults, secrets redacted: the start-up log line. */
export function startupConfig(config: Config): Record<string, unknown> {
  const defaults = Value.Default(ConfigSchema, {}) as Record<string, unknown>;
  const redacted = redactConfig(config);
  return Object.fromEntries(
    Object.entries(config)
      .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(defaults[k]))
      .map(([k]) => [k, redacted[k]]),
  );
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    // NATS takes a bare token as the user part (nats://<token>@host).
    else if (u.username && u.protocol.startsWith('nats')) u.username = '***';
    // Drivers also accept credentials as query parameters (?password=…, ?sslkey=…).
    for (const name of [...u.searchParams.keys()]) if (/pass|secret|token|key|credential/i.test(name)) u.searchParams.set(name, '***');
    return u.toString();
  } catch {
    return '[redacted]';
  }
}
