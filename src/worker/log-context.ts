import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { withLogContext, type LogContext } from '../logger.js';
import { PAYMENT_ID_PATTERN } from '../payments/identity.js';
import { requestIdIn } from '../temporal/request-id-header.js';

/** Length of a payment id (`pay_` and 28 base32 characters; src/payments/identity.ts). */
const PAYMENT_ID_LENGTH = 32;

/**
 * The payment an activity works for: its workflow's (a payment's workflow id is the payment id;
 * its refunds and late-payment workflows add a suffix), or the `paymentId` of its argument.
 */
function paymentIdOf(workflowId: string | undefined, args: readonly unknown[]): string | undefined {
  const prefix = workflowId?.slice(0, PAYMENT_ID_LENGTH);
  if (prefix !== undefined && PAYMENT_ID_PATTERN.test(prefix)) return prefix;
  const first = args[0];
  const fromArgs =
    typeof first === 'object' && first !== null ? (first as { paymentId?: unknown }).paymentId : undefined;
  return typeof fromArgs === 'string' && PAYMENT_ID_PATTERN.test(fromArgs) ? fromArgs : undefined;
}

/**
 * Every log line an activity writes (through the process logger or the activity's `log`) carries
 * its payment's id and the id of the API request that started the workflow, when there are such.
 */
export const activityLogContext: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    execute(input, next) {
      const context: LogContext = {};
      const requestId = requestIdIn(input.headers);
      if (requestId !== undefined) context.requestId = requestId;
      const paymentId = paymentIdOf(ctx.info.workflowExecution?.workflowId, input.args);
      if (paymentId !== undefined) context.paymentId = paymentId;
      return withLogContext(context, () => next(input));
    },
  },
});
