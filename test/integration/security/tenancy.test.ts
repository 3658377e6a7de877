import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformClient, type PlatformKey } from '../../../src/client/index.js';
import type { PaymentWorkflowInput } from '../../../workflows/contracts.js';
import { addStaff } from '../../../src/staff/store.js';
import { PROJECT_ROOT } from '../../../src/worker/workflow-bundle.js';
import { buildPaymentRequest, testPaymentId, uniqueId } from '../../support/builders.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * One install serves one platform (`PLATFORM_ID`): every key in `PLATFORM_KEYS` is that platform's
 * and acts for all of its payments, and each payment records which key opened it. A key naming
 * another platform never gets this far: test/unit/platform-keys.test.ts shows the process refuse it.
 */
let stack: TestStack;
const platformId = 'acme-academy';
const ordersKey: PlatformKey = { keyId: 'acme-orders', secret: randomBytes(32).toString('hex') };
const supportKey: PlatformKey = { keyId: 'acme-support', secret: randomBytes(32).toString('hex') };
let orders: PlatformClient;
let support: PlatformClient;

beforeAll(async () => {
  // Two backend services of the same platform, one naming the platform and one not.
  stack = await startStack({
    env: {
      PLATFORM_ID: platformId,
      PLATFORM_KEYS: `${platformId}/${ordersKey.keyId}:${ordersKey.secret},${supportKey.keyId}:${supportKey.secret}`,
    },
  });
  orders = new PlatformClient({ baseUrl: stack.baseUrl, ...ordersKey, maxRetries: 0 });
  support = new PlatformClient({ baseUrl: stack.baseUrl, ...supportKey, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
});

describe('one install, one platform', () => {
  it('records on the payment the key id that opened it, in the read model, the workflow and the staff API', async () => {
    const created = await orders.createPayment(buildPaymentRequest() as never);
    expect(created.paymentId).toBe(testPaymentId(created.orderId));

    const doc = await stack.database.models.payments.findOne({ _id: created.paymentId }).lean();
    expect(doc?.createdByKeyId).toBe(ordersKey.keyId);

    const history = await stack.temporal.client.workflow.getHandle(created.paymentId).fetchHistory();
    const { payloadCodecs, payloadConverter } = stack.temporal.client.options.loadedDataConverter;
    let payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
    const input = payloadConverter.fromPayload<PaymentWorkflowInput>(payloads[0]!);
    expect(input.createdByKeyId).toBe(ordersKey.keyId);

    const { token } = await addStaff(stack.database.models, uniqueId('auditor').toLowerCase(), 'support');
    const res = await fetch(`${stack.baseUrl}/staff/v1/payments/${created.paymentId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { payment: { createdByKeyId: string } }).payment.createdByKeyId).toBe(
      ordersKey.keyId,
    );
  });

  it("keeps the opening key when another of the platform's keys retries the same order", async () => {
    const request = buildPaymentRequest();
    const first = await orders.send('POST', '/v1/payments', { body: request });
    const retried = await support.send('POST', '/v1/payments', { body: request });
    expect([first.status, retried.status]).toEqual([201, 200]);
    expect((retried.body as { paymentId: string }).paymentId).toBe((first.body as { paymentId: string }).paymentId);
    const doc = await stack.database.models.payments.findOne({ _id: testPaymentId(request.orderId as string) }).lean();
    expect(doc?.createdByKeyId).toBe(ordersKey.keyId);
  });

  it('lets every key of the platform read and cancel every payment of the platform, as documented', async () => {
    const created = await orders.createPayment(buildPaymentRequest() as never);
    expect((await support.getPayment(created.paymentId)).status).toBe('awaiting_payment');
    const canceled = await support.send('POST', `/v1/payments/${created.paymentId}/cancel`, { body: {} });
    expect(canceled.status).toBe(200);
    expect((canceled.body as { status: string }).status).toBe('canceled');
  });

  it('says so in the security and configuration documents', () => {
    const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8').replace(/\s+/g, ' ');
    const [security, configuration] = [read('docs/security.md'), read('docs/configuration.md')];
    expect(security).toMatch(/## One install, one platform/);
    for (const doc of [security, configuration]) {
      expect(doc).toContain('`PLATFORM_ID`');
      expect(doc).toMatch(/One install serves one platform/);
      expect(doc).toMatch(/reads and cancels every payment/);
      expect(doc).toMatch(/two installs/);
    }
  });
});
