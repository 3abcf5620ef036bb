/**
 * The Node.js entry: everything of `@loam/sdk`, plus uploads from file paths.
 * @example
 * import { Loam } from '@loam/sdk/node';
 * const loam = new Loam();
 * await loam.content.ingestFile('./report.pdf', { wait: true });
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Loam as BaseLoam } from './client.js';
import type { LoamOptions } from './core.js';
import { type UploadSource, guessContentType } from './uploads.js';

export * from './index.js';
export { exec, type ExecOptions, type ExecResult } from './exec.js';

/** Opens a file for upload without reading it into memory (the bytes stream from disk; a retry re-reads them). */
export async function fileFromPath(path: string, contentType?: string): Promise<UploadSource> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  const name = basename(path);
  const type = contentType ?? guessContentType(name);
  const blob = await openAsBlob(path, { type });
  return { body: blob, size: info.size, name, type };
}

/** {@link BaseLoam} that also accepts file paths wherever it accepts uploads. */
export class Loam extends BaseLoam {
  constructor(options: LoamOptions = {}) {
    super(options);
    this.fileResolver = (path) => fileFromPath(path);
  }
}
export default Loam;
