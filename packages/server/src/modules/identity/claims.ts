/** Lifetimes and claim shapes shared by the token code. */

/** Accepted clock skew between Loam instances and token issuers. */
export const CLOCK_TOLERANCE_SEC = 60;

/** The claims of a Loam access token. */
export interface AccessClaims {
  iss: string;
  aud: string;
  sub: string;
  tenant_id: string;
  /** Space-separated scopes (RFC 8693 / RFC 9068). */
  scope: string;
  jti: string;
  roles: string[];
  /** Session: the refresh-token family of a user, the credential id of a client. */
  sid: string;
  kind: 'user' | 'client';
  token_use: 'access';
  client_id?: string;
  email?: string;
  /** User attributes for attribute-based policies (department, clearance, …). */
  attributes?: Record<string, string>;
  exp: number;
  nbf: number;
  iat: number;
}

export const splitScopes = (scope: string | undefined | null): string[] => (scope ?? '').split(/\s+/).filter(Boolean);
