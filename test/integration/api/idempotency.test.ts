import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYMENT_CHANNELS } from '../../../domain/payment.js';
import { buildPaymentRequest, testPaymentId, uniqueId } from '../../support/builders.js';
import { startStack, type TestStack } from '../../support/stack.js';

/** `Idempotency-Key` on POSTs (src/api/idempotency.ts), against the real API, Temporal and MongoDB. */
let stack: TestStack;
beforeAll(async () => {
  // One pass down the route: a payment no channel can open fails at once (its 503 is the test's subject).
  stack = await startStack({ env: { CHANNEL_OPEN_RETRY_SECONDS: '0' } });
});
afterAll(async () => {
  await stack?.stop();
});

const keyed = (key: string) => ({ 'idempotency-key': key });

describe('Idempotency-Key', () => {
  it('replays the first answer, status and body, to a retry, and runs the request once', async () => {
    const key = uniqueId('idem');
    const request = buildPaymentRequest();
    const first = await stack.request('POST', '/v1/payments', request, keyed(key));
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const retry = await stack.request('POST', '/v1/payments', request, keyed(key));
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);

    // Same parameters in another key order and spacing are the same request.
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(request).reverse()), null, 2);
    const again = await stack.request('POST', '/v1/payments', reordered, keyed(key));
    expect(again.headers.get('idempotent-replayed')).toBe('true');

    expect(await stack.database.models.payments.countDocuments({ orderId: request.orderId })).toBe(1);
    const record = await stack.database.models.idempotencyRecords
      .findOne({ _id: `${stack.platformKey.keyId}:${key}` })
      .lean();
    expect(record).toMatchObject({ state: 'done', status: 201 });
    // The stored answer is encrypted at rest, like any personal data.
    expect(record?.body).toMatch(/^enc:v1:/);
    expect(record?.body).not.toContain(request.orderId);
  });

  it('answers 409 idempotency_error when the key comes back with different parameters', async () => {
    const key = uniqueId('idem');
    const request = buildPaymentRequest();
    expect((await stack.request('POST', '/v1/payments', request, keyed(key))).status).toBe(201);
    const other = buildPaymentRequest();
    const res = await stack.request('POST', '/v1/payments', other, keyed(key));
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      type: 'idempotency_error',
      code: 'idempotency_key_reused',
      param: 'Idempotency-Key',
    });
    expect(await stack.database.models.payments.countDocuments({ _id: testPaymentId(other.orderId as string) })).toBe(
      0,
    );
    // A different path under the same key is a different request too.
    const cancel = await stack.request(
      'POST',
      `/v1/payments/${testPaymentId(request.orderId as string)}/cancel`,
      {},
      keyed(key),
    );
    expect(cancel.status).toBe(409);
  });

  it('answers 409 while the first request with the key is still running, and takes over a dead holder’s key', async () => {
    const key = uniqueId('idem');
    const request = buildPaymentRequest();
    const _id = `${stack.platformKey.keyId}:${key}`;
    // What the first request leaves behind while it runs: the same request, in flight, locked.
    const first = await stack.request('POST', '/v1/payments', request, keyed(key));
    const { requestHash } = (await stack.database.models.idempotencyRecords.findOne({ _id }).lean())!;
    await stack.database.models.idempotencyRecords.updateOne(
      { _id },
      { $set: { state: 'in_flight', lockedUntil: new Date(Date.now() + 60_000), status: null, body: null } },
    );
    const busy = await stack.request('POST', '/v1/payments', request, keyed(key));
    expect(busy.status).toBe(409);
    expect(busy.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_request_in_progress' });
    expect(busy.headers.get('retry-after')).toBe('1');

    // The process holding it died: once its lock runs out, a retry runs the request (which is
    // itself idempotent by order id) and answers for the same payment.
    await stack.database.models.idempotencyRecords.updateOne(
      { _id },
      { $set: { lockedUntil: new Date(Date.now() - 1) } },
    );
    const retry = await stack.request('POST', '/v1/payments', request, keyed(key));
    expect(retry.status).toBe(200);
    expect(retry.body.paymentId).toBe(first.body.paymentId);
    expect(await stack.database.models.idempotencyRecords.findOne({ _id }).lean()).toMatchObject({
      requestHash,
      state: 'done',
      status: 200,
    });
  });

  it('two concurrent requests with one key start one payment; the loser is told to retry or gets the replay', async () => {
    const key = uniqueId('idem');
    const request = buildPaymentRequest();
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => stack.request('POST', '/v1/payments', request, keyed(key))),
    );
    // One ran; every other either waited its turn (409) or got that very answer replayed.
    const original = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(original).toHaveLength(1);
    for (const answer of answers) {
      if (answer === original[0]) continue;
      if (answer.status === 409) {
        expect(answer.body.error.code).toBe('idempotency_request_in_progress');
      } else {
        expect(answer.status).toBe(201);
        expect(answer.headers.get('idempotent-replayed')).toBe('true');
        expect(answer.body).toEqual(original[0]?.body);
      }
    }
    expect(await stack.database.models.payments.countDocuments({ orderId: request.orderId })).toBe(1);
  });

  it('keeps the answer to a cancel', async () => {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest());
    const key = uniqueId('idem');
    const path = `/v1/payments/${created.body.paymentId}/cancel`;
    const first = await stack.request('POST', path, { reason: 'learner left' }, keyed(key));
    expect(first.status).toBe(200);
    const retry = await stack.request('POST', path, { reason: 'learner left' }, keyed(key));
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
  });

  it('does not keep a failure of ours (5xx): the retry runs again', async () => {
    const key = uniqueId('idem');
    // Every channel is down, so the payment cannot be opened: 503, and nothing kept.
    const outage = (enabled: boolean) =>
      Promise.all(
        PAYMENT_CHANNELS.map((channel) =>
          stack.request('POST', `/sandbox/v1/channels/${channel}/outage`, { operations: ['create'], enabled }),
        ),
      );
    await outage(true);
    try {
      const res = await stack.request('POST', '/v1/payments', buildPaymentRequest(), keyed(key));
      expect([res.status, res.body.error?.code]).toEqual([503, 'channels_unavailable']);
      expect(
        await stack.database.models.idempotencyRecords.countDocuments({ _id: `${stack.platformKey.keyId}:${key}` }),
      ).toBe(0);
    } finally {
      await outage(false);
    }
  });

  it('a request answered 503 by the response timeout keeps its key and settles it when it finishes', async () => {
    const slow = await startStack({ env: { API_RESPONSE_TIMEOUT_MS: '1000' } });
    const outage = (enabled: boolean) =>
      slow.request('POST', '/sandbox/v1/channels/alipay/outage', { operations: ['create'], enabled });
    try {
      // Alipay refuses to open orders, so the payment fails over to WeChat Pay after a few seconds.
      await outage(true);
      const key = uniqueId('idem');
      const request = buildPaymentRequest({ channel: 'alipay' });
      const first = await slow.request('POST', '/v1/payments', request, keyed(key));
      expect(first.status).toBe(503);
      expect(first.body.error.code).toBe('request_timeout');
      expect(first.headers.get('retry-after')).toBe('2');
      const meanwhile = await slow.request('POST', '/v1/payments', request, keyed(key));
      expect(meanwhile.status).toBe(409);
      expect(meanwhile.body.error.code).toBe('idempotency_request_in_progress');
      await expect
        .poll(
          async () =>
            (await slow.request('POST', '/v1/payments', request, keyed(key))).headers.get('idempotent-replayed'),
          {
            timeout: 30_000,
            interval: 500,
          },
        )
        .toBe('true');
      const replay = await slow.request('POST', '/v1/payments', request, keyed(key));
      expect(replay.status).toBe(201);
      expect(replay.body).toMatchObject({
        paymentId: testPaymentId(request.orderId as string),
        channel: 'wechatpay',
      });
    } finally {
      await outage(false);
      await slow.stop();
    }
  });
});
