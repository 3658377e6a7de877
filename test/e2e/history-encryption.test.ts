import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPaymentRequest } from '../support/builders.js';
import { payAtChannel, waitForStatus } from '../support/payments.js';
import { FieldCipher } from '../../src/crypto/field-cipher.js';
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
