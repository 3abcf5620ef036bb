import type { Executor } from '../../platform/db/index.js';
import type { Platform } from '../../platform/index.js';
import { type JobContext, PermanentJobError } from '../../platform/jobs/queue.js';
import type { ContentService } from '../content/service.js';
import type { LlmService } from '../llm/service.js';
import { chunkText } from './chunker.js';
import type { DocumentRow, KnowledgeStore } from './store.js';

/** The workflow's steps, one job kind each: extract → chunk → embed → index. */
export const STEP_JOBS = {
  extract: 'knowledge.extract',
  chunk: 'knowledge.chunk',
  embed: 'knowledge.embed',
  index: 'knowledge.index',
} as const;
type Step = keyof typeof STEP_JOBS;
const NEXT: Record<Step, Step | undefined> = { extract: 'chunk', chunk: 'embed', embed: 'index', index: undefined };

export interface StepPayload {
  tenantId: string;
  documentId: string;
}

/** Texts per embedding request. */
export const EMBED_BATCH = 64;
const MAX_ATTEMPTS = 4;

/**
 * The durable document workflow on the job queue. Each step commits its work, the enqueueing
 * of the next step and its own completion in one transaction, so a crash between steps resumes
 * at the step that did not commit (its job's lease expires and another worker claims it). A step
 * that fails is retried with backoff; after its last attempt (or at once, for a file that cannot
 * be read) the document is `failed` with the reason.
 */
export class KnowledgeWorkflow {
  constructor(
    private readonly platform: Platform,
    private readonly store: KnowledgeStore,
    private readonly content: ContentService,
    private readonly llm: LlmService,
  ) {}

  private get db() {
    return this.platform.database.db;
  }

  register(): void {
    for (const step of Object.keys(STEP_JOBS) as Step[]) {
      this.platform.jobs.register<StepPayload>(STEP_JOBS[step], (job) => this.run(step, job), {
        maxAttempts: MAX_ATTEMPTS,
        backoffMs: 500,
      });
    }
  }

  private async run(step: Step, job: JobContext<StepPayload>): Promise<void> {
    const { tenantId, documentId } = job.job.payload;
    const doc = await this.store.document(this.db, tenantId, documentId);
    if (!doc) return; // deleted meanwhile
    try {
      await this[step](doc, job);
    } catch (err) {
      const permanent = err instanceof PermanentJobError || job.job.attempts >= job.job.maxAttempts;
      if (permanent) {
        const reason = `${step} failed: ${(err as Error).message}`.slice(0, 1000);
        await this.store.setDocument(this.db, tenantId, documentId, {
          status: 'failed',
          error: reason,
          updated_at: this.platform.clock.now(),
        });
      }
      throw err;
    }
  }

  /** Commits the step's work with the next step's job and this job's completion. */
  private async commit(doc: DocumentRow, job: JobContext<StepPayload>, step: Step, work: (tx: Executor) => Promise<void>): Promise<void> {
    await this.platform.transaction(async (tx) => {
      await work(tx);
      const next = NEXT[step];
      if (next)
        await this.platform.jobs.enqueue(tx, STEP_JOBS[next], job.job.payload, {
          tenantId: doc.tenant_id,
          key: `${STEP_JOBS[next]}:${doc.id}`,
        });
      await job.complete(tx);
    });
  }

  private async extract(doc: DocumentRow, job: JobContext<StepPayload>): Promise<void> {
    await this.store.setDocument(this.db, doc.tenant_id, doc.id, {
      status: 'processing',
      error: null,
      updated_at: this.platform.clock.now(),
    });
    if (!doc.blob_key) throw new PermanentJobError('the document has no file');
    const bytes = await this.platform.blob.read(doc.blob_key, { maxBytes: this.platform.config.storageMaxFileBytes });
    if (!bytes) throw new PermanentJobError('the file was not found in storage');
    let text: string;
    let markdown: boolean;
    try {
      const extracted = await this.content.extractText(bytes, doc.content_type, doc.filename);
      markdown = extracted.markdown;
      // Markdown is chunked from its source: its headings give each chunk its heading path.
      text = markdown ? bytes.toString('utf8').replace(/\r\n?/g, '\n') : extracted.text;
    } catch (err) {
      if ((err as Error).name === 'ExtractionError') throw new PermanentJobError((err as Error).message);
      throw err;
    }
    if (!text.trim()) throw new PermanentJobError('the file holds no text');
    await this.commit(doc, job, 'extract', (tx) =>
      this.store
        .setDocument(tx, doc.tenant_id, doc.id, { text, markdown: markdown ? 1 : 0, updated_at: this.platform.clock.now() })
        .then(() => {}),
    );
  }

  private async chunk(doc: DocumentRow, job: JobContext<StepPayload>): Promise<void> {
    const collection = await this.store.collection(this.db, doc.tenant_id, doc.collection_id);
    const text = await this.store.documentText(this.db, doc.tenant_id, doc.id);
    if (!collection || text === null) throw new PermanentJobError('the document has no extracted text');
    const chunks = chunkText(text, {
      chunkTokens: collection.chunk_tokens,
      overlapTokens: collection.overlap_tokens,
      markdown: doc.markdown === 1,
    });
    const now = this.platform.clock.now();
    await this.commit(doc, job, 'chunk', async (tx) => {
      await this.store.deleteChunks(tx, doc.tenant_id, doc.id);
      await this.store.insertChunks(
        tx,
        doc,
        chunks.map((c) => ({
          id: `${doc.id}_${c.position}`,
          position: c.position,
          heading_path: c.headingPath,
          page: c.page,
          tokens: c.tokens,
          text: c.text,
        })),
      );
      await this.store.setDocument(tx, doc.tenant_id, doc.id, { status: 'processing', chunk_count: chunks.length, updated_at: now });
    });
  }

  private async embed(doc: DocumentRow, job: JobContext<StepPayload>): Promise<void> {
    const collection = await this.store.collection(this.db, doc.tenant_id, doc.collection_id);
    const chunks = await this.store.chunksOf(this.db, doc.tenant_id, doc.id);
    const vectors: { id: string; vector: number[] }[] = [];
    if (collection?.embedding_model) {
      for (let i = 0; i < chunks.length; i += EMBED_BATCH) {
        const batch = chunks.slice(i, i + EMBED_BATCH);
        const r = await this.llm.embed({ model: collection.embedding_model, input: batch.map((c) => c.text) }, { signal: job.signal });
        for (const [j, c] of batch.entries()) vectors.push({ id: c.id, vector: r.embeddings[j] });
      }
    }
    await this.commit(doc, job, 'embed', async (tx) => {
      for (const v of vectors) await this.store.setEmbedding(tx, v.id, v.vector);
    });
  }

  private async index(doc: DocumentRow, job: JobContext<StepPayload>): Promise<void> {
    const chunks = await this.store.chunksOf(this.db, doc.tenant_id, doc.id);
    await this.commit(doc, job, 'index', async (tx) => {
      for (const c of chunks) await this.store.indexChunk(tx, doc.tenant_id, c.id, indexedText(c));
      await this.store.setDocument(tx, doc.tenant_id, doc.id, { status: 'indexed', error: null, updated_at: this.platform.clock.now() });
    });
  }
}

/** What the full-text index holds for a chunk: its headings (they name its subject) and text. */
export const indexedText = (c: { heading_path: string[]; text: string }): string =>
  c.heading_path.length ? `${c.heading_path.join(' › ')}\n${c.text}` : c.text;
