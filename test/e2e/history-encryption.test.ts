import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelNotificationArgs } from '../../domain/payment.js';
import { channelNotificationUpdate } from '../../workflows/contracts.js';
import { buildPaymentRequest } from '../support/builders.js';
import { payAtChannel, waitForStatus } from '../support/payments.js';
import { FieldCipher } from '../../src/crypto/field-cipher.js';
import { FAILURE_CONVERTER_PATH } from '../../src/temporal/codec.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Every byte string in a history (payload data and metadata), read as UTF-8. */
function byteStrings(value: unknown, found: string[] = []): string[] {
  if (value instanceof Uint8Array) found.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) for (const v of value) byteStrings(v, found);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) byteStrings(v, found);
  else if (typeof value === 'string') found.push(value);
  return found;
}

describe('the workflow history Temporal keeps', () => {
  it('holds no plaintext customer id, request body or secret, only encrypted payloads', async () => {
    const customerId = 'learner-secret-4711';
    const body = buildPaymentRequest({ customerId, description: 'a private note from the learner' });
    const created = await stack.request('POST', '/v1/payments', body);
    await payAtChannel(stack, created.body.paymentId);
    await waitForStatus(stack, created.body.paymentId, 'succeeded');

    const history = await stack.temporal.client.workflow.getHandle(created.body.paymentId).fetchHistory();
    const everything = byteStrings(history).join('\n');
    expect(everything).not.toContain(customerId);
    expect(everything).not.toContain('a private note from the learner');
    expect(everything).not.toContain('"amount":19900');
    expect(everything).not.toContain(stack.keyring.platformWebhookSecret);
    expect(everything).not.toContain('BEGIN PRIVATE KEY');
    expect(everything).toContain('binary/encrypted');
    // The search attributes staff filter on stay readable: they carry no personal data.
    expect(everything).toContain(String(body.orderId));
  });
});

describe('failures in the workflow history', () => {
  const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

  it('hold their messages and stack traces only encrypted, and the workflow still reads them', async () => {
    // The preferred channel is down: its order creation fails with the gateway's address in the
    // message and the adapter's file paths in the stack, and the payment fails over.
    await stack.request('POST', '/sandbox/v1/channels/alipay/outage', { operations: ['create'], enabled: true });
    let paymentId: string;
    try {
      const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
      expect(created.status).toBe(201);
      expect(created.body.channel).toBe('wechatpay');
      paymentId = created.body.paymentId;
    } finally {
      await stack.request('POST', '/sandbox/v1/channels/alipay/outage', { operations: ['create'], enabled: false });
    }

    const history = await stack.temporal.client.workflow.getHandle(paymentId).fetchHistory();
    const failures = (history.events ?? []).flatMap((event) => {
      const failure =
        event.activityTaskFailedEventAttributes?.failure ?? event.activityTaskStartedEventAttributes?.lastFailure;
      return failure ? [failure] : [];
    });
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.message).toBe('Encoded failure');
      expect(failure.stackTrace ?? '').toBe('');
      expect(text(failure.encodedAttributes?.metadata?.encoding)).toBe('binary/encrypted');
      // The error type stays readable: workflows and staff tell failures apart by it.
      expect(failure.applicationFailureInfo?.type).toBe('ChannelUnavailableError');
    }
    const everything = byteStrings(history).join('\n');
    expect(everything).not.toContain('gateway.do');
    expect(everything).not.toContain('answered HTTP');
    expect(everything).not.toMatch(/\/(src|activities)\/[\w/.-]+\.ts/);

    // Decrypted, the words reach the workflow (its timeline) as before.
    const read = (await stack.request('GET', `/v1/payments/${paymentId}`)).body;
    const unavailable = read.timeline.find((t: { event: string }) => t.event === 'channel.unavailable');
    expect(unavailable?.detail ?? '').toContain('answered HTTP 503');
  });

  it("bring the workflow's refusal of an Update to the client in its own words", async () => {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
    const forged: ChannelNotificationArgs = {
      channel: 'alipay',
      notificationId: 'forged-encoded-failure',
      outTradeNo: created.body.paymentId,
      channelTradeNo: '2026000000000000000000000002',
      state: 'PAID',
      amount: created.body.amount,
      currency: 'CNY',
      merchantId: stack.keyring.alipay.sellerId,
      appId: stack.keyring.alipay.appId,
    };
    const refused = await stack.temporal.client.workflow
      .getHandle(created.body.paymentId)
      .executeUpdate(channelNotificationUpdate, { args: [forged] })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (refused as WorkflowUpdateFailedError).cause as { type?: string; message: string };
    expect(cause.type).toBe('message_not_sealed');
    expect(cause.message).toMatch(/^channel notifications come through the API/);

    // On the way, the words were encrypted: a client without the codec reads only the type.
    const outsider = new Client({
      connection: stack.temporal.client.connection,
      namespace: stack.config.TEMPORAL_NAMESPACE,
      dataConverter: { failureConverterPath: FAILURE_CONVERTER_PATH },
    });
    const unread = await outsider.workflow
      .getHandle(created.body.paymentId)
      .executeUpdate(channelNotificationUpdate, { args: [forged] })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(unread).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((unread as WorkflowUpdateFailedError).cause).toMatchObject({ message: 'Encoded failure' });
  });
});

describe('the MongoDB read model', () => {
  it('holds the customer id, the description and raw notifications only encrypted', async () => {
    const customerId = 'learner-at-rest-99';
    const body = buildPaymentRequest({ customerId, description: 'typed by the learner' });
    const created = await stack.request('POST', '/v1/payments', body);
    await payAtChannel(stack, created.body.paymentId);
    await waitForStatus(stack, created.body.paymentId, 'succeeded');

    const raw = stack.database.connection.db!;
    const payment = await raw.collection('payments').findOne({ _id: created.body.paymentId } as never);
    const stored = JSON.stringify(payment);
    expect(stored).not.toContain(customerId);
    expect(stored).not.toContain('typed by the learner');
    const cipher = new FieldCipher(stack.keyring.atRest);
    expect(cipher.decrypt(String(payment?.customerId))).toBe(customerId);

    const callback = await raw.collection('callbacks').findOne({ outTradeNo: created.body.paymentId });
    expect(String(callback?.rawBody)).toMatch(/^enc:v1:/);
    expect(cipher.decrypt(String(callback?.rawBody))).toContain(created.body.paymentId);
  });
});
