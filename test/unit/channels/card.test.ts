import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { createCardAdapter } from '../../../src/channels/card/adapter.js';
import { generateCardKeys } from '../../../src/crypto/keyring.js';
import { stripeSignatureHeader } from '../../../src/sandbox/channels/card/protocol.js';

const keys = generateCardKeys();
const adapter = createCardAdapter({
  apiUrl: 'http://127.0.0.1:9/sandbox/card',
  payPageUrl: 'http://127.0.0.1:9/sandbox/card/pay',
  keyring: { accountId: keys.accountId, webhookSecret: keys.webhookSecret },
  timeoutMs: 1_000,
  maxAmount: 10_000_000,
});

function eventBody(type: string, object: Record<string, unknown>): string {
  return JSON.stringify({ id: 'evt_1', object: 'event', type, created: 1_764_000_000, data: { object } });
}

const succeeded = eventBody('payment_intent.succeeded', {
  id: 'pi_abc',
  object: 'payment_intent',
  amount: 1_999,
  amount_received: 1_999,
  currency: 'usd',
  status: 'succeeded',
  latest_charge: 'ch_123',
  metadata: { payment_id: 'pay_abcdefghijklmnopqrstuvwxyz23' },
});

describe('card webhooks, with the Stripe SDK as an independent peer', () => {
  it('signs as Stripe does: the SDK makes the same header and accepts it', () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const header = stripeSignatureHeader(succeeded, keys.webhookSecret, timestamp);
    const stripe = new Stripe('sk_test_unused_key_for_tests_only');
    expect(header).toBe(
      stripe.webhooks.generateTestHeaderString({ payload: succeeded, secret: keys.webhookSecret, timestamp }),
    );
    expect(stripe.webhooks.constructEvent(succeeded, header, keys.webhookSecret).type).toBe('payment_intent.succeeded');
  });

  it('turns a verified payment_intent.succeeded into a paid notification in minor units of its currency', () => {
    const result = adapter.verifyNotification({
      body: Buffer.from(succeeded),
      headers: { 'stripe-signature': stripeSignatureHeader(succeeded, keys.webhookSecret) },
    });
    expect(result).toEqual({
      ok: true,
      kind: 'payment',
      notification: expect.objectContaining({
        channel: 'card',
        notificationId: 'evt_1',
        outTradeNo: 'pay_abcdefghijklmnopqrstuvwxyz23',
        channelTradeNo: 'ch_123',
        state: 'PAID',
        amount: 1_999,
        currency: 'USD',
        merchantId: keys.accountId,
      }),
    });
  });

  it('refuses a changed body, another secret, and a signature older than five minutes, naming the payment it claims', () => {
    const claimed = { outTradeNo: 'pay_abcdefghijklmnopqrstuvwxyz23' };
    const header = stripeSignatureHeader(succeeded, keys.webhookSecret);
    const changed = succeeded.replace('1999', '1998');
    expect(adapter.verifyNotification({ body: Buffer.from(changed), headers: { 'stripe-signature': header } })).toEqual(
      { ok: false, reason: 'bad_signature', ...claimed },
    );
    const other = stripeSignatureHeader(succeeded, generateCardKeys().webhookSecret);
    expect(
      adapter.verifyNotification({ body: Buffer.from(succeeded), headers: { 'stripe-signature': other } }),
    ).toEqual({ ok: false, reason: 'bad_signature', ...claimed });
    const old = stripeSignatureHeader(succeeded, keys.webhookSecret, Math.floor(Date.now() / 1000) - 301);
    expect(adapter.verifyNotification({ body: Buffer.from(succeeded), headers: { 'stripe-signature': old } })).toEqual({
      ok: false,
      reason: 'stale_timestamp',
      ...claimed,
    });
    expect(adapter.verifyNotification({ body: Buffer.from(succeeded), headers: {} })).toEqual({
      ok: false,
      reason: 'missing_signature',
      ...claimed,
    });
  });

  it('reads a refund.updated event as the refund named in its metadata', () => {
    const body = eventBody('refund.updated', {
      id: 're_1',
      object: 'refund',
      amount: 500,
      currency: 'jpy',
      status: 'succeeded',
      metadata: { refund_id: 'rfd_1', payment_id: 'pay_abcdefghijklmnopqrstuvwxyz23' },
    });
    const result = adapter.verifyNotification({
      body: Buffer.from(body),
      headers: { 'stripe-signature': stripeSignatureHeader(body, keys.webhookSecret) },
    });
    expect(result).toMatchObject({
      ok: true,
      kind: 'refund',
      refund: { refundId: 'rfd_1', channelRefundId: 're_1', status: 'SUCCEEDED', amount: 500, currency: 'JPY' },
    });
  });

  it('takes every currency the product prices in, up to its limit', () => {
    expect(adapter.supports('USD', 10_000_000)).toBe(true);
    expect(adapter.supports('JPY', 1)).toBe(true);
    expect(adapter.supports('EUR', 10_000_001)).toBe(false);
  });
});
