import type {
  ConfirmSignupRequest,
  LoginRequest,
  MeResponse,
  PasswordConfirmRequest,
  PasswordResetRequest,
  PasswordResetResponse,
  ResendRequest,
  ResendResponse,
  SignupRequest,
  SignupResponse,
  StatusOk,
  TokenRequest,
  TokenResponse,
} from '@loam/api';
import { type APIPromise, APIResource, type RequestOptions } from '../core.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Users and tokens: the Atriumn auth service (`/auth/*`). These calls send no client credentials. */
export class Auth extends APIResource {
  /**
   * Registers a user; a confirmation code goes to the email address.
   * @example const { user_id } = await loam.auth.signup({ email: 'ada@example.com', password: 'correct horse battery' });
   */
  signup(body: SignupRequest, options?: Opts): APIPromise<SignupResponse> {
    return this.client.request('POST', '/auth/signup', { ...options, body, auth: false });
  }

  /**
   * Confirms a signup with the emailed code.
   * @example await loam.auth.confirm({ username: 'ada@example.com', confirmation_code: '123456' });
   */
  confirm(body: ConfirmSignupRequest, options?: Opts): APIPromise<StatusOk> {
    return this.client.request('POST', '/auth/signup/confirm', { ...options, body, auth: false });
  }

  /**
   * Sends the confirmation code again.
   * @example const { codeDeliveryDetails } = await loam.auth.resend({ username: 'ada@example.com' });
   */
  resend(body: ResendRequest, options?: Opts): APIPromise<ResendResponse> {
    return this.client.request('POST', '/auth/signup/resend', { ...options, body, auth: false });
  }

  /**
   * Signs a user in; use the access token with `loam.withOptions({ accessToken })`.
   * @example
   * const tokens = await loam.auth.login({ username: 'ada@example.com', password: 'correct horse battery' });
   * const asAda = loam.withOptions({ accessToken: tokens.access_token });
   */
  login(body: LoginRequest, options?: Opts): APIPromise<TokenResponse> {
    return this.client.request('POST', '/auth/login', { ...options, body, auth: false });
  }

  /**
   * Revokes an access token and its refresh-token family at once.
   * @example await loam.auth.logout({ access_token: tokens.access_token });
   */
  logout(body: { access_token: string }, options?: Opts): APIPromise<StatusOk> {
    return this.client.request('POST', '/auth/logout', { ...options, body, auth: false });
  }

  /**
   * Emails a password-reset code (the answer is the same whether or not the user exists).
   * @example await loam.auth.passwordReset({ email: 'ada@example.com' });
   */
  passwordReset(body: PasswordResetRequest, options?: Opts): APIPromise<PasswordResetResponse> {
    return this.client.request('POST', '/auth/password/reset', { ...options, body, auth: false });
  }

  /**
   * Sets a new password with the emailed code; the user's existing tokens stop working.
   * @example await loam.auth.passwordConfirm({ email: 'ada@example.com', code: '654321', new_password: 'a new long passphrase' });
   */
  passwordConfirm(body: PasswordConfirmRequest, options?: Opts): APIPromise<StatusOk> {
    return this.client.request('POST', '/auth/password/confirm', { ...options, body, auth: false });
  }

  /**
   * The signed-in user: with `accessToken`, that token's user; otherwise the client's own credentials.
   * @example const me = await loam.auth.me(tokens.access_token); me.attributes.email
   */
  me(accessToken?: string, options?: Opts): APIPromise<MeResponse> {
    return this.client.request('GET', '/auth/me', { ...options, ...(accessToken ? { auth: accessToken } : {}) });
  }

  /**
   * Exchanges client credentials (or a refresh token) for an access token. Clients built with
   * `clientCredentials` do this by themselves; call it to manage tokens by hand.
   * @example const { access_token, expires_in } = await loam.auth.token({ grant_type: 'client_credentials', client_id, client_secret, scope: 'storage ingest' });
   */
  token(body: TokenRequest, options?: Opts): APIPromise<TokenResponse> {
    return this.client.request('POST', '/auth/token', { ...options, body, auth: false });
  }
}
