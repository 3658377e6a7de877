import { verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWechatPayAdapter } from '../../../src/channels/wechatpay/adapter.js';
import {
  decryptWechatpayResource,
  formatWechatpayTime,
  minorToFen,
  parseWechatpayAuthorization,
  wechatpayAuthorization,
  wechatpayRequestMessage,
} from '../../../src/channels/wechatpay/protocol.js';
import type { RawCallback } from '../../../src/channels/types.js';
import { generateKeyring, type Keyring } from '../../../src/crypto/keyring.js';
import {
  buildWechatpayNotificationBody,
  encryptWechatpayResource,
  signWechatpayBody,
  type WechatpaySigningKey,
} from '../../../src/sandbox/channels/wechatpay/protocol.js';

const keyring = generateKeyring();
const other = generateKeyring();
const platform = keyring.wechatpay.platformKeys[0] as Keyring['wechatpay']['platformKeys'][number];
const platformKey: WechatpaySigningKey = { serial: platform.serial, privateKey: platform.privateKey as string };
const otherPlatform = other.wechatpay.platformKeys[0] as Keyring['wechatpay']['platformKeys'][number];

function adapterWith(wechatpay: Keyring['wechatpay'] = keyring.wechatpay) {
  return createWechatPayAdapter({
    baseUrl: 'http://127.0.0.1:9/sandbox/wechatpay',
    keyring: wechatpay,
    timeoutMs: 1_000,
    maxAmount: 50_000_000,
  });
}
const adapter = adapterWith();

function transaction(overrides: Record<string, unknown> = {}) {
  return {
    mchid: keyring.wechatpay.mchId,
    appid: keyring.wechatpay.appId,
    out_trade_no: 'pay_abcdefghijklmnopqrstuvwxyz23',
    transaction_id: '4200001234202602101234567890',
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    success_time: '2026-02-10T15:04:00+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: { total: 19_900, payer_total: 19_900, currency: 'CNY', payer_currency: 'CNY' },
    ...overrides,
  };
}

/** The decrypted resource of a refund notification, as WeChat Pay documents it. */
function refundResource(overrides: Record<string, unknown> = {}) {
  return {
    mchid: keyring.wechatpay.mchId,
    out_trade_no: 'pay_abcdefghijklmnopqrstuvwxyz23',
    transaction_id: '4200001234202602101234567890',
    out_refund_no: 'rf_abcdefghijklmnopqrstuvwxyz23',
    refund_id: '50300001234202602101234567890',
    refund_status: 'SUCCESS',
    success_time: '2026-02-10T15:10:00+08:00',
    user_received_account: '支付用户零钱',
    amount: { total: 19_900, refund: 9_900, payer_total: 19_900, payer_refund: 9_900 },
    ...overrides,
  };
}

/** A notification as WeChat Pay sends it: encrypted resource, then headers signing the exact body. */
function notification(
  options: {
    plaintext?: object;
    eventType?: string;
    key?: WechatpaySigningKey;
    timestamp?: number;
    associatedData?: string;
    apiV3Key?: string;
    alterBody?: (body: string) => string;
  } = {},
): RawCallback {
  const resource = encryptWechatpayResource(
    JSON.stringify(options.plaintext ?? transaction()),
    options.apiV3Key ?? keyring.wechatpay.apiV3Key,
    options.associatedData === undefined ? {} : { associatedData: options.associatedData },
  );
  const body = buildWechatpayNotificationBody(resource, {
    id: 'EV-2026021015040001',
    ...(options.eventType === undefined ? {} : { eventType: options.eventType }),
  });
  const headers = signWechatpayBody(body, options.key ?? platformKey, {
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  });
  const sent = options.alterBody ? options.alterBody(body) : body;
  return {
    body: Buffer.from(sent, 'utf8'),
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
  };
}

describe('WeChat Pay request signing', () => {
  it('signs METHOD, path with query, timestamp, nonce and body, each followed by a newline', () => {
    expect(
      wechatpayRequestMessage('GET', '/v3/pay/transactions/out-trade-no/p1?mchid=19', '1700000000', 'N1', ''),
    ).toBe('GET\n/v3/pay/transactions/out-trade-no/p1?mchid=19\n1700000000\nN1\n\n');
  });

  it('builds an Authorization header the merchant public key verifies', () => {
    const body = '{"mchid":"1900000001"}';
    const header = wechatpayAuthorization(keyring.wechatpay, 'POST', '/v3/pay/transactions/native', body, {
      now: new Date(1_700_000_000_000),
      nonce: 'ABCDEF0123456789ABCDEF0123456789',
    });

    expect(header).toMatch(
      /^WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="ABCDEF0123456789ABCDEF0123456789",/,
    );
    const auth = parseWechatpayAuthorization(header);
    expect(auth).toMatchObject({
      mchid: keyring.wechatpay.mchId,
      timestamp: '1700000000',
      serial_no: keyring.wechatpay.merchantSerialNo,
    });
    const message = wechatpayRequestMessage(
      'POST',
      '/v3/pay/transactions/native',
      '1700000000',
      auth?.nonce_str ?? '',
      body,
    );
    expect(
      verify(
        'sha256',
        Buffer.from(message),
        keyring.wechatpay.merchantPublicKey,
        Buffer.from(auth?.signature ?? '', 'base64'),
      ),
    ).toBe(true);
  });

  it('writes time as RFC 3339 with the Shanghai offset', () => {
    expect(formatWechatpayTime(new Date(Date.UTC(2026, 0, 31, 16, 30, 5)))).toBe('2026-02-01T00:30:05+08:00');
  });
});

describe('WeChat Pay notification verification', () => {
  it('accepts a signed notification, decrypts it and reads amount.total fen as minor units', () => {
    expect(adapter.verifyNotification(notification())).toEqual({
      ok: true,
      kind: 'payment',
      notification: {
        channel: 'wechatpay',
        notificationId: 'EV-2026021015040001',
        outTradeNo: 'pay_abcdefghijklmnopqrstuvwxyz23',
        channelTradeNo: '4200001234202602101234567890',
        state: 'PAID',
        amount: 19_900,
        currency: 'CNY',
        merchantId: keyring.wechatpay.mchId,
        appId: keyring.wechatpay.appId,
        paidAt: '2026-02-10T07:04:00.000Z',
      },
    });
  });

  it('rejects a body with one byte changed', () => {
    const result = adapter.verifyNotification(notification({ alterBody: (b) => b.replace('"id":"EV-', '"id":"EW-') }));
    expect(result).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a signature by another key under a known serial', () => {
    const forged = { serial: platform.serial, privateKey: otherPlatform.privateKey as string };
    expect(adapter.verifyNotification(notification({ key: forged }))).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('fails closed on a serial it holds no key for', () => {
    const unknown = { serial: otherPlatform.serial, privateKey: otherPlatform.privateKey as string };
    expect(adapter.verifyNotification(notification({ key: unknown }))).toEqual({ ok: false, reason: 'unknown_serial' });
  });

  it('accepts either key while keys rotate, each chosen by its serial', () => {
    const rotating = adapterWith({ ...keyring.wechatpay, platformKeys: [otherPlatform, platform] });
    const byNewKey = { serial: otherPlatform.serial, privateKey: otherPlatform.privateKey as string };
    expect(rotating.verifyNotification(notification({ key: byNewKey })).ok).toBe(true);
    expect(rotating.verifyNotification(notification()).ok).toBe(true);
  });

  it.each([
    ['older', -301],
    ['newer', 301],
  ])('rejects a timestamp more than 300 s %s than now', (_case, offset) => {
    const timestamp = Math.floor(Date.now() / 1000) + offset;
    expect(adapter.verifyNotification(notification({ timestamp }))).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('rejects a notification without the signature headers', () => {
    const raw = notification();
    expect(adapter.verifyNotification({ body: raw.body, headers: {} })).toEqual({
      ok: false,
      reason: 'missing_signature',
    });
  });

  it('refuses to decrypt with the wrong associated data', () => {
    const resource = encryptWechatpayResource('{"a":1}', keyring.wechatpay.apiV3Key, { associatedData: 'transaction' });
    expect(decryptWechatpayResource(resource, keyring.wechatpay.apiV3Key)).toBe('{"a":1}');
    expect(() =>
      decryptWechatpayResource({ ...resource, associated_data: 'refund' }, keyring.wechatpay.apiV3Key),
    ).toThrow();
  });

  it('rejects a signed notification whose resource does not decrypt', () => {
    expect(adapter.verifyNotification(notification({ apiV3Key: other.wechatpay.apiV3Key }))).toEqual({
      ok: false,
      reason: 'decrypt_failed',
    });
  });

  it('rejects an amount that is not integer fen', () => {
    const plaintext = transaction({ amount: { total: 199.5, currency: 'CNY' } });
    expect(adapter.verifyNotification(notification({ plaintext }))).toMatchObject({ ok: false, reason: 'bad_amount' });
  });
});

describe('WeChat Pay refund notification verification', () => {
  const refundNotification = (eventType: string, overrides: Record<string, unknown> = {}) =>
    notification({ eventType, plaintext: refundResource(overrides), associatedData: 'refund' });

  it('accepts a signed REFUND.SUCCESS, decrypts it and reads amount.refund fen as the refund’s minor units', () => {
    expect(adapter.verifyNotification(refundNotification('REFUND.SUCCESS'))).toEqual({
      ok: true,
      kind: 'refund',
      refund: {
        channel: 'wechatpay',
        notificationId: 'EV-2026021015040001',
        outTradeNo: 'pay_abcdefghijklmnopqrstuvwxyz23',
        refundId: 'rf_abcdefghijklmnopqrstuvwxyz23',
        channelRefundId: '50300001234202602101234567890',
        status: 'SUCCEEDED',
        amount: 9_900,
        currency: 'CNY',
        merchantId: keyring.wechatpay.mchId,
      },
    });
  });

  it('reads REFUND.ABNORMAL as a refund still processing, with the reason ABNORMAL', () => {
    const result = adapter.verifyNotification(
      refundNotification('REFUND.ABNORMAL', { refund_status: 'ABNORMAL', success_time: undefined }),
    );
    expect(result).toMatchObject({ ok: true, kind: 'refund', refund: { status: 'PROCESSING', reason: 'ABNORMAL' } });
  });

  it('reads REFUND.CLOSED as a failed refund', () => {
    const result = adapter.verifyNotification(
      refundNotification('REFUND.CLOSED', { refund_status: 'CLOSED', success_time: undefined }),
    );
    expect(result).toMatchObject({ ok: true, kind: 'refund', refund: { status: 'FAILED', reason: 'CLOSED' } });
  });

  it('rejects a refund notification signed by another key under a known serial', () => {
    const forged = { serial: platform.serial, privateKey: otherPlatform.privateKey as string };
    const raw = notification({
      eventType: 'REFUND.SUCCESS',
      plaintext: refundResource(),
      associatedData: 'refund',
      key: forged,
    });
    expect(adapter.verifyNotification(raw)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a refund notification whose event type was changed after signing', () => {
    const raw = notification({
      eventType: 'REFUND.CLOSED',
      plaintext: refundResource({ refund_status: 'CLOSED' }),
      alterBody: (body) => body.replace('"REFUND.CLOSED"', '"REFUND.SUCCESS"'),
    });
    expect(adapter.verifyNotification(raw)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it.each([
    ['REFUND.SUCCESS', 'CLOSED'],
    ['REFUND.SUCCESS', 'PROCESSING'],
    ['REFUND.CLOSED', 'SUCCESS'],
    ['REFUND.ABNORMAL', 'SUCCESS'],
  ])('fails closed when %s carries refund_status %s', (eventType, refundStatus) => {
    expect(adapter.verifyNotification(refundNotification(eventType, { refund_status: refundStatus }))).toEqual({
      ok: false,
      reason: 'mismatched_refund_status',
      outTradeNo: 'pay_abcdefghijklmnopqrstuvwxyz23',
    });
  });

  it('fails closed on a refund notification without a refund_status', () => {
    expect(
      adapter.verifyNotification(refundNotification('REFUND.SUCCESS', { refund_status: undefined })),
    ).toMatchObject({ ok: false, reason: 'mismatched_refund_status' });
  });

  it('rejects a refund amount that is not integer fen', () => {
    const amount = { total: 19_900, refund: 99.5, payer_total: 19_900, payer_refund: 99.5 };
    expect(adapter.verifyNotification(refundNotification('REFUND.SUCCESS', { amount }))).toMatchObject({
      ok: false,
      reason: 'bad_amount',
    });
  });

  it('rejects a refund notification without out_refund_no', () => {
    expect(
      adapter.verifyNotification(refundNotification('REFUND.SUCCESS', { out_refund_no: undefined })),
    ).toMatchObject({ ok: false, reason: 'malformed_body' });
  });

  it('rejects an event type it does not know', () => {
    expect(adapter.verifyNotification(refundNotification('REFUND.PROCESSING'))).toEqual({
      ok: false,
      reason: 'unsupported_event_type',
    });
  });
});

describe('WeChat Pay amounts, routing and acknowledgements', () => {
  it('sends CNY minor units as fen and refuses anything else', () => {
    expect(minorToFen(19_900, 'CNY')).toBe(19_900);
    expect(() => minorToFen(100, 'USD')).toThrow(RangeError);
    expect(() => minorToFen(1.5, 'CNY')).toThrow(RangeError);
  });

  it('takes CNY from 1 fen up to its limit only', () => {
    expect(adapter.supports('CNY', 50_000_000)).toBe(true);
    expect(adapter.supports('CNY', 50_000_001)).toBe(false);
    expect(adapter.supports('JPY', 100)).toBe(false);
  });

  it('acknowledges with 204 and refuses with 400 {"code":"FAIL"}', () => {
    expect(adapter.ackSuccess().status).toBe(204);
    expect(adapter.ackFailure('bad_signature')).toEqual({
      status: 400,
      contentType: 'application/json',
      body: '{"code":"FAIL","message":"失败"}',
    });
  });
});
