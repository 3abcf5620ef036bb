import { createRequire } from 'node:module';
import type { MailboxMessage } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import type NodeMailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Platform } from '../../platform/index.js';
import { MailboxStore } from './store/mailbox.js';

export interface MailMessage {
  tenantId: string;
  to: string;
  subject: string;
  text: string;
}

/** Where confirmation and reset codes go: SMTP, or the development mailbox. */
export interface Mailer {
  readonly kind: 'smtp' | 'dev_mailbox';
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}

/** `t***@e***.com`: enough for a user to recognize the address, not enough to harvest it. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const name = dot > 0 ? domain.slice(0, dot) : domain;
  const tld = dot > 0 ? domain.slice(dot) : '';
  return `${local[0]}***@${name[0] ?? ''}***${tld}`;
}

// nodemailer is loaded only when SMTP is configured (the default development mailbox needs none of it).
const require = createRequire(import.meta.url);

/** Sends through an SMTP server (LOAM_SMTP_URL), with short timeouts so a dead relay fails fast. */
export class SmtpMailer implements Mailer {
  readonly kind = 'smtp';
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    const u = new URL(url);
    const opts = {
      host: u.hostname,
      port: u.port ? Number(u.port) : u.protocol === 'smtps:' ? 465 : 587,
      secure: u.protocol === 'smtps:',
      auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
      // smtp://…?tls=insecure lets development relays with self-signed certificates through.
      tls: u.searchParams.get('tls') === 'insecure' ? { rejectUnauthorized: false } : undefined,
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      socketTimeout: 10_000,
    };
    const nodemailer = require('nodemailer') as typeof NodeMailer;
    this.transport = nodemailer.createTransport(opts);
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text });
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/**
 * Development mailbox: messages are kept in the database and readable by admins at
 * GET /api/v1/admin/mailbox. Only the fact that a message was stored is logged — never its
 * body, which carries the code.
 */
export class DevMailbox implements Mailer {
  readonly kind = 'dev_mailbox';
  static readonly KEEP = 500;
  private readonly store: MailboxStore;

  constructor(private readonly platform: Platform) {
    this.store = new MailboxStore(platform.database.db);
  }

  async send(message: MailMessage): Promise<void> {
    const id = this.platform.ids.new('mail');
    await this.store.insert({ id, ...message, createdAt: this.platform.clock.now() });
    // Keep the mailbox bounded: drop everything but the newest messages.
    await this.store.keepNewest(DevMailbox.KEEP);
    this.platform.log.info({ mail_id: id, to: maskEmail(message.to), subject: message.subject }, 'mail stored in the development mailbox');
  }

  /** Newest first; a platform admin passes `tenantId` undefined to see every tenant. */
  list(tenantId: string | undefined, opts: { to?: string; limit: number }): Promise<MailboxMessage[]> {
    return this.store.list(tenantId, { to: opts.to?.trim().toLowerCase(), limit: opts.limit });
  }

  /** The mailbox as an admin reads it: their tenant's (a platform admin: every tenant's unless `tenantId` names one). */
  async read(ctx: RequestContext, opts: { allTenants: boolean; to?: string; limit: number }): Promise<MailboxMessage[]> {
    await this.platform.access.check(ctx, 'admin:read', { type: 'mailbox', id: '*', tenantId: ctx.tenantId });
    return this.list(opts.allTenants ? undefined : ctx.tenantId, opts);
  }

  async close(): Promise<void> {}
}
