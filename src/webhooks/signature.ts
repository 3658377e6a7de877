import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header that carries the signature of every webhook sent to the platform. */
export const WEBHOOK_SIGNATURE_HEADER = 'Knowledge-Pay-Signature';
export const WEBHOOK_TOLERANCE_SECONDS = 300;

function hmac(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, as Stripe signs its webhooks. */
export function signWebhook(secret: string, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

export type WebhookCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'malformed' | 'stale' | 'bad_signature' };

/**
 * Verifies a webhook signature header on the raw body: constant-time comparison, a tolerance of
 * `toleranceSeconds` either way, and any of several `v1` values (secret rotation) may match.
 */
export function verifyWebhook(
  header: string | undefined,
  body: string | Buffer,
  secrets: readonly string[],
  options: { now?: number; toleranceSeconds?: number } = {},
): WebhookCheck {
  if (!header) return { ok: false, reason: 'malformed' };
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  const signatures = parts.filter(([k, v]) => k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)).map(([, v]) => v as string);
  if (!Number.isSafeInteger(t) || signatures.length === 0) return { ok: false, reason: 'malformed' };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS))
    return { ok: false, reason: 'stale' };
  for (const secret of secrets) {
    const expected = Buffer.from(hmac(secret, t, body), 'hex');
    if (signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected))) return { ok: true, timestamp: t };
  }
  return { ok: false, reason: 'bad_signature' };
}
