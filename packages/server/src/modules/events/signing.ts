import { createHmac } from 'node:crypto';
import type { Random } from '../../platform/crypto/index.js';

/** A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const generateSecret = (random: Random): string => `whsec_${random.bytes(32).toString('base64')}`;

/** The HMAC key of a Standard Webhooks secret: the bytes its base64 part encodes. */
const keyOf = (secret: string): Buffer => Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');

/** Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the secret's bytes. */
export function standardSignature(secret: string, msgId: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${msgId}.${timestamp}.${body}`).digest('base64')}`;
}

/** The seed's `X-LLM-Vault-Signature`: `sha256=` + hex HMAC-SHA256 of timestamp + body, keyed by the secret string. */
export function vaultSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}${body}`).digest('hex')}`;
}

export interface SignedMessage {
  /** `webhook-id`: the delivery id (the same on every attempt of a delivery). */
  msgId: string;
  /** Unix seconds. */
  timestamp: number;
  body: string;
  eventType: string;
}

/**
 * Both signature sets, with every secret that signs (the current one and, during a rotation's
 * grace period, the previous one): space-separated in `webhook-signature`, comma-separated in
 * `X-LLM-Vault-Signature`.
 */
export function signatureHeaders(secrets: string[], m: SignedMessage): Record<string, string> {
  return {
    'webhook-id': m.msgId,
    'webhook-timestamp': String(m.timestamp),
    'webhook-signature': secrets.map((s) => standardSignature(s, m.msgId, m.timestamp, m.body)).join(' '),
    'x-llm-vault-signature': secrets.map((s) => vaultSignature(s, m.timestamp, m.body)).join(','),
    'x-llm-vault-event': m.eventType,
    'x-llm-vault-delivery': m.msgId,
    'x-llm-vault-timestamp': String(m.timestamp),
  };
}
