/** Extraction failed for a reason the user should read (unsupported type, corrupt file, …); not retried. */
export class ExtractionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtractionError';
  }
}
