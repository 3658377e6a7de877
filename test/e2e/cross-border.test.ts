import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertMinor } from '../../domain/fx.js';
import { buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.request('DELETE', '/sandbox/v1/fx/rates/USD/CNY');
  await stack?.stop();
});

/**
 * A discounted bundle priced in dollars, settled in yuan: $129.00 less the bundle price's $20.00,
 * a $15.00 lesson, less a $4.00 welcome coupon on the order: $120.00.
 */
const bundleOrder = () =>
  buildPaymentRequest({
    currency: 'USD',
    amount: 12_000,
    channel: 'card',
    checkout: 'channel',
    items: [
      {
        courseId: 'ts-bundle',
        title: 'TypeScript bundle (3 courses)',
        kind: 'bundle',
        unitAmount: 12_900,
        quantity: 1,
        discounts: [{ code: 'BUNDLE20', description: 'Bundle price', amount: 2_000 }],
      },
      { courseId: 'ts-q-and-a', title: 'Live Q&A lesson', kind: 'lesson', unitAmount: 1_500, quantity: 1 },
    ],
    discounts: [{ code: 'WELCOME4', description: 'Welcome coupon', amount: 400 }],
  });

async function refund(paymentId: string, body: Record<string, unknown>) {
  return (await stack.client.send('POST', `/v1/payments/${paymentId}/refunds`, {
    body,
    idempotencyKey: uniqueId('idem'),
  })) as { status: number; body: Record<string, unknown> & { refundId: string; error?: { code: string } } };
}

async function refundSucceeded(paymentId: string, refundId: string) {
  return pollUntil(
    async () => (await stack.request('GET', `/v1/payments/${paymentId}/refunds/${refundId}`)).body,
    (view) => view?.status === 'succeeded',
  );
}

describe('a cross-border payment', () => {
  it('locks the quote at create, records it on the payment and the voucher, and refunds by item at that quote', async () => {
    const rate = '7.12345';
    expect((await stack.request('PUT', '/sandbox/v1/fx/rates/USD/CNY', { rate })).status).toBe(200);
    const body = bundleOrder();
    const created = await stack.request('POST', '/v1/payments', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { paymentId } = created.body as { paymentId: string };

    // 120.00 dollars at 7.12345 is 854.814 yuan: 854.81 once rounded to the fen.
    const settlement = convertMinor(12_000, 'USD', 'CNY', rate);
    expect(settlement).toBe(85_481);
    const fx = {
      rate,
      presentmentAmount: 12_000,
      presentmentCurrency: 'USD',
      settlementAmount: settlement,
      settlementCurrency: 'CNY',
      source: 'sandbox',
    };
    const opened = (await stack.request('GET', `/v1/payments/${paymentId}`)).body;
    expect(opened).toMatchObject({ amount: 12_000, currency: 'USD', channel: 'card', fx });
    expect(Date.parse(opened.fx.quotedAt)).toBeLessThanOrEqual(Date.now());

    await payAtChannel(stack, paymentId);
    const paid = await waitForStatus(stack, paymentId, 'succeeded');
    expect(paid.fx).toEqual(opened.fx);

    // The signed voucher carries every line with its kind and discounts, the order's discount and the quote.
    const voucher = (await stack.request('GET', `/v1/vouchers/${paid.voucher.voucherId}`)).body;
    const facts = JSON.parse(voucher.payload as string);
    expect(facts).toMatchObject({
      amount: 12_000,
      currency: 'USD',
      items: [
        { courseId: 'ts-bundle', kind: 'bundle', discounts: [{ code: 'BUNDLE20', amount: 2_000 }] },
        { courseId: 'ts-q-and-a', kind: 'lesson' },
      ],
      discounts: [{ code: 'WELCOME4', description: 'Welcome coupon', amount: 400 }],
      fx: opened.fx,
    });
    expect((await stack.request('POST', '/v1/vouchers/verify', voucher)).body).toMatchObject({ authentic: true });

    // The rate moves after the sale; refunds keep the sale's quote.
    expect((await stack.request('PUT', '/sandbox/v1/fx/rates/USD/CNY', { rate: '6.5' })).status).toBe(200);

    // The lesson's share of the order coupon is 48 cents (1500/12400 of 400, the leftover cent
    // going to the bundle's larger remainder): 14.52 dollars were paid for it, no more goes back.
    const tooMuch = await refund(paymentId, {
      amount: 1_500,
      reason: 'the Q&A lesson was canceled',
      items: [{ courseId: 'ts-q-and-a', amount: 1_500 }],
    });
    expect([tooMuch.status, tooMuch.body.error?.code], JSON.stringify(tooMuch.body)).toEqual([
      422,
      'refund_exceeds_refundable',
    ]);
    const unknownItem = await refund(paymentId, {
      amount: 100,
      reason: 'not in this order',
      items: [{ courseId: 'go-101', amount: 100 }],
    });
    expect(unknownItem.status, JSON.stringify(unknownItem.body)).toBe(422);
    const unbalanced = await refund(paymentId, {
      amount: 1_000,
      reason: 'items and amount disagree',
      items: [{ courseId: 'ts-q-and-a', amount: 900 }],
    });
    expect([unbalanced.status, unbalanced.body.error?.code]).toEqual([422, 'invalid_parameter']);

    const lesson = await refund(paymentId, {
      amount: 1_452,
      reason: 'the Q&A lesson was canceled',
      items: [{ courseId: 'ts-q-and-a', amount: 1_452 }],
    });
    expect(lesson.status, JSON.stringify(lesson.body)).toBe(201);
    const lessonShare = convertMinor(1_452, 'USD', 'CNY', rate);
    expect(lesson.body).toMatchObject({
      amount: 1_452,
      currency: 'USD',
      items: [{ courseId: 'ts-q-and-a', amount: 1_452 }],
      settlementAmount: lessonShare,
    });
    await refundSucceeded(paymentId, lesson.body.refundId);
    const again = await refund(paymentId, {
      amount: 1,
      reason: 'one cent more of the lesson',
      items: [{ courseId: 'ts-q-and-a', amount: 1 }],
    });
    expect([again.status, again.body.error?.code]).toEqual([422, 'refund_exceeds_refundable']);

    // The rest, the bundle in full: the two shares add up to the sale's settlement amount exactly.
    const rest = await refund(paymentId, {
      amount: 12_000 - 1_452,
      reason: 'the learner asked for everything back',
      items: [{ courseId: 'ts-bundle', amount: 12_000 - 1_452 }],
    });
    expect(rest.status, JSON.stringify(rest.body)).toBe(201);
    expect(rest.body.settlementAmount).toBe(settlement - lessonShare);
    await refundSucceeded(paymentId, rest.body.refundId);
    const refunded = await waitForStatus(stack, paymentId, 'refunded');
    expect(refunded.refunds).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ refundId: lesson.body.refundId, settlementAmount: lessonShare }),
        expect.objectContaining({ refundId: rest.body.refundId, settlementAmount: settlement - lessonShare }),
      ]),
    );
  });

  it('takes a payment in the settlement currency without a quote', async () => {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const view = (await stack.request('GET', `/v1/payments/${created.body.paymentId}`)).body;
    expect(view).toMatchObject({ currency: 'CNY', fx: null });
  });

  it('refuses a discount above its line, and an amount that does not add up, before anything is opened', async () => {
    const overDiscounted = buildPaymentRequest({
      currency: 'USD',
      amount: 0,
      items: [
        {
          courseId: 'ts-101',
          title: 'TypeScript 101',
          kind: 'course',
          unitAmount: 1_000,
          quantity: 1,
          discounts: [{ description: 'Too generous', amount: 1_500 }],
        },
      ],
    });
    const refused = await stack.request('POST', '/v1/payments', overDiscounted);
    expect(refused.status).toBe(422);
    const wrongTotal = bundleOrder();
    wrongTotal.amount = 12_400;
    const wrong = await stack.request('POST', '/v1/payments', wrongTotal);
    expect([wrong.status, wrong.body.error?.param], JSON.stringify(wrong.body)).toEqual([422, 'amount']);
    expect(wrong.body.error.message).toMatch(/12000/);
  });
});
