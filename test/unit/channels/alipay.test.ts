import { verify } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { describe, expect, it } from 'vitest';
import { createAlipayAdapter } from '../../../src/channels/alipay/adapter.js';
import {
  alipayNotificationSigningString,
  alipaySigningString,
  formatAlipayTime,
  openAlipayResponse,
  parseAlipayTime,
  signedAlipayRequest,
} from '../../../src/channels/alipay/protocol.js';
import { signSha256Rsa } from '../../../src/channels/rsa.js';
import { ChannelRejectedError } from '../../../src/channels/types.js';
import { generateKeyring } from '../../../src/crypto/keyring.js';
import { signAlipayNotification } from '../../../src/sandbox/channels/alipay/protocol.js';

const keyring = generateKeyring();
const other = generateKeyring();
const alipayPrivateKey = keyring.alipay.alipayPrivateKey as string;
const adapter = createAlipayAdapter({
  gatewayUrl: 'http://127.0.0.1:9/gateway.do',
  keyring: keyring.alipay,
  timeoutMs: 1_000,
  maxAmount: 100_000_000,
});

function notificationParams(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    notify_time: '2026-02-10 15:04:05',
    notify_type: 'trade_status_sync',
    notify_id: 'ac05099524730693a8b330c5ecf72da9786',
    app_id: keyring.alipay.appId,
    charset: 'utf-8',
    version: '1.0',
    trade_no: '2026021022001412345678901234',
    out_trade_no: 'pay_abcdefghijklmnopqrstuvwxyz23',
    trade_status: 'TRADE_SUCCESS',
    subject: 'TypeScript from zero & more',
    total_amount: '199.00',
    receipt_amount: '199.00',
    buyer_pay_amount: '199.00',
    seller_id: keyring.alipay.sellerId,
    gmt_create: '2026-02-10 15:00:00',
    gmt_payment: '2026-02-10 15:04:00',
    ...overrides,
  };
}

function verifyBody(body: string) {
  return adapter.verifyNotification({ body: Buffer.from(body, 'utf8'), headers: {} });
}

describe('Alipay signing', () => {
  it('signs a request over the non-empty parameters except sign, sorted by name, with raw values', () => {
    expect(alipaySigningString({ b: '2', a: 'x y&z', sign: 'S', empty: '', c: undefined })).toBe('a=x y&z&b=2');
  });

  it('checks a notification over every parameter but sign and sign_type, empty values included', () => {
    expect(alipayNotificationSigningString({ sign_type: 'RSA2', sign: 'S', notify_id: '1', body: '' })).toBe(
      'body=&notify_id=1',
    );
  });

  it('sends every common parameter and a signature the merchant public key verifies', () => {
    const now = new Date(Date.UTC(2026, 1, 10, 7, 4, 5));
    const params = signedAlipayRequest(
      keyring.alipay,
      'alipay.trade.query',
      { out_trade_no: 'pay_x' },
      { now, notifyUrl: 'https://example.com/n' },
    );

    expect(params).toMatchObject({
      app_id: keyring.alipay.appId,
      method: 'alipay.trade.query',
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: '2026-02-10 15:04:05',
      version: '1.0',
      notify_url: 'https://example.com/n',
      biz_content: '{"out_trade_no":"pay_x"}',
    });
    const content = Buffer.from(alipaySigningString(params), 'utf8');
    expect(verify('sha256', content, keyring.alipay.merchantPublicKey, Buffer.from(params.sign ?? '', 'base64'))).toBe(
      true,
    );
  });

  it('writes and reads time in Asia/Shanghai', () => {
    expect(formatAlipayTime(new Date(Date.UTC(2026, 0, 31, 16, 30, 5)))).toBe('2026-02-01 00:30:05');
    expect(parseAlipayTime('2026-02-01 00:30:05')?.toISOString()).toBe('2026-01-31T16:30:05.000Z');
    expect(parseAlipayTime('2026-02-30 00:00:00')).toBeUndefined();
    expect(parseAlipayTime('2026-02-01T00:30:05')).toBeUndefined();
  });
});

describe('Alipay gateway answers', () => {
  const signedAnswer = (response: object, key = alipayPrivateKey, member = 'alipay_trade_query_response') => {
    const source = JSON.stringify(response);
    return `{"${member}":${source},"sign":"${signSha256Rsa(source, key)}"}`;
  };

  it('opens an answer whose *_response member carries Alipay’s signature over its exact text', () => {
    const text = signedAnswer({ code: '10000', msg: 'Success', trade_status: 'WAIT_BUYER_PAY', total_amount: '1.00' });
    expect(openAlipayResponse(text, 'alipay.trade.query', keyring.alipay.alipayPublicKey)).toMatchObject({
      code: '10000',
      trade_status: 'WAIT_BUYER_PAY',
    });
  });

  it('opens an error_response for a method the gateway did not recognise', () => {
    const text = signedAnswer({ code: '40002', msg: 'Invalid Arguments' }, alipayPrivateKey, 'error_response');
    expect(openAlipayResponse(text, 'alipay.trade.query', keyring.alipay.alipayPublicKey).code).toBe('40002');
  });

  it.each([
    ['an altered member', (t: string) => t.replace('WAIT_BUYER_PAY', 'TRADE_SUCCESS')],
    ['no signature', (t: string) => t.replace(/,"sign":"[^"]+"/, '')],
    ['another key’s signature', () => signedAnswer({ code: '10000', msg: 'Success' }, other.alipay.alipayPrivateKey)],
  ])('fails closed on %s', (_case, alter: (text: string) => string) => {
    const text = alter(signedAnswer({ code: '10000', msg: 'Success', trade_status: 'WAIT_BUYER_PAY' }));
    expect(() => openAlipayResponse(text, 'alipay.trade.query', keyring.alipay.alipayPublicKey)).toThrow(
      expect.objectContaining({ name: 'ChannelRejectedError', code: 'bad_response_signature' }),
    );
  });

  it('refuses an answer that is not a gateway response', () => {
    expect(() => openAlipayResponse('<html>', 'alipay.trade.query', keyring.alipay.alipayPublicKey)).toThrow(
      ChannelRejectedError,
    );
  });
});

describe('Alipay notification verification', () => {
  it('accepts a correctly signed notification and converts total_amount from yuan to minor units', () => {
    const result = verifyBody(signAlipayNotification(notificationParams(), alipayPrivateKey));

    expect(result).toEqual({
      ok: true,
      kind: 'payment',
      notification: {
        channel: 'alipay',
        notificationId: 'ac05099524730693a8b330c5ecf72da9786',
        outTradeNo: 'pay_abcdefghijklmnopqrstuvwxyz23',
        channelTradeNo: '2026021022001412345678901234',
        state: 'PAID',
        amount: 19_900,
        currency: 'CNY',
        merchantId: keyring.alipay.sellerId,
        appId: keyring.alipay.appId,
        paidAt: '2026-02-10T07:04:00.000Z',
      },
    });
  });

  it.each([
    ['0.01', 1],
    ['1', 100],
    ['100000000.00', 10_000_000_000],
  ])('reads total_amount %s yuan as %i fen', (yuan, minor) => {
    const result = verifyBody(signAlipayNotification(notificationParams({ total_amount: yuan }), alipayPrivateKey));
    expect(result.ok && result.kind === 'payment' && result.notification.amount).toBe(minor);
  });

  it('accepts a notification with empty fields, signed as Alipay signs, and Alipay’s own SDK agrees', () => {
    const body = signAlipayNotification(notificationParams({ body: '', passback_params: '' }), alipayPrivateKey);
    const fields = Object.fromEntries(new URLSearchParams(body));
    expect(fields).toMatchObject({ body: '', passback_params: '' });

    expect(verifyBody(body)).toMatchObject({ ok: true, kind: 'payment' });
    const sdk = new AlipaySdk({
      appId: keyring.alipay.appId,
      privateKey: keyring.alipay.merchantPrivateKey,
      alipayPublicKey: keyring.alipay.alipayPublicKey,
      keyType: keyTypeOf(keyring.alipay.merchantPrivateKey),
    });
    expect(sdk.checkNotifySignV2(fields)).toBe(true);
    // Signed the old way (empty values left out), the SDK refuses it, and so does the adapter.
    const { sign: _sign, sign_type: _type, ...unsigned } = fields;
    const dropped = new URLSearchParams({
      ...unsigned,
      sign_type: 'RSA2',
      sign: signSha256Rsa(alipaySigningString(unsigned), alipayPrivateKey),
    });
    expect(sdk.checkNotifySignV2(Object.fromEntries(dropped))).toBe(false);
    expect(verifyBody(dropped.toString())).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a notification with one byte changed', () => {
    const body = signAlipayNotification(notificationParams(), alipayPrivateKey).replace(
      'total_amount=199.00',
      'total_amount=199.01',
    );
    expect(verifyBody(body)).toEqual({
      ok: false,
      reason: 'bad_signature',
      outTradeNo: 'pay_abcdefghijklmnopqrstuvwxyz23',
    });
  });

  it('rejects a signature that is not canonical base64, though a lenient decoder would read the same bytes', () => {
    const params = new URLSearchParams(signAlipayNotification(notificationParams(), alipayPrivateKey));
    params.set('sign', `${params.get('sign') ?? ''}$`);
    expect(verifyBody(params.toString())).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a notification signed by another key', () => {
    const body = signAlipayNotification(notificationParams(), other.alipay.alipayPrivateKey as string);
    expect(verifyBody(body)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a notification without a signature', () => {
    expect(verifyBody(new URLSearchParams(notificationParams()).toString())).toMatchObject({
      ok: false,
      reason: 'missing_signature',
    });
    expect(verifyBody('')).toMatchObject({ ok: false, reason: 'missing_signature' });
  });

  it('rejects a sign type other than RSA2', () => {
    const body = signAlipayNotification(notificationParams(), alipayPrivateKey).replace(
      'sign_type=RSA2',
      'sign_type=RSA',
    );
    expect(verifyBody(body)).toMatchObject({ ok: false, reason: 'unsupported_sign_type' });
  });

  it('rejects a signed amount that is not an exact yuan amount', () => {
    const body = signAlipayNotification(notificationParams({ total_amount: '199.001' }), alipayPrivateKey);
    expect(verifyBody(body)).toMatchObject({ ok: false, reason: 'bad_amount' });
  });

  it('rejects a body that repeats a field', () => {
    const body = `${signAlipayNotification(notificationParams(), alipayPrivateKey)}&total_amount=1.00`;
    expect(verifyBody(body)).toMatchObject({ ok: false, reason: 'malformed_body' });
  });

  it('reads TRADE_CLOSED with a refund as REFUNDED and without one as CLOSED', () => {
    const refunded = verifyBody(
      signAlipayNotification(
        notificationParams({ trade_status: 'TRADE_CLOSED', refund_fee: '199.00' }),
        alipayPrivateKey,
      ),
    );
    const closed = verifyBody(
      signAlipayNotification(notificationParams({ trade_status: 'TRADE_CLOSED' }), alipayPrivateKey),
    );
    expect(refunded.ok && refunded.kind === 'payment' && refunded.notification.state).toBe('REFUNDED');
    expect(closed.ok && closed.kind === 'payment' && closed.notification.state).toBe('CLOSED');
  });

  it('reads TRADE_FINISHED as PAID, not as a second payment', () => {
    const result = verifyBody(
      signAlipayNotification(notificationParams({ trade_status: 'TRADE_FINISHED' }), alipayPrivateKey),
    );
    expect(result.ok && result.kind === 'payment' && result.notification.state).toBe('PAID');
  });
});

describe('Alipay routing and acknowledgements', () => {
  it('takes CNY from 1 fen up to its limit only', () => {
    expect(adapter.supports('CNY', 1)).toBe(true);
    expect(adapter.supports('CNY', 100_000_000)).toBe(true);
    expect(adapter.supports('CNY', 100_000_001)).toBe(false);
    expect(adapter.supports('CNY', 0)).toBe(false);
    expect(adapter.supports('USD', 100)).toBe(false);
  });

  it('acknowledges with exactly `success` and refuses with `fail`', () => {
    expect(adapter.ackSuccess()).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
    expect(adapter.ackFailure('bad_signature')).toEqual({ status: 400, contentType: 'text/plain', body: 'fail' });
  });
});

/** The SDK's name for the merchant key's PEM kind. */
function keyTypeOf(pem: string): 'PKCS1' | 'PKCS8' {
  return pem.includes('BEGIN RSA PRIVATE KEY') ? 'PKCS1' : 'PKCS8';
}
