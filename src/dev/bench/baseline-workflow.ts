/**
 * The benchmark's baseline: a bare workflow with the payment saga's round trips and none of its
 * work. Update-with-start opens it; it runs one local activity and two activities, then answers
 * the opening Update; one Update stands for the channel notification; five activities follow and
 * it completes. The activities do nothing and the payloads go through the default data converter,
 * so the difference to the product is what the codec, the database and the API cost.
 *
 * Workflow code: deterministic, `@temporalio/workflow` imports only. Bundled by the benchmark at
 * its start; it is not part of the product's workflow bundle.
 */
import {
  allHandlersFinished,
  condition,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';

/** What the baseline worker registers: steps that answer at once. */
export interface BaselineActivities {
  baselineStep(step: string): Promise<void>;
}

export interface BaselinePaymentInput {
  orderId: string;
  amount: number;
  currency: string;
}

/** The opening Update: answers once the steps before the answer are done. */
export const openBaselinePaymentUpdate = defineUpdate<{ orderId: string }>('openBaselinePayment');
/** Stands for the channel notification: marks the payment paid. */
export const notifyBaselinePaymentUpdate = defineUpdate<'accepted'>('notifyBaselinePayment');

const STEPS_BEFORE_ANSWER = 2;
const STEPS_AFTER_NOTIFICATION = 5;

const { baselineStep } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
const local = proxyLocalActivities<BaselineActivities>({
  startToCloseTimeout: '5 seconds',
  retry: { maximumAttempts: 3 },
});

export async function baselinePaymentWorkflow(input: BaselinePaymentInput): Promise<void> {
  let opened = false;
  let paid = false;
  setHandler(openBaselinePaymentUpdate, async () => {
    await condition(() => opened);
    return { orderId: input.orderId };
  });
  setHandler(notifyBaselinePaymentUpdate, () => {
    paid = true;
    return 'accepted' as const;
  });

  await local.baselineStep('route');
  for (let i = 0; i < STEPS_BEFORE_ANSWER; i++) await baselineStep(`before answer ${i + 1}`);
  opened = true;
  await condition(() => paid);
  for (let i = 0; i < STEPS_AFTER_NOTIFICATION; i++) await baselineStep(`after notification ${i + 1}`);
  await condition(allHandlersFinished);
}
