import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PaymentChannel } from '../../../domain/payment.js';

/** The hidden field of the cashier's Pay and Decline forms that carries the form token. */
export const CASHIER_FORM_TOKEN_FIELD = 'form_token';

/** How long the forms of a served cashier page stay good. */
export const CASHIER_FORM_TTL_SECONDS = 15 * 60;

const TOKEN = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * Tokens that tie a cashier form to the page that served it: an HMAC of the channel, the order
 * and an expiry, under a key derived from the sandbox secret (the same in every API process, so a
 * page served by one process is paid at another). A cross-site POST, with no body or a token made
 * up or taken from another order, is refused, and nothing is paid.
 */
export interface CashierFormTokens {
  /** A token for the forms of `outTradeNo`'s cashier page, good for {@link CASHIER_FORM_TTL_SECONDS}. */
  issue(channel: PaymentChannel, outTradeNo: string, nowMs?: number): string;
  /** Whether `token` (anything a request carried) was issued for this order's page and is still good. */
  verify(channel: PaymentChannel, outTradeNo: string, token: unknown, nowMs?: number): boolean;
}

export function cashierFormTokens(secret: string): CashierFormTokens {
  const key = createHmac('sha256', secret).update('sandbox cashier form tokens').digest();
  const mac = (channel: PaymentChannel, outTradeNo: string, expires: string) =>
    createHmac('sha256', key).update(`${channel}\n${outTradeNo}\n${expires}`).digest();

  return {
    issue(channel, outTradeNo, nowMs = Date.now()) {
      const expires = String(Math.floor(nowMs / 1000) + CASHIER_FORM_TTL_SECONDS);
      return `${expires}.${mac(channel, outTradeNo, expires).toString('base64url')}`;
    },
    verify(channel, outTradeNo, token, nowMs = Date.now()) {
      const parts = typeof token === 'string' ? TOKEN.exec(token) : null;
      if (!parts) return false;
      const [, expires = '', given = ''] = parts;
      const now = Math.floor(nowMs / 1000);
      const expiresAt = Number(expires);
      if (expiresAt < now || expiresAt > now + CASHIER_FORM_TTL_SECONDS) return false;
      return timingSafeEqual(Buffer.from(given, 'base64url'), mac(channel, outTradeNo, expires));
    },
  };
}
