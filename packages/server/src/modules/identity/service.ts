import type { Platform } from '../../platform/index.js';
import type { TenantService } from '../tenants/service.js';
import { CredentialService } from './credentials.js';
import { SigningKeyRing } from './keys.js';
import { DevMailbox, type Mailer, SmtpMailer } from './mail.js';
import { ExternalIssuer } from './oidc.js';
import { TokenService } from './tokens.js';
import { UserAdminService } from './user-admin.js';
import { UserService } from './users.js';

export interface IdentityOptions {
  /** Defaults to process.env.NODE_ENV; the development mailbox is off in `production`. */
  nodeEnv?: string;
}

/** Users, tokens and machine credentials: what other modules may use. */
export class IdentityService {
  readonly keys: SigningKeyRing;
  readonly tokens: TokenService;
  readonly users: UserService;
  readonly userAdmin: UserAdminService;
  readonly credentials: CredentialService;
  readonly externalIssuer: ExternalIssuer;
  private readonly mailer: Mailer;
  private readonly production: boolean;

  constructor(platform: Platform, tenants: TenantService, opts: IdentityOptions = {}) {
    this.production = (opts.nodeEnv ?? process.env.NODE_ENV) === 'production';
    this.keys = new SigningKeyRing(platform);
    this.tokens = new TokenService(platform, this.keys);
    this.mailer = platform.config.smtpUrl ? new SmtpMailer(platform.config.smtpUrl, platform.config.mailFrom) : new DevMailbox(platform);
    this.users = new UserService(platform, this.tokens, tenants, this.mailer);
    this.userAdmin = new UserAdminService(platform, this.tokens);
    this.credentials = new CredentialService(platform, this.tokens, tenants);
    this.externalIssuer = new ExternalIssuer(platform);
  }

  /** The development mailbox, or undefined when mail goes out by SMTP or NODE_ENV is production. */
  devMailbox(): DevMailbox | undefined {
    return this.mailer instanceof DevMailbox && !this.production ? this.mailer : undefined;
  }
}
