import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILL_UTC_OFFSET_MINUTES, dayOf } from '../../domain/reconciliation.js';
import { addStaff } from '../../src/staff/store.js';
import { expectChannelBooks } from '../support/books.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, platformEvents, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * A course priced in dollars paid with Alipay's cross-border mode, end to end: the API, the
 * worker, the saga and the sandbox's Alipay over real HTTP. Alipay's own SDK, as an independent
 * merchant, asks the sandbox's gateway about the trade and verifies its signed answers.
 */
let stack: TestStack;
beforeAll(async () => {
  // An unconfirmed refund is asked about within a second.
  stack = await startStack({ env: { REFUND_QUERY_SCHEDULE_SECONDS: '0.2,0.5,1' } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Alipay's SDK as a merchant holding this stack's Alipay keys, against the sandbox's gateway. */
function alipaySdk(): AlipaySdk {
  const { alipay } = stack.keyring;
  const gateway = stack.config.ALIPAY_GATEWAY_URL;
  if (gateway === undefined) throw new Error('the test stack has no Alipay gateway');
  return new AlipaySdk({
    appId: alipay.appId,
    privateKey: alipay.merchantPrivateKey,
    alipayPublicKey: alipay.alipayPublicKey,
    keyType: alipay.merchantPrivateKey.includes('BEGIN RSA PRIVATE KEY') ? 'PKCS1' : 'PKCS8',
    gateway,
    camelcase: false,
  });
}

describe('paying a dollar course with Alipay’s cross-border mode', () => {
  it('opens a dollar order at Alipay’s cashier, succeeds with a voucher, and refunds part of it in dollars', async () => {
    const body = buildPaymentRequest({
      channel: 'alipay',
      checkout: 'channel',
      currency: 'USD',
      items: [buildItem({ unitAmount: 4_900 })],
    });
    const created = await stack.request('POST', '/v1/payments', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const payment = created.body;
    expect(payment).toMatchObject({ status: 'awaiting_payment', channel: 'alipay', currency: 'USD', amount: 4_900 });
    const paymentId = payment.paymentId as string;

    // The learner's link is Alipay's cashier, which shows the price in dollars.
    expect(payment.payUrl).toBe(`${stack.baseUrl}/sandbox/alipay/cashier/${paymentId}`);
    const page = await (await fetch(payment.payUrl as string)).text();
    expect(page).toMatch(/data-testid="amount">49\.00<span>USD<\/span>/);

    const sdk = alipaySdk();
    const query = () =>
      sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: paymentId } }, { validateSign: true });
    expect(await query()).toMatchObject({
      code: '10000',
      trade_status: 'WAIT_BUYER_PAY',
      total_amount: '49.00',
      trans_currency: 'USD',
      settle_currency: 'CNY',
    });

    await payAtChannel(stack, paymentId);
    const done = await waitForStatus(stack, paymentId, 'succeeded');
    expect(done).toMatchObject({ currency: 'USD', amount: 4_900, channelTradeNo: expect.any(String) });
    expect(done.voucher).toEqual({
      voucherId: expect.stringMatching(/^vch_/),
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const voucher = (await stack.request('GET', `/v1/vouchers/${done.voucher.voucherId}`)).body;
    expect(JSON.parse(voucher.payload)).toMatchObject({ paymentId, amount: 4_900, currency: 'USD', channel: 'alipay' });
    expect((await stack.request('POST', '/v1/vouchers/verify', voucher)).body).toMatchObject({ authentic: true });

    // Alipay holds the trade at its dollar price, paid by the buyer in yuan and settled in yuan.
    expect(await query()).toMatchObject({
      trade_status: 'TRADE_SUCCESS',
      trade_no: done.channelTradeNo,
      total_amount: '49.00',
      trans_currency: 'USD',
      settle_currency: 'CNY',
      settle_amount: '351.82',
      pay_currency: 'CNY',
      buyer_pay_amount: '351.82',
      trans_pay_rate: '7.1800',
    });

    const refund = (await stack.client.send('POST', `/v1/payments/${paymentId}/refunds`, {
      body: { amount: 1_250, reason: 'one lesson back' },
      idempotencyKey: uniqueId('idem'),
    })) as { status: number; body: { refundId: string; amount: number; currency: string } };
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body).toMatchObject({ amount: 1_250, currency: 'USD' });
    const { refundId } = refund.body;
    await pollUntil(
      async () => (await stack.request('GET', `/v1/payments/${paymentId}/refunds/${refundId}`)).body,
      (r) => r?.status === 'succeeded',
    );
    const partial = await waitForStatus(stack, paymentId, 'partially_refunded');
    expect(partial).toMatchObject({ refundedAmount: 1_250, refundableAmount: 3_650 });

    const books = await expectChannelBooks(stack, paymentId, { captured: 4_900, refunds: [1_250] });
    expect(books.currency).toBe('USD');
    expect(
      await sdk.exec(
        'alipay.trade.fastpay.refund.query',
        { bizContent: { out_trade_no: paymentId, out_request_no: refundId } },
        { validateSign: true },
      ),
    ).toMatchObject({ refund_status: 'REFUND_SUCCESS', total_amount: '49.00', refund_amount: '12.50' });

    const events = await pollUntil(
      () => platformEvents(stack, body.orderId as string),
      (list) => list.some((e) => e.type === 'refund.succeeded'),
    );
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['payment.succeeded', 'refund.succeeded']));
  });
});

describe('reconciling Alipay’s domestic bill beside cross-border payments', () => {
  it('completes: the yuan payment matches, and a yen payment, which the domestic bill does not carry, is left out', async () => {
    // The payments and the run must fall in one Beijing day (the bill's): near midnight, wait for the new day.
    const untilMidnight = 86_400_000 - ((Date.now() + BILL_UTC_OFFSET_MINUTES * 60_000) % 86_400_000);
    if (untilMidnight < 60_000) await new Promise((resolve) => setTimeout(resolve, untilMidnight + 1_000));
    const paid = async (overrides: Record<string, unknown>) => {
      const res = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay', ...overrides }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      await payAtChannel(stack, res.body.paymentId as string);
      await waitForStatus(stack, res.body.paymentId as string, 'succeeded');
      return res.body.paymentId as string;
    };
    const yuan = await paid({ items: [buildItem({ unitAmount: 10_000 })] });
    const yen = await paid({ currency: 'JPY', items: [buildItem({ unitAmount: 1_500 })] });

    const { token } = await addStaff(stack.database.models, uniqueId('fin').toLowerCase(), 'finance');
    const staff = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const res = await fetch(`${stack.baseUrl}/staff/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const started = await staff('POST', '/reconciliations', {
      channel: 'alipay',
      date: dayOf(new Date(), BILL_UTC_OFFSET_MINUTES),
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const run = await pollUntil(
      async () => (await staff('GET', `/reconciliations/${started.body.reconciliationId}`)).body,
      (r) => r.status !== 'running',
      60_000,
    );

    expect(run.status).toBe('completed');
    expect(run.matched.payments.amounts).toEqual([{ currency: 'CNY', amount: 10_000 }]);
    const findings = (run.exceptions as any[]).map((e) => [e.kind, e.transaction, e.paymentId, e.here?.currency]);
    // The yen payment is in Alipay's cross-border settlement file, not this bill: the run leaves it out.
    expect(findings.filter(([, , paymentId]) => paymentId === yen || paymentId === yuan)).toEqual([]);
    expect(findings.filter(([, , , currency]) => currency !== undefined && currency !== 'CNY')).toEqual([]);
  });
});
