import { WithStartWorkflowOperation } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildItem, buildPaymentRequest, testPaymentId } from '../support/builders.js';
import { startStack, type TestStack } from '../support/stack.js';
import { legacyPaymentIdForOrder, requestFingerprint } from '../../src/payments/identity.js';
import { createPaymentRequestSchema } from '../../src/api/schemas.js';
import type { PaymentRequest } from '../../domain/payment.js';
import { openPaymentUpdate } from '../../workflows/contracts.js';
import type { paymentWorkflow } from '../../workflows/payment.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('POST /v1/payments', () => {
  it('starts one payment workflow, records the payment in MongoDB and answers 201', async () => {
    const body = buildPaymentRequest();
    const res = await stack.request('POST', '/v1/payments', body);

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      paymentId: testPaymentId(body.orderId as string),
      orderId: body.orderId,
      status: 'awaiting_payment',
      amount: 19_900,
      currency: 'CNY',
    });
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeGreaterThan(800_000);

    const doc = await stack.database.models.payments.findOne({ paymentId: res.body.paymentId }).lean();
    expect(doc).toMatchObject({ orderId: body.orderId, status: 'awaiting_payment', amount: 19_900, currency: 'CNY' });

    const description = await stack.temporal.client.workflow.getHandle(res.body.paymentId).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.taskQueue).toBe(stack.config.TEMPORAL_TASK_QUEUE);
    // Longer than Temporal's 10 s default: a loaded worker keeps its tasks (src/temporal/client.ts).
    const { executionConfig } = description.raw;
    expect(Number(executionConfig?.defaultWorkflowTaskTimeout?.seconds)).toBe(30);
  });

  it('keeps a payment made before ids were keyed: a retried create of its order finds it by its old id', async () => {
    const body = buildPaymentRequest();
    const request: PaymentRequest = createPaymentRequestSchema({ maxAmount: stack.config.PAYMENT_MAX_AMOUNT }).parse(
      body,
    );
    const legacyId = legacyPaymentIdForOrder(request.orderId);
    const fingerprint = requestFingerprint(request);
    await stack.temporal.client.workflow.executeUpdateWithStart(openPaymentUpdate, {
      args: [{ requestFingerprint: fingerprint }],
      startWorkflowOperation: new WithStartWorkflowOperation<typeof paymentWorkflow>('paymentWorkflow', {
        workflowId: legacyId,
        taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
        args: [{ paymentId: legacyId, request, requestFingerprint: fingerprint, acceptedAt: new Date().toISOString() }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    await expect.poll(async () => await stack.database.models.payments.exists({ _id: legacyId })).toBeTruthy();

    const again = await stack.request('POST', '/v1/payments', body);

    expect({ status: again.status, paymentId: again.body.paymentId, error: again.body.error }).toEqual({
      status: 200,
      paymentId: legacyId,
      error: undefined,
    });
    expect(legacyId).not.toBe(testPaymentId(request.orderId));
    expect(await stack.database.models.payments.countDocuments({ orderId: request.orderId })).toBe(1);
    await expect(stack.temporal.client.workflow.getHandle(testPaymentId(request.orderId)).describe()).rejects.toThrow(
      /not found/i,
    );
  });

  it('answers a retried create with the same payment and 200, and starts nothing new', async () => {
    const body = buildPaymentRequest();
    const first = await stack.request('POST', '/v1/payments', body);
    const again = await stack.request('POST', '/v1/payments', body);

    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await stack.database.models.payments.countDocuments({ orderId: body.orderId })).toBe(1);
  });

  it('makes exactly one payment when the same create arrives five times at once', async () => {
    const body = buildPaymentRequest();
    const answers = await Promise.all(Array.from({ length: 5 }, () => stack.request('POST', '/v1/payments', body)));

    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.paymentId)).size).toBe(1);
    expect(await stack.database.models.payments.countDocuments({ orderId: body.orderId })).toBe(1);
    const runs = [];
    for await (const run of stack.temporal.client.workflow.list({
      query: `WorkflowId = '${answers[0]?.body.paymentId}'`,
    })) {
      runs.push(run);
    }
    expect(runs).toHaveLength(1);
  });

  it('answers 409 when the same order id comes back with different parameters', async () => {
    const body = buildPaymentRequest();
    await stack.request('POST', '/v1/payments', body);
    const conflicting = { ...body, items: [buildItem({ quantity: 2 })], amount: 39_800 };
    const res = await stack.request('POST', '/v1/payments', conflicting);

    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ type: 'conflict_error', code: 'order_conflict', param: 'orderId' });
    const doc = await stack.database.models.payments.findOne({ orderId: body.orderId }).lean();
    expect(doc?.amount).toBe(19_900);
  });

  it('answers from the read model once the workflow has closed, and still refuses a conflicting body', async () => {
    const body = buildPaymentRequest();
    const created = await stack.request('POST', '/v1/payments', body);
    await stack.temporal.client.workflow.getHandle(created.body.paymentId).terminate('test: close the run');

    const again = await stack.request('POST', '/v1/payments', body);
    expect(again.status).toBe(200);
    expect(again.body.paymentId).toBe(created.body.paymentId);

    const conflicting = await stack.request('POST', '/v1/payments', { ...body, customerId: 'someone-else' });
    expect(conflicting.status).toBe(409);

    const read = await stack.request('GET', `/v1/payments/${created.body.paymentId}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ paymentId: created.body.paymentId, status: 'awaiting_payment' });
  });

  it('rejects bad input with a JSON error and starts nothing', async () => {
    const body = buildPaymentRequest({ amount: 1 });
    const res = await stack.request('POST', '/v1/payments', body);

    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ type: 'validation_error', param: 'amount' });
    expect(res.body.error.requestId).toBe(res.headers.get('x-request-id'));
    expect(await stack.database.models.payments.countDocuments({ orderId: body.orderId })).toBe(0);
    await expect(
      stack.temporal.client.workflow.getHandle(testPaymentId(body.orderId as string)).describe(),
    ).rejects.toThrow(/not found/i);
  });

  it.each([
    ['malformed JSON', '{"orderId":', { 'content-type': 'application/json' }, 400, 'malformed_json'],
    [
      'a non-JSON content type',
      'orderId=1',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
      'unsupported_media_type',
    ],
    [
      'a body over the limit',
      JSON.stringify({ description: 'x'.repeat(70_000) }),
      { 'content-type': 'application/json' },
      413,
      'body_too_large',
    ],
  ])('answers %s with %i', async (_what, raw, headers, status, code) => {
    const res = await stack.request('POST', '/v1/payments', raw, headers);
    const body = res.body as { error: { code: string; requestId: string } };
    expect(res.status).toBe(status);
    expect(body.error.code).toBe(code);
    expect(body.error.requestId).toMatch(/^req_/);
  });
});

describe('GET /v1/payments/:paymentId', () => {
  it('reads a running payment live from its workflow', async () => {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest());
    const res = await stack.request('GET', `/v1/payments/${created.body.paymentId}`);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      paymentId: created.body.paymentId,
      status: 'awaiting_payment',
      voucher: null,
      refunds: [],
    });
    expect(res.body.timeline.map((t: { event: string }) => t.event)).toEqual([
      'payment.accepted',
      'channel.order_created',
      'payment.awaiting_payment',
    ]);
  });

  it.each(['pay_doesnotexistdoesnotexist234', 'not-a-payment-id'])('answers 404 for %s', async (paymentId) => {
    const res = await stack.request('GET', `/v1/payments/${paymentId}`);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'not_found_error', code: 'payment_not_found' });
  });
});

describe('routing', () => {
  it('answers an unknown route with a 404 JSON error', async () => {
    const res = await stack.request('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.type).toBe('not_found_error');
  });

  it('answers a wrong method with 405 and an Allow header', async () => {
    const res = await stack.request('DELETE', '/v1/payments');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});
