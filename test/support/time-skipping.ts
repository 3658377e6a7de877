import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { expect, inject } from 'vitest';
import type { PaymentRequest } from '../../domain/payment.js';
import { requestFingerprint } from '../../src/payments/identity.js';
import { dataConverterFor } from '../../src/temporal/codec.js';
import { getPaymentQuery } from '../../workflows/contracts.js';
import type { paymentWorkflow } from '../../workflows/payment.js';
import { PAYMENT_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { buildPaymentRequest, testPaymentId } from './builders.js';
import { TEST_CODEC_KEYS, type TestStack } from './stack.js';

/**
 * Temporal's time-skipping test server (the provisioned binary), with the payments' search
 * attributes registered. Timers cost nothing while a test awaits a workflow's result through
 * `env.client` or sleeps with `env.sleep`; give its address to `startStack({ temporalAddress })`.
 */
export async function startTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const path = inject('timeSkippingServerPath');
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    client: { dataConverter: dataConverterFor({ temporalCodec: TEST_CODEC_KEYS }) },
    ...(path ? { server: { executable: { type: 'existing-path', path } } } : {}),
  });
  // The test server knows no custom search attributes until told (it has no list call).
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      PAYMENT_SEARCH_ATTRIBUTES.map((key) => [
        key.name,
        proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return env;
}

/**
 * Starts a payment's workflow on the test server as the API would (`expiresInSeconds: 900` unless
 * overridden), accepted at the server's time, and waits until it awaits payment. Its handle comes
 * from `env.client`, so awaiting `handle.result()` lets time skip.
 */
export async function startPaymentOnTestServer(
  env: TestWorkflowEnvironment,
  on: TestStack,
  overrides: Record<string, unknown> = {},
) {
  const request = buildPaymentRequest({ expiresInSeconds: 900, ...overrides }) as unknown as PaymentRequest;
  const paymentId = testPaymentId(request.orderId);
  // Time is global to the environment and earlier tests skipped ahead: accept at server time.
  const acceptedAt = new Date(await env.currentTimeMs()).toISOString();
  const handle = await env.client.workflow.start<typeof paymentWorkflow>('paymentWorkflow', {
    workflowId: paymentId,
    taskQueue: on.config.TEMPORAL_TASK_QUEUE,
    args: [{ paymentId, request, requestFingerprint: requestFingerprint(request), acceptedAt }],
  });
  await expect
    .poll(async () => (await handle.query(getPaymentQuery)).status, { timeout: 30_000 })
    .toBe('awaiting_payment');
  return { request, paymentId, handle };
}
