import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../src/webhooks/signature.js';

const secret = 'whsec_test_secret_that_is_long_enough';
const body = JSON.stringify({ id: 'evt_1', type: 'payment.succeeded' });
const now = 1_800_000_000;

describe('webhook signatures', () => {
  it('verifies its own signature', () => {
    expect(verifyWebhook(signWebhook(secret, body, now), body, [secret], { now })).toEqual({
      ok: true,
      timestamp: now,
    });
  });

  it('fails when one byte of the body changes', () => {
    const header = signWebhook(secret, body, now);
    expect(verifyWebhook(header, body.replace('1', '2'), [secret], { now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('fails outside the 300 s tolerance, either way', () => {
    expect(verifyWebhook(signWebhook(secret, body, now - 301), body, [secret], { now }).ok).toBe(false);
    expect(verifyWebhook(signWebhook(secret, body, now + 301), body, [secret], { now }).ok).toBe(false);
    expect(verifyWebhook(signWebhook(secret, body, now - 299), body, [secret], { now }).ok).toBe(true);
  });

  it('accepts either secret while one rotates', () => {
    const header = signWebhook('whsec_the_old_secret_still_in_use', body, now);
    expect(verifyWebhook(header, body, [secret, 'whsec_the_old_secret_still_in_use'], { now }).ok).toBe(true);
  });

  it.each([undefined, '', 't=abc,v1=00', 'v1=' + '0'.repeat(64), `t=${now}`])(
    'refuses the malformed header %j',
    (header) => {
      expect(verifyWebhook(header, body, [secret], { now })).toEqual({ ok: false, reason: 'malformed' });
    },
  );
});
