import { describe, expect, it } from 'vitest';
import { createAlipayAdapter } from '../../../src/channels/alipay/adapter.js';
import { formatAlipayTime } from '../../../src/channels/alipay/protocol.js';
import { verifySha256Rsa } from '../../../src/channels/rsa.js';
import { loadConfig } from '../../../src/config.js';
import { generateKeyring } from '../../../src/crypto/keyring.js';
import { signAlipayNotification } from '../../../src/sandbox/channels/alipay/protocol.js';

/**
 * A captured Alipay notification stays validly signed forever: its signed `notify_time` is what
 * tells a resend (Alipay sends 8 within 25 h: 4m, 10m, 10m, 1h, 2h, 6h, 15h) from a replay.
 */
const keyring = generateKeyring();
const now = new Date('2026-12-02T04:00:00Z');
const HOUR = 3_600_000;
const maxAgeSeconds = loadConfig({ NODE_ENV: 'test' }).ALIPAY_NOTIFY_MAX_AGE_SECONDS;
const adapter = createAlipayAdapter({
  gatewayUrl: 'http://127.0.0.1:9/gateway.do',
  keyring: keyring.alipay,
  timeoutMs: 1_000,
  maxAmount: 100_000_000,
  notifyMaxAgeSeconds: maxAgeSeconds,
  now: () => now,
});

function notification(fields: Record<string, string> = {}, key = keyring.alipay.alipayPrivateKey as string) {
  const body = signAlipayNotification(
    {
      notify_time: formatAlipayTime(now),
      notify_type: 'trade_status_sync',
      notify_id: 'ac05099524730693a8b330c5ecf72da9786',
      app_id: keyring.alipay.appId,
      charset: 'utf-8',
      version: '1.0',
      trade_no: '2026120222001412345678901234',
      out_trade_no: 'pay_abcdefghijklmnopqrstuvwxyz23',
      trade_status: 'TRADE_SUCCESS',
      total_amount: '199.00',
      seller_id: keyring.alipay.sellerId,
      ...fields,
    },
    key,
  );
  return adapter.verifyNotification({ body: Buffer.from(body), headers: {} });
}

const sentBefore = (ms: number) => formatAlipayTime(new Date(now.getTime() - ms));

describe('the age of an Alipay notification', () => {
  it("takes every resend of Alipay's schedule, the last one 25 hours after the first delivery", () => {
    const resendsAfterMinutes = [0, 4, 14, 24, 84, 204, 564, 1464, 25 * 60];
    for (const minutes of resendsAfterMinutes) {
      expect(notification({ notify_time: sentBefore(minutes * 60_000) }), `${minutes} min`).toMatchObject({ ok: true });
    }
    expect(maxAgeSeconds).toBeGreaterThanOrEqual(25 * 3_600);
  });

  it('refuses one sent longer ago than that, as from 2001: a replay never reaches the amount check', () => {
    for (const notifyTime of ['2001-01-01 00:00:00', sentBefore(maxAgeSeconds * 1000 + 1_000), sentBefore(30 * HOUR)]) {
      expect(notification({ notify_time: notifyTime, total_amount: '0.01' }), notifyTime).toEqual({
        ok: false,
        reason: 'stale_notify_time',
        outTradeNo: 'pay_abcdefghijklmnopqrstuvwxyz23',
      });
    }
  });

  it('refuses one from the future beyond clock skew, and one without a readable notify_time', () => {
    expect(notification({ notify_time: formatAlipayTime(new Date(now.getTime() + HOUR)) })).toMatchObject({
      ok: false,
      reason: 'stale_notify_time',
    });
    expect(notification({ notify_time: formatAlipayTime(new Date(now.getTime() + 60_000)) })).toMatchObject({
      ok: true,
    });
    expect(notification({ notify_time: 'yesterday' })).toMatchObject({ ok: false, reason: 'bad_notify_time' });
    expect(notification({ notify_time: '' })).toMatchObject({ ok: false, reason: 'bad_notify_time' });
  });

  it('is judged only once the signature holds: a forged one is refused as forged', () => {
    const notAlipays = keyring.alipay.merchantPrivateKey;
    expect(notification({ notify_time: '2001-01-01 00:00:00' }, notAlipays)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });
});

describe('an RSA2 signature', () => {
  it('longer than any RSA signature is refused before it is decoded', () => {
    expect(verifySha256Rsa('content', 'A'.repeat(1_048_576), keyring.alipay.alipayPublicKey)).toBe(false);
  });
});
