import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import { activityPresets } from './activity-presets.js';
import {
  PaymentErrorCode,
  getPaymentQuery,
  openPaymentUpdate,
  type PaymentStatus,
  type PaymentView,
  type PaymentWorkflowInput,
  type TimelineEntry,
} from './contracts.js';
import { PaymentChannelKey, PaymentStatusKey } from './search-attributes.js';
import { isTerminal, isValidTransition } from './state-machine.js';

const { recordPayment } = proxyActivities<PaymentActivities>(activityPresets.persistence);

/**
 * One payment, from the platform's request to a terminal status. The workflow id is the payment
 * id, itself derived from the platform's order id, so a retried create never makes a second one.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentView> {
  const { paymentId, request } = input;
  const expiresAt = new Date(Date.parse(input.acceptedAt) + request.expiresInSeconds * 1000).toISOString();
  let status: PaymentStatus = 'processing';
  const timeline: TimelineEntry[] = [{ at: input.acceptedAt, event: 'payment.accepted' }];
  let openRequests = 0;

  const view = (): PaymentView => ({
    paymentId,
    orderId: request.orderId,
    status,
    amount: request.amount,
    currency: request.currency,
    channel: request.channel ?? null,
    channelTradeNo: null,
    expiresAt,
    voucher: null,
    refunds: [],
    timeline: [...timeline],
  });

  /** Records the next status in the read model first, then makes it visible to queries. */
  const moveTo = async (next: PaymentStatus, detail?: string): Promise<void> => {
    if (!isValidTransition(status, next)) {
      throw ApplicationFailure.nonRetryable(`invalid transition ${status} -> ${next}`, 'invalid_transition');
    }
    const entry: TimelineEntry = {
      at: new Date().toISOString(),
      event: `payment.${next}`,
      ...(detail ? { detail } : {}),
    };
    await recordPayment({
      paymentId,
      request,
      requestFingerprint: input.requestFingerprint,
      status: next,
      expiresAt,
      timeline: [...timeline, entry],
    });
    status = next;
    timeline.push(entry);
    upsertSearchAttributes([{ key: PaymentStatusKey, value: next }]);
  };

  setHandler(getPaymentQuery, view);
  setHandler(
    openPaymentUpdate,
    async () => {
      openRequests += 1;
      const created = openRequests === 1;
      await condition(() => status !== 'processing');
      return { created, payment: view() };
    },
    {
      validator: ({ requestFingerprint }) => {
        if (requestFingerprint !== input.requestFingerprint) {
          throw ApplicationFailure.create({
            type: PaymentErrorCode.OrderConflict,
            message: `order ${request.orderId} already has a payment with different parameters`,
            nonRetryable: true,
          });
        }
      },
    },
  );

  if (request.channel) upsertSearchAttributes([{ key: PaymentChannelKey, value: request.channel }]);
  await moveTo('awaiting_payment');

  const windowMs = Date.parse(expiresAt) - Date.now();
  const settled = await condition(() => isTerminal(status), windowMs);
  if (!settled) await moveTo('expired', `no payment within ${request.expiresInSeconds} s`);

  await condition(allHandlersFinished);
  return view();
}
