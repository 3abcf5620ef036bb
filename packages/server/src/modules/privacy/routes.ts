import {
  AggregateRequest,
  AggregateResult,
  AnalyzeRequest,
  AnalyzeResult,
  AnonymizeRequest,
  AnonymizeResult,
  BudgetParams,
  CreateRecognizer,
  DeanonymizeRequest,
  DeanonymizeResult,
  Envelope,
  IdParams,
  KeyRotationResult,
  PrivacyBudget,
  PrivacyMetrics,
  Recognizer,
  SetBudgetRequest,
  Technique,
  UpdateRecognizer,
  ValidateRequest,
  ValidateResult,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { Row } from './tabular.js';
import type { PrivacyService } from './service.js';

const use = { auth: { scopes: ['anonymization:use'] } } as const;
const reverse = { auth: { scopes: ['anonymization:reverse'] } } as const;
const tags = ['Anonymization'];
const BASE = '/api/v1/anonymization';

export function privacyRoutes(app: LoamApp, privacy: PrivacyService): void {
  app.post(
    `${BASE}/analyze`,
    {
      config: use,
      schema: {
        tags,
        summary: 'Find PII in text, a JSON document or records',
        body: AnalyzeRequest,
        response: { 200: Envelope(AnalyzeResult) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await privacy.analyze(contextOf(request).tenantId, request.body)),
  );

  app.post(
    `${BASE}/anonymize`,
    {
      config: use,
      schema: {
        tags,
        summary: 'Detect PII and transform it with operators (and optionally k-anonymize records)',
        body: AnonymizeRequest,
        response: { 200: Envelope(AnonymizeResult) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await privacy.anonymize(contextOf(request).tenantId, request.body)),
  );

  app.post(
    `${BASE}/deanonymize`,
    {
      config: reverse,
      schema: {
        tags,
        summary: 'Restore tokenized and encrypted values (audited)',
        body: DeanonymizeRequest,
        response: { 200: Envelope(DeanonymizeResult) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await privacy.deanonymize(contextOf(request), request.body)),
  );

  app.post(
    `${BASE}/validate`,
    {
      config: use,
      schema: {
        tags,
        summary: 'k-anonymity, ℓ-diversity, re-identification risk and residual PII of a table',
        body: ValidateRequest,
        response: { 200: Envelope(ValidateResult) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await privacy.validate(contextOf(request).tenantId, request.body)),
  );

  app.post(
    `${BASE}/aggregate`,
    {
      config: use,
      schema: {
        tags,
        summary: 'A differentially private aggregate charged to an ε budget',
        body: AggregateRequest,
        response: { 200: Envelope(AggregateResult) },
      },
    },
    async (request, reply) => {
      const { budget, records, query } = request.body;
      return sendEnvelope(request, reply, await privacy.budgets.aggregate(contextOf(request), budget, records as Row[], query));
    },
  );

  app.get(
    `${BASE}/budgets/:subject`,
    { config: use, schema: { tags, summary: 'An ε budget', params: BudgetParams, response: { 200: Envelope(PrivacyBudget) } } },
    async (request, reply) => sendEnvelope(request, reply, await privacy.budgets.getBudget(contextOf(request), request.params.subject)),
  );

  app.put(
    `${BASE}/budgets/:subject`,
    {
      config: { auth: { scopes: ['admin'] } },
      schema: {
        tags,
        summary: 'Set the total ε of a budget',
        params: BudgetParams,
        body: SetBudgetRequest,
        response: { 200: Envelope(PrivacyBudget) },
      },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await privacy.budgets.setBudget(contextOf(request), request.params.subject, request.body.epsilon_total)),
  );

  app.get(
    `${BASE}/techniques`,
    {
      config: use,
      schema: { tags, summary: 'Every operator and privacy model with its parameters', response: { 200: Envelope(Type.Array(Technique)) } },
    },
    async (request, reply) => sendEnvelope(request, reply, privacy.techniques()),
  );

  app.get(
    `${BASE}/metrics`,
    {
      config: use,
      schema: {
        tags,
        summary: 'Entities found by type, operator use and throughput (this instance, since start)',
        response: { 200: Envelope(PrivacyMetrics) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, privacy.metricsOf(contextOf(request).tenantId)),
  );

  recognizerRoutes(app, privacy);

  app.post(
    '/api/v1/admin/keys/rotate',
    {
      config: { auth: { scopes: ['admin'] } },
      schema: {
        tags: ['Admin'],
        summary: 'Rotate the master key: re-wrap every data key (records are not rewritten)',
        response: { 200: Envelope(KeyRotationResult) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await privacy.rotateKeys(contextOf(request))),
  );
}

/** A tenant's own recognizers: list, create, get, update, delete. */
function recognizerRoutes(app: LoamApp, privacy: PrivacyService): void {
  app.get(
    `${BASE}/recognizers`,
    { config: use, schema: { tags, summary: 'List tenant recognizers', response: { 200: Envelope(Type.Array(Recognizer)) } } },
    async (request, reply) =>
      sendEnvelope(request, reply, await privacy.recognizers.listRecognizers(contextOf(request)), {
        links: { self: `${BASE}/recognizers` },
      }),
  );

  app.post(
    `${BASE}/recognizers`,
    {
      config: use,
      schema: {
        tags,
        summary: 'Create a tenant recognizer (regex + context + score)',
        body: CreateRecognizer,
        response: { 201: Envelope(Recognizer) },
      },
    },
    async (request, reply) => {
      const r = await privacy.recognizers.createRecognizer(contextOf(request), request.body);
      const self = `${BASE}/recognizers/${r.id}`;
      return sendEnvelope(request, reply, r, { status: 201, location: self, links: { self } });
    },
  );

  app.get(
    `${BASE}/recognizers/:id`,
    { config: use, schema: { tags, summary: 'Get a tenant recognizer', params: IdParams, response: { 200: Envelope(Recognizer) } } },
    async (request, reply) => {
      const r = await privacy.recognizers.getRecognizer(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, r, { links: { self: `${BASE}/recognizers/${r.id}` } });
    },
  );

  app.patch(
    `${BASE}/recognizers/:id`,
    {
      config: use,
      schema: {
        tags,
        summary: 'Update a tenant recognizer',
        params: IdParams,
        body: UpdateRecognizer,
        response: { 200: Envelope(Recognizer) },
      },
    },
    async (request, reply) => {
      const r = await privacy.recognizers.updateRecognizer(contextOf(request), request.params.id, request.body);
      return sendEnvelope(request, reply, r, { links: { self: `${BASE}/recognizers/${r.id}` } });
    },
  );

  app.delete(
    `${BASE}/recognizers/:id`,
    { config: use, schema: { tags, summary: 'Delete a tenant recognizer', params: IdParams } },
    async (request, reply) => {
      await privacy.recognizers.deleteRecognizer(contextOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}
