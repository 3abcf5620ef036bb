import type { EnvelopeOf, Job } from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type RequestOptions } from '../core.js';
import { LoamError } from '../errors.js';
import { type WaitOptions, pollUntil } from './content.js';

/** A job ended in the `dead` state; `job.last_error` says why. */
export class JobFailedError extends LoamError {
  override name = 'JobFailedError';
  constructor(readonly job: Job) {
    super(`Job ${job.id} (${job.kind}) failed: ${job.last_error ?? 'unknown error'}`);
  }
}

/** Asynchronous work (`/api/v1/jobs/{id}`): imports, exports, anonymization runs. */
export class Jobs extends APIResource {
  /** @example const job = await loam.jobs.get('job_01…'); job.status */
  get(id: string, options?: Pick<RequestOptions, 'signal' | 'timeout'>): APIPromise<Job> {
    return dataOf(this.client.request<EnvelopeOf<Job>>('GET', path`/api/v1/jobs/${id}`, options));
  }

  /**
   * Polls until the job succeeds (resolves with it) or dies (throws {@link JobFailedError}).
   * `onPoll` sees each state, e.g. to show import progress from `job.result`.
   * @example const job = await loam.jobs.wait(id, { onPoll: (j) => console.log(j.status) }); job.result
   */
  wait(id: string, options: WaitOptions & { onPoll?: (job: Job) => void } = {}): Promise<Job> {
    return pollUntil(
      () => this.get(id, { signal: options.signal }),
      options,
      (job) => {
        options.onPoll?.(job);
        if (job.status === 'succeeded') return true;
        if (job.status === 'dead') throw new JobFailedError(job);
        return false;
      },
      `job ${id}`,
    );
  }
}
