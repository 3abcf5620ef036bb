import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../platform/errors.js';
import { RawBody } from '../../../platform/http/lazy-compilers.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { Platform } from '../../../platform/index.js';
import { BULK_MIN_BYTES, JSON_PARSE_OPTIONS, parseNdjson } from '../bulk.js';
import type { DatasetService } from '../services/datasets.js';
import type { DatasetTransfers } from '../transfers.js';

import { NDJSON } from './shared.js';
import { datasetResourceRoutes } from './datasets.js';
import { indexRoutes } from './indexes.js';
import { lineageRoutes } from './lineage.js';
import { recordRoutes } from './records.js';
import { statsRoutes } from './stats.js';
import { transferRoutes } from './transfers.js';
import { versionRoutes } from './versions.js';

const isImportRoute = (request: FastifyRequest) => (request.routeOptions.url ?? '').endsWith('/records/import');

/** A bulk insert large enough to be parsed off the event loop (a JSON body only if it is an array). */
function isLargeInsert(request: FastifyRequest, body: Buffer, format: RawBody['format']): boolean {
  if (request.method !== 'POST' || request.routeOptions.url !== '/api/v1/datasets/:id/records' || body.length < BULK_MIN_BYTES)
    return false;
  if (format === 'ndjson') return true;
  let i = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09) i++;
  return body[i] === 0x5b; // '['; an object may be a request envelope, parsed as usual
}

/** The datasets API (one file per resource beside this one), with its own body parsers. */
export async function datasetRoutes(
  app: LoamApp,
  platform: Platform,
  datasets: DatasetService,
  transfers: DatasetTransfers,
): Promise<void> {
  await app.register(async (instance) => {
    const scope = instance as unknown as LoamApp;
    // Encapsulated: these parsers serve only the dataset routes. Imports keep the raw file; a large
    // bulk insert is handed to its handler unparsed (parsed on a worker thread, bulk.ts).
    const parseJson = scope.getDefaultJsonParser(JSON_PARSE_OPTIONS.protoAction, JSON_PARSE_OPTIONS.constructorAction);
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      if (isLargeInsert(request, body as Buffer, 'json')) return done(null, new RawBody(body as Buffer, 'json'));
      parseJson(request, (body as Buffer).toString('utf8'), done);
    });
    scope.addContentTypeParser(NDJSON, { parseAs: 'buffer' }, (request, body, done) => {
      if (isImportRoute(request)) return done(null, body);
      if (isLargeInsert(request, body as Buffer, 'ndjson')) return done(null, new RawBody(body as Buffer, 'ndjson'));
      try {
        done(null, parseNdjson((body as Buffer).toString('utf8')));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    scope.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'buffer' }, (request, body, done) => {
      if (!isImportRoute(request)) return done(new AppError('unsupported_media_type', 415, 'CSV is accepted only by records/import'));
      done(null, body);
    });

    datasetResourceRoutes(scope, datasets);
    statsRoutes(scope, datasets);
    lineageRoutes(scope, datasets);
    versionRoutes(scope, datasets);
    recordRoutes(scope, datasets);
    indexRoutes(scope, datasets);
    transferRoutes(scope, platform, transfers);
  });
}
