import { type Static, Type } from '@sinclair/typebox';

export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, safe to display' }),
  scopes: Type.Array(Type.String()),
  roles: Type.Array(Type.String()),
  tenant_id: Type.String(),
  created_by: Type.Union([Type.Null(), Type.String()]),
  created_at: Type.String(),
  expires_at: Type.Union([Type.Null(), Type.String()]),
  last_used_at: Type.Union([Type.Null(), Type.String()]),
  revoked_at: Type.Union([Type.Null(), Type.String()]),
});
export type ApiKey = Static<typeof ApiKey>;

/** Returned once, at creation or rotation: the only time the secret is visible. */
export const ApiKeyWithSecret = Type.Intersect([ApiKey, Type.Object({ key: Type.String() })]);
export type ApiKeyWithSecret = Static<typeof ApiKeyWithSecret>;

export const CreateApiKey = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  scopes: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100, default: [] }),
  roles: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 })),
  expires_at: Type.Optional(Type.String({ format: 'date-time' })),
});
export type CreateApiKey = Static<typeof CreateApiKey>;
