import { type Static, Type } from '@sinclair/typebox';
import { ListQuery } from './common.js';

/**
 * Identity: the Atriumn auth service (contracts/atriumn.md §3, snake_case except
 * `codeDeliveryDetails` on resend) and Loam's admin extras under /api/v1.
 */

const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' });
/** Every value inside `attributes` is a string (contract §1). */
export const StringMap = Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }));
export type StringMap = Static<typeof StringMap>;

/** Fields of `POST /auth/token`, as JSON or RFC 6749 form body. Validated in code to answer RFC 6749 codes. */
export const TokenRequest = Type.Object(
  {
    grant_type: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    client_secret: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    refresh_token: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type TokenRequest = Static<typeof TokenRequest>;

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.Optional(Type.String()),
  id_token: Type.Optional(Type.String()),
  refresh_token: Type.Optional(Type.String()),
});
export type TokenResponse = Static<typeof TokenResponse>;

export const SignupRequest = Type.Object({
  email: Email,
  password: Type.String({ maxLength: 1024 }),
  attributes: Type.Optional(StringMap),
  /** Loam extra: the tenant to create the user in (only an admin of that tenant may name one). */
  tenant_id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
});
export type SignupRequest = Static<typeof SignupRequest>;

export const SignupResponse = Type.Object({ user_id: Type.String() });
export type SignupResponse = Static<typeof SignupResponse>;

export const ConfirmSignupRequest = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 254 }),
  confirmation_code: Type.String({ minLength: 1, maxLength: 32 }),
});
export type ConfirmSignupRequest = Static<typeof ConfirmSignupRequest>;

export const StatusOk = Type.Object({ status: Type.Literal('ok') });
export type StatusOk = Static<typeof StatusOk>;

export const ResendRequest = Type.Object({ username: Type.String({ minLength: 1, maxLength: 254 }) });
export type ResendRequest = Static<typeof ResendRequest>;

export const CodeDeliveryDetails = Type.Object({
  destination: Type.String({ description: 'Masked address, e.g. t***@e***.com' }),
  delivery_medium: Type.Literal('EMAIL'),
  attribute_name: Type.Literal('email'),
});
export type CodeDeliveryDetails = Static<typeof CodeDeliveryDetails>;

/** camelCase key, as the contract requires for resend. */
export const ResendResponse = Type.Object({ codeDeliveryDetails: CodeDeliveryDetails });
export type ResendResponse = Static<typeof ResendResponse>;

export const LoginRequest = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});
export type LoginRequest = Static<typeof LoginRequest>;

export const LogoutRequest = Type.Object({ access_token: Type.Optional(Type.String({ maxLength: 8192 })) });
export type LogoutRequest = Static<typeof LogoutRequest>;

export const PasswordResetRequest = Type.Object({ email: Type.String({ minLength: 1, maxLength: 254 }) });
export type PasswordResetRequest = Static<typeof PasswordResetRequest>;

/** snake_case key, as the contract requires for password reset. */
export const PasswordResetResponse = Type.Object({ code_delivery_details: CodeDeliveryDetails });
export type PasswordResetResponse = Static<typeof PasswordResetResponse>;

export const PasswordConfirmRequest = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  code: Type.String({ minLength: 1, maxLength: 32 }),
  new_password: Type.String({ maxLength: 1024 }),
});
export type PasswordConfirmRequest = Static<typeof PasswordConfirmRequest>;

export const MeResponse = Type.Object({ username: Type.String(), attributes: StringMap });
export type MeResponse = Static<typeof MeResponse>;

export const ClientCredential = Type.Object({
  id: Type.String(),
  client_id: Type.String(),
  issued_to: Type.String(),
  scopes: Type.Array(Type.String()),
  description: Type.String(),
  active: Type.Boolean(),
  created_at: Type.String(),
  updated_at: Type.String(),
  tenant_id: Type.String(),
});
export type ClientCredential = Static<typeof ClientCredential>;

/** Returned once, at creation: the only time `client_secret` is visible. */
export const ClientCredentialWithSecret = Type.Intersect([ClientCredential, Type.Object({ client_secret: Type.String() })]);
export type ClientCredentialWithSecret = Static<typeof ClientCredentialWithSecret>;

const Scope = Type.String({ minLength: 1, maxLength: 100, pattern: '^[!#-\\[\\]-~]+$' });

export const CreateCredential = Type.Object({
  issued_to: Type.String({ minLength: 1, maxLength: 200 }),
  scopes: Type.Union([Type.Null(), Type.Array(Scope, { maxItems: 100 })]),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  tenant_id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
});
export type CreateCredential = Static<typeof CreateCredential>;

export const UpdateCredential = Type.Object({
  active: Type.Optional(Type.Boolean()),
  scopes: Type.Optional(Type.Union([Type.Null(), Type.Array(Scope, { maxItems: 100 })])),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
});
export type UpdateCredential = Static<typeof UpdateCredential>;

export const CredentialListQuery = Type.Object({
  issuedTo: Type.Optional(Type.String({ maxLength: 200 })),
  tenantId: Type.Optional(Type.String({ maxLength: 64 })),
  scope: Type.Optional(Type.String({ maxLength: 100 })),
  active: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
});
export type CredentialListQuery = Static<typeof CredentialListQuery>;

export const CredentialList = Type.Object({ credentials: Type.Array(ClientCredential) });
export type CredentialList = Static<typeof CredentialList>;

/** A message in the development mailbox (`GET /api/v1/admin/mailbox`; off in production). */
export const MailboxMessage = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  text: Type.String(),
  created_at: Type.String(),
});
export type MailboxMessage = Static<typeof MailboxMessage>;

export const MailboxQuery = Type.Object({
  to: Type.Optional(Type.String({ maxLength: 254 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});
export type MailboxQuery = Static<typeof MailboxQuery>;

/** The tenant an admin route acts on (honoured as `effectiveTenant` allows). */
const AdminTenantQuery = Type.Object({ tenant_id: Type.Optional(Type.String({ maxLength: 64 })) });

export const AdminMailboxQuery = Type.Intersect([MailboxQuery, AdminTenantQuery]);
export type AdminMailboxQuery = Static<typeof AdminMailboxQuery>;

export const AdminUsersQuery = Type.Intersect([ListQuery, AdminTenantQuery]);
export type AdminUsersQuery = Static<typeof AdminUsersQuery>;

/** A public signing key as published at /.well-known/jwks.json (RFC 7517). */
export const Jwks = Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) });

/** RFC 8414 authorization server metadata (also served as OpenID Connect discovery). */
export const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String(),
    token_endpoint: Type.String(),
    jwks_uri: Type.String(),
    grant_types_supported: Type.Array(Type.String()),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    scopes_supported: Type.Array(Type.String()),
    response_types_supported: Type.Array(Type.String()),
    subject_types_supported: Type.Array(Type.String()),
    id_token_signing_alg_values_supported: Type.Array(Type.String()),
    token_endpoint_auth_signing_alg_values_supported: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: true },
);
export type AuthorizationServerMetadata = Static<typeof AuthorizationServerMetadata>;
export type Jwks = Static<typeof Jwks>;

export const SigningKey = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  created_at: Type.String(),
  retired_at: Type.Union([Type.Null(), Type.String()]),
});
export type SigningKey = Static<typeof SigningKey>;

/** A user as administrators see it (`/api/v1/admin/users`). */
export const User = Type.Object({
  id: Type.String(),
  tenant_id: Type.String(),
  email: Type.String(),
  status: Type.Union([Type.Literal('unconfirmed'), Type.Literal('confirmed'), Type.Literal('disabled')]),
  roles: Type.Array(Type.String()),
  attributes: StringMap,
  created_at: Type.String(),
  updated_at: Type.String(),
  confirmed_at: Type.Union([Type.Null(), Type.String()]),
});
export type User = Static<typeof User>;

/** Keys present are applied; `roles` and `attributes` replace. Ends the user's sessions. */
export const UpdateUser = Type.Object(
  {
    roles: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 20 })),
    attributes: Type.Optional(StringMap),
    status: Type.Optional(Type.Union([Type.Literal('confirmed'), Type.Literal('disabled')])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUser = Static<typeof UpdateUser>;
