import formbody from '@fastify/formbody';
import {
  AdminMailboxQuery,
  AdminUsersQuery,
  AuthorizationServerMetadata,
  ClientCredential,
  ClientCredentialWithSecret,
  ConfirmSignupRequest,
  CreateCredential,
  CredentialList,
  CredentialListQuery,
  Envelope,
  IdParams,
  Jwks,
  LoginRequest,
  LogoutRequest,
  MailboxMessage,
  MeResponse,
  PasswordConfirmRequest,
  PasswordResetRequest,
  PasswordResetResponse,
  ResendRequest,
  ResendResponse,
  SigningKey,
  SignupRequest,
  SignupResponse,
  StatusOk,
  TokenRequest,
  TokenResponse,
  UpdateCredential,
  UpdateUser,
  User,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { contextOf, principalOf, sendEnvelope } from '../../platform/http/context.js';
import { AppError, badRequest, notFound } from '../../platform/errors.js';
import type { LoamApp } from '../../platform/http/server.js';
import { PLATFORM_ADMIN } from '../../platform/principal.js';
import { originOf } from './context.js';
import type { IdentityService } from './service.js';
import { oauthError } from './tokens.js';

const TAGS = ['Atriumn: auth'];
const perMinute = (limit: number) => ({ limit, windowSec: 60 });
const adminAuth = { scopes: ['auth:admin'] } as const;

/** `Authorization: Basic` credentials, decoded as RFC 6749 §2.3.1 says (form-encoded id and secret). */
function basicCredentials(request: FastifyRequest): { user: string; password: string } | undefined {
  const header = request.headers.authorization;
  if (!header || !/^basic\s+/i.test(header)) return undefined;
  const decoded = Buffer.from(header.replace(/^basic\s+/i, '').trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const formDecode = (s: string) => {
    try {
      return decodeURIComponent(s.replaceAll('+', ' '));
    } catch {
      return s;
    }
  };
  return { user: formDecode(decoded.slice(0, colon)), password: formDecode(decoded.slice(colon + 1)) };
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header || !/^bearer\s+/i.test(header)) return undefined;
  return header.replace(/^bearer\s+/i, '').trim() || undefined;
}

/** Token responses must not be cached (RFC 6749 §5.1). */
function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
}

const isEmptyBody = (body: unknown) => body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0);

/** The Atriumn auth service (contracts/atriumn.md §3), mounted at the root and under LOAM_ATRIUMN_PREFIX. */
export async function identityAtriumnRoutes(app: LoamApp, identity: IdentityService): Promise<void> {
  // RFC 6749 clients post form bodies; scoped to these routes so /api/v1 keeps answering 415.
  await app.register(formbody);
  const { users, credentials } = identity;

  app.post(
    '/auth/token',
    {
      config: { rateLimit: perMinute(10) },
      attachValidation: true,
      schema: {
        tags: TAGS,
        summary: 'OAuth 2.0 token endpoint: client_credentials (JSON or RFC 6749 form, Basic or body auth) and refresh_token',
        body: TokenRequest,
        response: { 200: TokenResponse },
      },
    },
    async (request, reply) => {
      noStore(reply);
      if (request.validationError || typeof request.body !== 'object' || request.body === null)
        throw oauthError('invalid_request', 400, 'The token request is malformed');
      const body = request.body;
      const ctx = originOf(request);
      const grant = body.grant_type;
      if (!grant) throw oauthError('invalid_request', 400, 'grant_type is required');
      if (grant === 'refresh_token') {
        if (!body.refresh_token) throw oauthError('invalid_request', 400, 'refresh_token is required');
        return users.refresh(body.refresh_token, ctx);
      }
      if (grant !== 'client_credentials') throw oauthError('unsupported_grant_type', 400, `grant_type ${grant} is not supported`);
      const basic = basicCredentials(request);
      if (basic && (body.client_secret !== undefined || (body.client_id !== undefined && body.client_id !== basic.user)))
        throw oauthError('invalid_request', 400, 'Use one client authentication method: HTTP Basic or body fields');
      const clientId = basic?.user ?? body.client_id;
      const clientSecret = basic?.password ?? body.client_secret;
      if (!clientId || !clientSecret)
        throw oauthError(
          'invalid_client',
          401,
          'Client authentication failed',
          basic ? { 'www-authenticate': 'Basic realm="loam"' } : undefined,
        );
      return credentials.clientCredentialsGrant(clientId, clientSecret, body.scope, { ...ctx, basic: basic !== undefined });
    },
  );

  app.post(
    '/auth/signup',
    {
      config: { auth: 'optional', rateLimit: perMinute(5) },
      schema: {
        tags: TAGS,
        summary: 'Create a user and email a confirmation code',
        body: SignupRequest,
        response: { 201: SignupResponse },
      },
    },
    async (request, reply) => reply.code(201).send(await users.signup(request.body, originOf(request))),
  );

  app.post(
    '/auth/signup/confirm',
    {
      config: { rateLimit: perMinute(5) },
      schema: { tags: TAGS, summary: 'Confirm a signup with the emailed code', body: ConfirmSignupRequest, response: { 200: StatusOk } },
    },
    async (request) => {
      await users.confirmSignup(request.body.username, request.body.confirmation_code, originOf(request));
      return { status: 'ok' as const };
    },
  );

  app.post(
    '/auth/signup/resend',
    {
      config: { rateLimit: { limit: 3, windowSec: 300 } },
      schema: { tags: TAGS, summary: 'Send a new confirmation code', body: ResendRequest, response: { 200: ResendResponse } },
    },
    async (request) => ({ codeDeliveryDetails: await users.resendSignupCode(request.body.username) }),
  );

  app.post(
    '/auth/login',
    {
      config: { rateLimit: perMinute(10) },
      attachValidation: true,
      schema: {
        tags: TAGS,
        summary: 'Sign in with a JSON body or HTTP Basic',
        body: LoginRequest,
        response: { 200: TokenResponse },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const basic = isEmptyBody(request.body) ? basicCredentials(request) : undefined;
      let username: string;
      let password: string;
      if (basic) ({ user: username, password } = basic);
      else {
        if (request.validationError) throw request.validationError;
        if (isEmptyBody(request.body)) throw badRequest('username and password are required (JSON body or HTTP Basic)');
        ({ username, password } = request.body as LoginRequest);
      }
      return users.login(username, password, originOf(request));
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { rateLimit: perMinute(10) },
      attachValidation: true,
      schema: {
        tags: TAGS,
        summary: 'End the session of an access token (body or Bearer header)',
        body: LogoutRequest,
        response: { 200: StatusOk },
      },
    },
    async (request) => {
      // The body is optional (the token may come as a Bearer header).
      if (request.validationError && !isEmptyBody(request.body)) throw request.validationError;
      const token = (request.body as LogoutRequest | undefined)?.access_token || bearerToken(request);
      if (!token) throw new AppError('invalid_request', 400, 'access_token is required (body or Bearer header)');
      await users.logout(token, originOf(request));
      return { status: 'ok' as const };
    },
  );

  accountRoutes(app, identity);
  credentialAdminRoutes(app, identity);
}

/** Password reset and the signed-in user's profile. */
function accountRoutes(app: LoamApp, identity: IdentityService): void {
  const { users } = identity;
  app.post(
    '/auth/password/reset',
    {
      config: { rateLimit: { limit: 3, windowSec: 600 } },
      schema: {
        tags: TAGS,
        summary: 'Email a password reset code (same answer whether or not the account exists)',
        body: PasswordResetRequest,
        response: { 200: PasswordResetResponse },
      },
    },
    async (request) => ({ code_delivery_details: await users.requestPasswordReset(request.body.email) }),
  );

  app.post(
    '/auth/password/confirm',
    {
      config: { rateLimit: { limit: 3, windowSec: 600 } },
      schema: {
        tags: TAGS,
        summary: 'Set a new password with the emailed code; ends every session',
        body: PasswordConfirmRequest,
        response: { 200: StatusOk },
      },
    },
    async (request) => {
      const { email, code, new_password } = request.body;
      await users.confirmPasswordReset(email, code, new_password, originOf(request));
      return { status: 'ok' as const };
    },
  );

  app.get(
    '/auth/me',
    {
      config: { auth: { scopes: [] }, rateLimit: perMinute(20) },
      schema: { tags: TAGS, summary: 'The caller: username and attributes', response: { 200: MeResponse } },
    },
    async (request) => users.me(principalOf(request)),
  );
}

/** Atriumn's admin API for client credentials. */
function credentialAdminRoutes(app: LoamApp, identity: IdentityService): void {
  const { credentials } = identity;
  app.post(
    '/admin/credentials',
    {
      config: { auth: adminAuth, rateLimit: perMinute(5) },
      schema: {
        tags: TAGS,
        summary: 'Create a client credential (client_secret shown once)',
        body: CreateCredential,
        response: { 201: ClientCredentialWithSecret },
      },
    },
    async (request, reply) => {
      const created = await credentials.create(contextOf(request, request.body.tenant_id), request.body);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/admin/credentials',
    {
      config: { auth: adminAuth, rateLimit: perMinute(10) },
      schema: { tags: TAGS, summary: 'List client credentials', querystring: CredentialListQuery, response: { 200: CredentialList } },
    },
    async (request) => ({ credentials: await credentials.list(contextOf(request, request.query.tenantId), request.query) }),
  );

  app.get(
    '/admin/credentials/:id',
    {
      config: { auth: adminAuth, rateLimit: perMinute(20) },
      schema: { tags: TAGS, summary: 'Get a client credential', params: IdParams, response: { 200: ClientCredential } },
    },
    async (request) => credentials.get(contextOf(request), request.params.id),
  );

  app.patch(
    '/admin/credentials/:id',
    {
      config: { auth: adminAuth, rateLimit: perMinute(5) },
      schema: {
        tags: TAGS,
        summary: 'Update a client credential (only the keys present; scopes replace)',
        params: IdParams,
        body: UpdateCredential,
        response: { 200: ClientCredential },
      },
    },
    async (request) => credentials.update(contextOf(request), request.params.id, request.body),
  );

  app.delete(
    '/admin/credentials/:id',
    {
      config: { auth: adminAuth, rateLimit: perMinute(5) },
      schema: { tags: TAGS, summary: 'Delete a client credential', params: IdParams },
    },
    async (request, reply) => {
      await credentials.delete(contextOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}

/** Loam's own identity routes: the public keys, the development mailbox, signing-key rotation. */
export function identityRoutes(app: LoamApp, identity: IdentityService, config: Pick<Config, 'publicUrl' | 'jwtIssuer'>): void {
  let scopes: string[] | undefined;
  /** Every scope a route requires, and the service names that grant them (`storage` for `storage:read`). */
  const scopesSupported = () => {
    scopes ??= [
      ...new Set(
        app
          .registeredRoutes()
          .flatMap((r) => (r.config.auth && r.config.auth !== 'optional' ? r.config.auth.scopes : []))
          .flatMap((s) => [s, s.split(':')[0]]),
      ),
    ].sort();
    return scopes;
  };
  const metadata = (request: FastifyRequest): AuthorizationServerMetadata => {
    const { publicUrl, jwtIssuer } = config;
    const base = (publicUrl || `${request.protocol}://${request.host}`).replace(/\/+$/, '');
    const algs = identity.keys.algorithms();
    return {
      // The issuer must be the URL this document is fetched under (RFC 8414 §3.3); set
      // LOAM_JWT_ISSUER to that URL so the `iss` of the tokens matches it too.
      issuer: /^https?:\/\//.test(jwtIssuer) ? jwtIssuer.replace(/\/+$/, '') : base,
      token_endpoint: `${base}/auth/token`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: scopesSupported(),
      response_types_supported: [], // no authorization endpoint: users sign in with POST /auth/login
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: algs,
    };
  };
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'])
    app.get(
      path,
      {
        schema: {
          tags: ['Identity'],
          summary: 'OAuth 2.0 authorization server metadata (RFC 8414) / OpenID Connect discovery',
          response: { 200: AuthorizationServerMetadata },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return metadata(request);
      },
    );

  app.get(
    '/.well-known/jwks.json',
    { schema: { tags: ['Identity'], summary: 'Public keys that verify Loam tokens (EdDSA / RS256)', response: { 200: Jwks } } },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return identity.keys.jwks();
    },
  );

  app.get(
    '/api/v1/admin/mailbox',
    {
      config: { auth: { scopes: ['admin'] } },
      schema: {
        tags: ['Identity'],
        summary: 'Development mailbox: mail Loam would have sent (disabled with SMTP or NODE_ENV=production)',
        querystring: AdminMailboxQuery,
        response: { 200: Envelope(Type.Array(MailboxMessage)) },
      },
    },
    async (request, reply) => {
      const mailbox = identity.devMailbox();
      if (!mailbox) throw notFound('The development mailbox is disabled; it');
      const ctx = contextOf(request, request.query.tenant_id);
      const allTenants = ctx.principal.roles.includes(PLATFORM_ADMIN) && !request.query.tenant_id;
      const messages = await mailbox.read(ctx, { allTenants, to: request.query.to, limit: request.query.limit ?? 20 });
      return sendEnvelope(request, reply, messages, { links: { self: '/api/v1/admin/mailbox' } });
    },
  );

  app.get(
    '/api/v1/admin/users',
    {
      config: { auth: adminAuth },
      schema: {
        tags: ['Identity'],
        summary: 'List the users of a tenant',
        querystring: AdminUsersQuery,
        response: { 200: Envelope(Type.Array(User)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await identity.userAdmin.list(contextOf(request, request.query.tenant_id), request.query);
      return sendEnvelope(request, reply, items, { pagination, links: { self: '/api/v1/admin/users' } });
    },
  );

  app.get(
    '/api/v1/admin/users/:id',
    {
      config: { auth: adminAuth },
      schema: { tags: ['Identity'], summary: 'Get a user', params: IdParams, response: { 200: Envelope(User) } },
    },
    async (request, reply) => {
      const user = await identity.userAdmin.get(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, user, { links: { self: `/api/v1/admin/users/${user.id}` } });
    },
  );

  app.patch(
    '/api/v1/admin/users/:id',
    {
      config: { auth: adminAuth },
      schema: {
        tags: ['Identity'],
        summary: "Set a user's roles, attributes or status (ends the user's sessions)",
        params: IdParams,
        body: UpdateUser,
        response: { 200: Envelope(User) },
      },
    },
    async (request, reply) => {
      const user = await identity.userAdmin.update(contextOf(request), request.params.id, request.body);
      return sendEnvelope(request, reply, user, { links: { self: `/api/v1/admin/users/${user.id}` } });
    },
  );

  app.get(
    '/api/v1/admin/signing-keys',
    {
      config: { auth: { scopes: ['admin'] } },
      schema: { tags: ['Identity'], summary: 'Token signing keys (public metadata)', response: { 200: Envelope(Type.Array(SigningKey)) } },
    },
    async (request, reply) => sendEnvelope(request, reply, await identity.keys.describe(contextOf(request))),
  );

  app.post(
    '/api/v1/admin/signing-keys/rotate',
    {
      config: { auth: { scopes: ['admin'] } },
      schema: {
        tags: ['Identity'],
        summary: 'Start signing with a new key; the old one verifies until its tokens expire',
        response: { 200: Envelope(Type.Array(SigningKey)) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await identity.keys.rotateFor(contextOf(request))),
  );
}
