import type { FastifyRequest } from 'fastify';
export const read = { auth: { scopes: ['datasets:read'] } } as const;
export const write = { auth: { scopes: ['datasets:write'] } } as const;
export const tags = ['Datasets'];
export const NDJSON = 'application/x-ndjson';

export const base = (id: string) => `/api/v1/datasets/${id}`;
export const datasetLinks = (id: string) => ({
  self: base(id),
  versions: `${base(id)}/versions`,
  records: `${base(id)}/records`,
  stats: `${base(id)}/stats`,
  lineage: `${base(id)}/lineage`,
});

/** POSTs whose fields are all optional may come without a body. */
export const bodyOptional = {
  preValidation: async (request: FastifyRequest) => {
    if (request.body === undefined || request.body === null) request.body = {};
  },
};
