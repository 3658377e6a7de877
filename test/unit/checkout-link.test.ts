import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHECKOUT_RESULT_SECONDS,
  checkoutLink,
  checkoutLinkKey,
  checkoutLinkState,
  checkoutTokenValid,
} from '../../src/checkout/link.js';

const paymentIdKey = Buffer.alloc(32, 7).toString('base64');
const key = checkoutLinkKey(paymentIdKey);
const paymentId = 'pay_abcdefghijklmnopqrstuvwxyz23';
const expiresAt = new Date('2026-03-01T12:15:00.900Z');
const e = Math.floor(expiresAt.getTime() / 1000);

function linkOf(overrides: Partial<Parameters<typeof checkoutLink>[0]> = {}): URL {
  return new URL(checkoutLink({ baseUrl: 'https://pay.example.com', key, paymentId, expiresAt, ...overrides }));
}

function paramsOf(url: URL): { e: string | null; t: string | null } {
  return { e: url.searchParams.get('e'), t: url.searchParams.get('t') };
}

describe('checkout link', () => {
  it('points at the payment page with the expiry in Unix seconds and an HMAC-SHA256 token of both', () => {
    const url = linkOf();
    expect(url.origin + url.pathname).toBe(`https://pay.example.com/checkout/${paymentId}`);
    expect(url.searchParams.get('e')).toBe(String(e));
    const expected = createHmac('sha256', key).update(`checkout|${paymentId}|${e}`).digest('base64url');
    expect(url.searchParams.get('t')).toBe(expected);
  });

  it('signs under a key derived from paymentIdKey with the label checkout-link, never the key itself', () => {
    const derived = createHmac('sha256', Buffer.from(paymentIdKey, 'base64')).update('checkout-link').digest();
    expect(key.equals(derived)).toBe(true);
    expect(key.equals(Buffer.from(paymentIdKey, 'base64'))).toBe(false);
    expect(() => checkoutLinkKey(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
  });

  it('does not double the slash when the base URL ends with one', () => {
    expect(linkOf({ baseUrl: 'https://pay.example.com/' }).pathname).toBe(`/checkout/${paymentId}`);
  });

  it('opens the page with its own token before the expiry and during the result days', () => {
    const { e: linkE, t } = paramsOf(linkOf());
    const before = new Date(expiresAt.getTime() - 60_000);
    const after = new Date((e + CHECKOUT_RESULT_SECONDS - 1) * 1000);
    expect(checkoutTokenValid(key, paymentId, linkE, t, before)).toBe(true);
    expect(checkoutLinkState(key, paymentId, linkE, t, before)).toBe('payable');
    expect(checkoutTokenValid(key, paymentId, linkE, t, after)).toBe(true);
    expect(checkoutLinkState(key, paymentId, linkE, t, after)).toBe('result');
  });

  it('stops taking payment at the expiry second and is gone seven days after it', () => {
    const { e: linkE, t } = paramsOf(linkOf());
    expect(checkoutLinkState(key, paymentId, linkE, t, new Date(e * 1000))).toBe('result');
    const gone = new Date((e + CHECKOUT_RESULT_SECONDS) * 1000);
    expect(checkoutLinkState(key, paymentId, linkE, t, gone)).toBe('gone');
    expect(checkoutTokenValid(key, paymentId, linkE, t, gone)).toBe(false);
  });

  it('refuses a token for another payment, a moved expiry, another key or a changed character', () => {
    const now = new Date(expiresAt.getTime() - 60_000);
    const { e: linkE, t } = paramsOf(linkOf());
    const token = t ?? '';
    expect(checkoutTokenValid(key, 'pay_bbcdefghijklmnopqrstuvwxyz23', linkE, token, now)).toBe(false);
    expect(checkoutTokenValid(key, paymentId, String(e + 3600), token, now)).toBe(false);
    const otherKey = checkoutLinkKey(Buffer.alloc(32, 8).toString('base64'));
    expect(checkoutTokenValid(otherKey, paymentId, linkE, token, now)).toBe(false);
    const flipped = (token.startsWith('A') ? 'B' : 'A') + token.slice(1);
    expect(checkoutLinkState(key, paymentId, linkE, flipped, now)).toBe('invalid');
  });

  it('refuses missing, malformed or repeated parameters without throwing', () => {
    const now = new Date(expiresAt.getTime() - 60_000);
    const { e: linkE, t } = paramsOf(linkOf());
    for (const [badE, badT] of [
      [undefined, t],
      [linkE, undefined],
      ['', t],
      [`${linkE}.0`, t],
      ['-1', t],
      [linkE, `${t}=`],
      [linkE, (t ?? '').slice(1)],
      [[linkE, linkE], t],
      [linkE, [t, t]],
    ] as const) {
      expect(checkoutLinkState(key, paymentId, badE, badT, now)).toBe('invalid');
    }
  });
});
