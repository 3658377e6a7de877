import { createCipheriv, randomBytes, sign } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaymentRequestSchema } from '../../../src/api/schemas.js';
import { alipayNotificationSigningString, formatAlipayTime } from '../../../src/channels/alipay/protocol.js';
import { signSha256Rsa } from '../../../src/channels/rsa.js';
import { wechatpayMessage } from '../../../src/channels/wechatpay/protocol.js';
import { formatMajor } from '../../../domain/money.js';
import { buildPaymentRequest, testPaymentId, uniqueId } from '../../support/builders.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * Property-based tests (fast-check) over the two doors input comes through: the create endpoint
 * and the channel callbacks. Whatever is sent, the API never answers 5xx, and input it rejects
 * changes nothing.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const FIELDS = ['orderId', 'customerId', 'currency', 'amount', 'items', 'channel', 'expiresInSeconds', 'description'];
const REJECTED = [400, 409, 413, 415, 422];

/** A valid request with one random change: a field set to any JSON value, removed, or added. */
const mutatedRequest = fc
  .record({
    field: fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 12 })),
    action: fc.constantFrom('set', 'delete', 'setItemField'),
    value: fc.jsonValue({ maxDepth: 2 }),
    itemField: fc.constantFrom('courseId', 'title', 'unitAmount', 'quantity', 'extra'),
  })
  .map(({ field, action, value, itemField }) => {
    const request: Record<string, unknown> = buildPaymentRequest({ orderId: uniqueId('prop') });
    if (action === 'set') request[field] = value;
    else if (action === 'delete') delete request[field];
    else (request.items as Record<string, unknown>[])[0]![itemField] = value;
    return request;
  });

describe('POST /v1/payments, any input', () => {
  const schema = () => createPaymentRequestSchema({ maxAmount: stack.config.PAYMENT_MAX_AMOUNT });

  it('never answers 5xx; accepts only valid requests; a refused one stores and starts nothing', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedRequest, async (request) => {
        const res = await stack.request('POST', '/v1/payments', request);
        expect(res.status).toBeLessThan(500);
        const orderId = typeof request.orderId === 'string' ? request.orderId : undefined;
        const stored = orderId
          ? await stack.database.models.payments.findOne({ _id: testPaymentId(orderId) }).lean()
          : null;
        if (res.status === 201) {
          expect(schema().safeParse(request).success).toBe(true);
          expect(stored).toMatchObject({ amount: request.amount, currency: request.currency });
        } else {
          expect(REJECTED).toContain(res.status);
          expect(res.body.error).toMatchObject({ type: expect.any(String), code: expect.any(String) });
          expect(stored).toBeNull();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('answers any bytes under any content type with a 4xx and stores nothing', async () => {
    const before = await stack.database.models.payments.countDocuments({});
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 256 }),
        ),
        fc.constantFrom('application/json', 'application/json; charset=utf-16', 'text/plain', 'application/xml'),
        async (body, contentType) => {
          const res = await stack.request('POST', '/v1/payments', body.length === 0 ? ' ' : body.toString(), {
            'content-type': contentType,
          });
          expect(REJECTED).toContain(res.status);
        },
      ),
      { numRuns: 80 },
    );
    expect(await stack.database.models.payments.countDocuments({})).toBe(before);
  });
});

describe('channel callbacks, any input', () => {
  /** A payment awaiting the learner at `channel`: what forged callbacks try to change. */
  async function awaitingPayment(channel: 'alipay' | 'wechatpay') {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel }));
    expect(created.status).toBe(201);
    return created.body as { paymentId: string; amount: number };
  }

  async function unchanged(paymentId: string) {
    const view = (await stack.request('GET', `/v1/payments/${paymentId}`)).body;
    expect(view.status).toBe('awaiting_payment');
    expect(view.voucher).toBeNull();
    const outcomes = await stack.database.models.callbacks.distinct('outcome', { outTradeNo: paymentId });
    expect(outcomes.every((o) => o === 'rejected' || o === 'ignored')).toBe(true);
  }

  it('alipay: unsigned, badly signed, or validly signed with a wrong amount, is answered 4xx and changes nothing', async () => {
    const payment = await awaitingPayment('alipay');
    const otherKey = stack.keyring.alipay.merchantPrivateKey; // a real RSA key, but not Alipay's
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          signing: fc.constantFrom('none', 'garbage', 'other-key', 'alipay-key'),
          amount: fc.integer({ min: 1, max: 10_000_000 }).filter((n) => n !== payment.amount),
          status: fc.constantFrom('TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED', 'WAIT_BUYER_PAY', 'NONSENSE'),
          appId: fc.constantFrom(stack.keyring.alipay.appId, '2021999999999999'),
          extra: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }),
        }),
        async ({ signing, amount, status, appId, extra }) => {
          const fields: Record<string, string> = {
            ...extra,
            notify_time: formatAlipayTime(new Date()),
            notify_type: 'trade_status_sync',
            notify_id: uniqueId('n'),
            app_id: appId,
            charset: 'utf-8',
            version: '1.0',
            sign_type: 'RSA2',
            trade_no: `2026112522001${String(amount).padStart(15, '0')}`,
            out_trade_no: payment.paymentId,
            trade_status: status,
            total_amount: formatMajor(amount, 'CNY'),
            seller_id: stack.keyring.alipay.sellerId,
          };
          const content = alipayNotificationSigningString(fields);
          if (signing === 'garbage') fields.sign = randomBytes(256).toString('base64');
          if (signing === 'other-key') fields.sign = signSha256Rsa(content, otherKey);
          if (signing === 'alipay-key') fields.sign = signSha256Rsa(content, stack.keyring.alipay.alipayPrivateKey!);
          const res = await fetch(`${stack.baseUrl}/v1/callbacks/alipay`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(fields).toString(),
          });
          expect([res.status, await res.text()]).toEqual([400, 'fail']);
        },
      ),
      {
        numRuns: 40,
        // Each kind of refusal at least once, whatever the random runs draw.
        examples: [
          [{ signing: 'garbage', amount: 1, status: 'TRADE_SUCCESS', appId: stack.keyring.alipay.appId, extra: {} }],
          [
            {
              signing: 'alipay-key',
              amount: payment.amount + 1,
              status: 'TRADE_SUCCESS',
              appId: stack.keyring.alipay.appId,
              extra: {},
            },
          ],
        ],
      },
    );
    await unchanged(payment.paymentId);
    // Both kinds were exercised: refused at the signature, and refused by the payment for the amount.
    const reasons = (await stack.database.models.callbacks.distinct('reason', { outTradeNo: payment.paymentId })).map(
      String,
    );
    expect(reasons.some((r) => /signature/.test(r))).toBe(true);
    expect(reasons.some((r) => /amount \d+ differs/.test(r))).toBe(true);
  });

  it('wechatpay: bad signatures, unknown serials, stale timestamps and garbage bodies change nothing', async () => {
    const payment = await awaitingPayment('wechatpay');
    const platformKey = stack.keyring.wechatpay.platformKeys[0]!;
    const encrypt = (plain: string) => {
      const nonce = randomBytes(6).toString('hex');
      const cipher = createCipheriv(
        'aes-256-gcm',
        Buffer.from(stack.keyring.wechatpay.apiV3Key, 'utf8'),
        Buffer.from(nonce),
      );
      cipher.setAAD(Buffer.from('transaction'));
      const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return {
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: sealed.toString('base64'),
        nonce,
        associated_data: 'transaction',
      };
    };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          fault: fc.constantFrom('unsigned', 'garbage-signature', 'unknown-serial', 'stale', 'future', 'wrong-amount'),
          total: fc.integer({ min: 1, max: 10_000_000 }).filter((n) => n !== payment.amount),
          junk: fc.jsonValue({ maxDepth: 2 }),
        }),
        async ({ fault, total, junk }) => {
          const transaction = {
            appid: stack.keyring.wechatpay.appId,
            mchid: stack.keyring.wechatpay.mchId,
            out_trade_no: payment.paymentId,
            transaction_id: `42000${String(total).padStart(23, '0')}`,
            trade_type: 'NATIVE',
            trade_state: 'SUCCESS',
            success_time: new Date().toISOString(),
            amount: { total, payer_total: total, currency: 'CNY', payer_currency: 'CNY' },
          };
          const envelope =
            fault === 'wrong-amount' || fault === 'stale' || fault === 'future'
              ? {
                  id: uniqueId('evt'),
                  event_type: 'TRANSACTION.SUCCESS',
                  resource_type: 'encrypt-resource',
                  resource: encrypt(JSON.stringify(transaction)),
                }
              : junk;
          const body = Buffer.from(JSON.stringify(envelope));
          const skew = fault === 'stale' ? -600 : fault === 'future' ? 600 : 0;
          const timestamp = String(Math.floor(Date.now() / 1000) + skew);
          const nonce = randomBytes(16).toString('hex').toUpperCase();
          const signature =
            fault === 'garbage-signature'
              ? randomBytes(256).toString('base64')
              : sign('sha256', wechatpayMessage(timestamp, nonce, body), platformKey.privateKey!).toString('base64');
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (fault !== 'unsigned') {
            Object.assign(headers, {
              'wechatpay-serial': fault === 'unknown-serial' ? 'PUB_KEY_ID_UNKNOWN' : platformKey.serial,
              'wechatpay-signature': signature,
              'wechatpay-timestamp': timestamp,
              'wechatpay-nonce': nonce,
            });
          }
          const res = await fetch(`${stack.baseUrl}/v1/callbacks/wechatpay`, { method: 'POST', headers, body });
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 40 },
    );
    await unchanged(payment.paymentId);
    // The validly sealed ones reached the payment and were refused for their amount.
    const reasons = await stack.database.models.callbacks.distinct('reason', { outTradeNo: payment.paymentId });
    expect(reasons.some((r) => /amount \d+ differs/.test(String(r)))).toBe(true);
    // Every one of them was recorded, as rejected.
    expect(
      await stack.database.models.callbacks.countDocuments({ channel: 'wechatpay', outcome: { $ne: 'rejected' } }),
    ).toBe(0);
  });
});
