import { verify } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAlipayAdapter } from '../../../src/channels/alipay/adapter.js';
import { alipayResponseKey, alipaySigningString, type AlipayMethod } from '../../../src/channels/alipay/protocol.js';
import { signSha256Rsa } from '../../../src/channels/rsa.js';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { generateKeyring } from '../../../src/crypto/keyring.js';
import {
  alipayPaymentNotificationParams,
  signAlipayNotification,
} from '../../../src/sandbox/channels/alipay/protocol.js';
import type { PaidTrade } from '../../../src/sandbox/channels/simulator.js';
import type { Currency } from '../../../domain/money.js';

/**
 * Alipay's cross-border mode (跨境收单) on the wire: a payment in a foreign currency is priced in
 * it (`trans_currency`, `total_amount` in its minor unit), settled in CNY (`settle_currency`),
 * refunded in it (`refund_currency`), and read back in it from answers and notifications. The
 * gateway here is a stand-in answering signed JSON as Alipay does; the notifications are the
 * sandbox's, checked by Alipay's own SDK as well as by the adapter.
 */

const keyring = generateKeyring();
const alipayPrivateKey = keyring.alipay.alipayPrivateKey as string;
const GATEWAY = 'http://alipay.test/gateway.do';

function adapterTaking(crossBorderCurrencies?: readonly Currency[]) {
  return createAlipayAdapter({
    gatewayUrl: GATEWAY,
    keyring: keyring.alipay,
    timeoutMs: 1_000,
    maxAmount: 100_000_000,
    ...(crossBorderCurrencies === undefined ? {} : { crossBorderCurrencies }),
  });
}
const adapter = adapterTaking(['USD', 'JPY', 'KRW']);

interface GatewayCall {
  method: string;
  biz: Record<string, string>;
}

/**
 * Stands in for Alipay's gateway: checks each request's RSA2 signature with the merchant's public
 * key, records its method and biz_content, and answers `answer(method)` signed with Alipay's key.
 */
function fakeGateway(answer: (method: AlipayMethod) => Record<string, unknown>): GatewayCall[] {
  const calls: GatewayCall[] = [];
  vi.stubGlobal('fetch', (url: string, init: { body: string }) => {
    expect(url).toBe(GATEWAY);
    const params = Object.fromEntries(new URLSearchParams(init.body));
    const signed = verify(
      'sha256',
      Buffer.from(alipaySigningString(params), 'utf8'),
      keyring.alipay.merchantPublicKey,
      Buffer.from(params.sign ?? '', 'base64'),
    );
    expect(signed).toBe(true);
    const method = params.method as AlipayMethod;
    calls.push({ method, biz: JSON.parse(params.biz_content ?? '{}') as Record<string, string> });
    const source = JSON.stringify({ code: '10000', msg: 'Success', ...answer(method) });
    const body = `{"${alipayResponseKey(method)}":${source},"sign":"${signSha256Rsa(source, alipayPrivateKey)}"}`;
    return Promise.resolve(
      new Response(body, { status: 200, headers: { 'content-type': 'application/json;charset=utf-8' } }),
    );
  });
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const EXPIRES_AT = '2026-02-10T08:00:00.000Z';

describe('which payments Alipay takes', () => {
  it('takes CNY and the configured cross-border currencies, up to its limit, and nothing else', () => {
    expect(adapter.supports('CNY', 19_900)).toBe(true);
    expect(adapter.supports('USD', 4_900)).toBe(true);
    expect(adapter.supports('JPY', 1_500)).toBe(true);
    expect(adapter.supports('KRW', 25_000)).toBe(true);
    expect(adapter.supports('USD', 100_000_001)).toBe(false);
    expect(adapter.supports('EUR', 4_900)).toBe(false);
  });

  it('says it takes a foreign currency only by converting it, so routing prefers channels that take it as it is', () => {
    expect(adapter.convertsCurrency?.('USD')).toBe(true);
    expect(adapter.convertsCurrency?.('JPY')).toBe(true);
    expect(adapter.convertsCurrency?.('CNY')).toBe(false);
  });

  it('takes CNY only without cross-border currencies', () => {
    expect(adapterTaking().supports('USD', 4_900)).toBe(false);
    expect(adapterTaking([]).supports('JPY', 1_500)).toBe(false);
    expect(adapterTaking([]).supports('CNY', 1)).toBe(true);
  });

  it('reads ALIPAY_CROSS_BORDER_CURRENCIES: nine currencies by default, none when empty, and names it when wrong', () => {
    expect(loadConfig({}).ALIPAY_CROSS_BORDER_CURRENCIES).toEqual([
      'USD',
      'EUR',
      'GBP',
      'HKD',
      'JPY',
      'SGD',
      'AUD',
      'CAD',
      'KRW',
    ]);
    expect(loadConfig({ ALIPAY_CROSS_BORDER_CURRENCIES: '' }).ALIPAY_CROSS_BORDER_CURRENCIES).toEqual([]);
    expect(loadConfig({ ALIPAY_CROSS_BORDER_CURRENCIES: ' JPY, USD ,JPY' }).ALIPAY_CROSS_BORDER_CURRENCIES).toEqual([
      'JPY',
      'USD',
    ]);
    for (const bad of ['usd', 'USD;EUR', 'XYZ', 'CNY,USD']) {
      expect(() => loadConfig({ ALIPAY_CROSS_BORDER_CURRENCIES: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ ALIPAY_CROSS_BORDER_CURRENCIES: bad })).toThrow(/\bALIPAY_CROSS_BORDER_CURRENCIES\b/);
    }
  });
});

describe('opening a cross-border order (alipay.trade.precreate)', () => {
  it.each([
    ['USD', 4_900, '49.00'],
    ['JPY', 1_500, '1500'],
    ['KRW', 25_000, '25000'],
  ] as const)(
    'prices a %s order in its own minor unit with trans_currency, settled in CNY',
    async (currency, amount, total) => {
      const calls = fakeGateway(() => ({ out_trade_no: 'pay_xb', qr_code: 'https://qr.alipay.com/bax0001' }));
      const order = await adapter.createOrder({
        paymentId: 'pay_xb',
        amount,
        currency,
        subject: 'TypeScript from zero',
        expiresAt: EXPIRES_AT,
        notifyUrl: 'https://pay.example/v1/callbacks/alipay',
      });

      expect(order).toEqual({
        channel: 'alipay',
        payUrl: 'https://qr.alipay.com/bax0001',
        merchantId: keyring.alipay.sellerId,
      });
      expect(calls).toEqual([
        {
          method: 'alipay.trade.precreate',
          biz: {
            out_trade_no: 'pay_xb',
            total_amount: total,
            trans_currency: currency,
            settle_currency: 'CNY',
            subject: 'TypeScript from zero',
            time_expire: '2026-02-10 16:00:00',
          },
        },
      ]);
    },
  );

  it('sends a CNY order as before, without trans_currency or settle_currency', async () => {
    const calls = fakeGateway(() => ({ out_trade_no: 'pay_cny', qr_code: 'https://qr.alipay.com/bax0002' }));
    await adapter.createOrder({
      paymentId: 'pay_cny',
      amount: 19_900,
      currency: 'CNY',
      subject: 'TypeScript from zero',
      expiresAt: EXPIRES_AT,
      notifyUrl: 'https://pay.example/v1/callbacks/alipay',
    });
    expect(calls[0]?.biz).toEqual({
      out_trade_no: 'pay_cny',
      total_amount: '199.00',
      subject: 'TypeScript from zero',
      time_expire: '2026-02-10 16:00:00',
    });
  });

  it('refuses a currency the merchant account does not take, without calling Alipay', async () => {
    const calls = fakeGateway(() => ({}));
    await expect(
      adapter.createOrder({
        paymentId: 'pay_eur',
        amount: 4_900,
        currency: 'EUR',
        subject: 'TypeScript from zero',
        expiresAt: EXPIRES_AT,
        notifyUrl: 'https://pay.example/v1/callbacks/alipay',
      }),
    ).rejects.toMatchObject({ name: 'ChannelRejectedError', code: 'unsupported_amount' });
    expect(calls).toEqual([]);
  });
});

describe('refunding a cross-border payment (alipay.trade.refund)', () => {
  it.each([
    ['USD', 1_250, '12.50'],
    ['JPY', 500, '500'],
    ['KRW', 10_000, '10000'],
  ] as const)('refunds %s in the trade currency with refund_currency', async (currency, amount, refundAmount) => {
    const calls = fakeGateway(() => ({ out_trade_no: 'pay_xb', fund_change: 'Y', refund_fee: refundAmount }));
    const outcome = await adapter.refund({
      paymentId: 'pay_xb',
      refundId: 'rf_xb',
      amount,
      totalAmount: amount * 4,
      currency,
      reason: 'one lesson back',
    });

    expect(outcome).toEqual({ status: 'SUCCEEDED' });
    expect(calls).toEqual([
      {
        method: 'alipay.trade.refund',
        biz: {
          out_trade_no: 'pay_xb',
          out_request_no: 'rf_xb',
          refund_amount: refundAmount,
          refund_currency: currency,
          refund_reason: 'one lesson back',
        },
      },
    ]);
  });

  it('refunds a CNY payment as before, without refund_currency', async () => {
    const calls = fakeGateway(() => ({ out_trade_no: 'pay_cny', fund_change: 'Y', refund_fee: '50.00' }));
    await adapter.refund({
      paymentId: 'pay_cny',
      refundId: 'rf_cny',
      amount: 5_000,
      totalAmount: 19_900,
      currency: 'CNY',
      reason: 'one lesson back',
    });
    expect(calls[0]?.biz).toEqual({
      out_trade_no: 'pay_cny',
      out_request_no: 'rf_cny',
      refund_amount: '50.00',
      refund_reason: 'one lesson back',
    });
  });
});

describe('reading a cross-border trade (alipay.trade.query)', () => {
  /** Alipay's answer about a paid trade priced in `currency`, with the buyer's CNY payment beside it. */
  const paidTrade = (fields: Record<string, string>) => ({
    out_trade_no: 'pay_xb',
    trade_no: '2026021022001412345678901234',
    trade_status: 'TRADE_SUCCESS',
    send_pay_date: '2026-02-10 15:04:00',
    settle_currency: 'CNY',
    pay_currency: 'CNY',
    ...fields,
  });

  it.each([
    ['USD', '49.00', 4_900, '351.82'],
    ['JPY', '1500', 1_500, '72.00'],
    ['KRW', '25000', 25_000, '130.00'],
  ] as const)(
    'reads a %s total_amount in its trans_currency, not the CNY the buyer paid',
    async (currency, total, amount, yuan) => {
      fakeGateway(() =>
        paidTrade({ trans_currency: currency, total_amount: total, buyer_pay_amount: yuan, settle_amount: yuan }),
      );
      expect(await adapter.queryOrder('pay_xb')).toEqual({
        state: 'PAID',
        channelTradeNo: '2026021022001412345678901234',
        amount,
        currency,
        paidAt: '2026-02-10T07:04:00.000Z',
      });
    },
  );

  it('refuses a total_amount with more decimals than its trans_currency has', async () => {
    fakeGateway(() => paidTrade({ trans_currency: 'JPY', total_amount: '1500.00' }));
    await expect(adapter.queryOrder('pay_xb')).rejects.toMatchObject({ code: 'bad_amount' });
  });

  it('refuses a trans_currency this product does not know', async () => {
    fakeGateway(() => paidTrade({ trans_currency: 'XAU', total_amount: '1.00' }));
    await expect(adapter.queryOrder('pay_xb')).rejects.toMatchObject({ code: 'bad_currency' });
  });
});

describe('a cross-border payment notification', () => {
  /** A trade the sandbox's Alipay holds as paid, priced in `currency`. */
  function paidTradeOf(currency: Currency, amount: number): PaidTrade {
    return {
      order: {
        _id: 'alipay:pay_xb',
        channel: 'alipay',
        outTradeNo: 'pay_xb',
        appId: keyring.alipay.appId,
        merchantId: keyring.alipay.sellerId,
        subject: 'TypeScript from zero',
        amount,
        currency,
        notifyUrl: 'https://pay.example/v1/callbacks/alipay',
        expiresAt: new Date('2026-02-10T08:00:00Z'),
        createdAt: new Date('2026-02-10T07:00:00Z'),
        reference: null,
      },
      state: 'PAID',
      outcome: {
        _id: 'alipay:pay_xb',
        channel: 'alipay',
        outTradeNo: 'pay_xb',
        state: 'PAID',
        channelTradeNo: '2026021022001412345678901234',
        buyerId: '2088102177846880',
        at: new Date('2026-02-10T07:04:00Z'),
      },
      refunded: 0,
      refundHeld: 0,
    };
  }

  function notificationOf(currency: Currency, amount: number, overrides: Record<string, string> = {}) {
    const params = alipayPaymentNotificationParams(paidTradeOf(currency, amount), {
      notifyId: 'ac05099524730693a8b330c5ecf72da9786',
      appId: keyring.alipay.appId,
    });
    return signAlipayNotification({ ...params, notify_time: '2026-02-10 15:04:05', ...overrides }, alipayPrivateKey);
  }

  const verifyBody = (body: string) => adapter.verifyNotification({ body: Buffer.from(body, 'utf8'), headers: {} });

  it.each([
    ['USD', 4_900, '49.00', '351.82', '7.1800', '0.13927577'],
    ['JPY', 1_500, '1500', '72.00', '0.0480', '20.83333333'],
    ['KRW', 25_000, '25000', '130.00', '0.0052', '192.30769231'],
  ] as const)(
    'carries the %s price, the CNY the buyer paid and the CNY settlement; Alipay’s SDK and the adapter verify it',
    (currency, amount, total, yuan, transPayRate, settleTransRate) => {
      const body = notificationOf(currency, amount);
      const fields = Object.fromEntries(new URLSearchParams(body));
      expect(fields).toMatchObject({
        total_amount: total,
        trans_currency: currency,
        settle_currency: 'CNY',
        settle_amount: yuan,
        pay_currency: 'CNY',
        pay_amount: yuan,
        buyer_pay_amount: yuan,
        receipt_amount: yuan,
        trans_pay_rate: transPayRate,
        settle_trans_rate: settleTransRate,
      });

      const sdk = new AlipaySdk({
        appId: keyring.alipay.appId,
        privateKey: keyring.alipay.merchantPrivateKey,
        alipayPublicKey: keyring.alipay.alipayPublicKey,
        keyType: keyring.alipay.merchantPrivateKey.includes('BEGIN RSA PRIVATE KEY') ? 'PKCS1' : 'PKCS8',
      });
      expect(sdk.checkNotifySignV2(fields)).toBe(true);
      expect(verifyBody(body)).toMatchObject({
        ok: true,
        kind: 'payment',
        notification: { outTradeNo: 'pay_xb', state: 'PAID', amount, currency },
      });
    },
  );

  it('has no cross-border fields for a CNY trade, and reads it as CNY', () => {
    const body = notificationOf('CNY', 19_900);
    const fields = Object.fromEntries(new URLSearchParams(body));
    expect(fields).toMatchObject({ total_amount: '199.00', buyer_pay_amount: '199.00' });
    expect(Object.keys(fields)).not.toContain('trans_currency');
    expect(Object.keys(fields)).not.toContain('settle_amount');
    expect(verifyBody(body)).toMatchObject({ ok: true, notification: { amount: 19_900, currency: 'CNY' } });
  });

  it('refuses a total_amount with more decimals than its trans_currency has', () => {
    expect(verifyBody(notificationOf('JPY', 1_500, { total_amount: '1500.00' }))).toMatchObject({
      ok: false,
      reason: 'bad_amount',
    });
  });

  it('refuses a trans_currency this product does not know', () => {
    expect(verifyBody(notificationOf('USD', 4_900, { trans_currency: 'XAU' }))).toMatchObject({
      ok: false,
      reason: 'bad_currency',
      outTradeNo: 'pay_xb',
    });
  });
});
