import {
  QueryNotRegisteredError,
  QueryRejectedError,
  ServiceError,
  WithStartWorkflowOperation,
  type Client,
} from '@temporalio/client';
import { WORKFLOW_TASK_TIMEOUT } from '../temporal/client.js';
import { checkoutLink, checkoutLinkKey } from '../checkout/link.js';
import { lockQuote, RateUnavailableError, type RateSource } from '../fx/rates.js';
import { CURRENCIES } from '../../domain/money.js';
import { rankChannels } from '../channels/routing.js';
import type { ChannelAdapter } from '../channels/types.js';
import type { Config } from '../config.js';
import type { Models } from '../db/connect.js';
import type { PaymentDocument } from '../db/models/payment.js';
import { PaymentErrorCode } from '../../domain/errors.js';
import type { FxQuote, PaymentChannel, PaymentRequest, PaymentView } from '../../domain/payment.js';
import {
  cancelPaymentUpdate,
  getPaymentQuery,
  openPaymentUpdate,
  type OpenPaymentResult,
  type PaymentWorkflowInput,
} from '../../workflows/contracts.js';
import type { paymentWorkflow } from '../../workflows/payment.js';
import {
  OrderIdKey,
  PaymentAmountKey,
  PaymentCurrencyKey,
  PaymentStatusKey,
} from '../../workflows/search-attributes.js';
import {
  amountNotConvertible,
  fxRateUnavailable,
  noChannelAvailable,
  returnUrlNotAllowed,
  notCancelable,
  notOpened,
  riskBlocked,
  orderConflict,
  paymentNotFound,
  workflowFailure,
} from './failures.js';
import {
  PAYMENT_ID_PATTERN,
  legacyPaymentIdForOrder,
  paymentIdForOrder,
  requestFingerprint,
  riskSubjectHash,
  type RiskSubject,
} from './identity.js';
import { createCheckoutService, type CheckoutServiceDeps } from './checkout.js';
import { createNotificationDelivery, type NotificationDeps } from './notifications.js';
import { paymentDocument, publicPaymentView, viewFromDocument } from './read-model.js';
import { createRefundService, type RefundServiceDeps } from './refunds.js';
import { createStaffOperations } from './staff.js';
import { addToLogContext } from '../logger.js';

export interface PaymentServiceDeps extends RefundServiceDeps, NotificationDeps, CheckoutServiceDeps {
  client: Client;
  models: Models;
  config: RefundServiceDeps['config'] &
    NotificationDeps['config'] &
    CheckoutServiceDeps['config'] &
    Pick<
      Config,
      | 'ATTENTION_CHANNEL_AFTER_SECONDS'
      | 'ATTENTION_WEBHOOK_AFTER_SECONDS'
      | 'API_RESPONSE_TIMEOUT_MS'
      | 'CHANNEL_OPEN_RETRY_SECONDS'
      | 'PUBLIC_BASE_URL'
      | 'PLATFORM_RETURN_ORIGINS'
      | 'SETTLEMENT_CURRENCY'
    >;
  /** Where exchange quotes come from (src/fx/rates.ts). */
  rates: RateSource;
  /**
   * Whether any risk rule is on (the workers read the same configuration): only then does a new
   * payment carry the hashes the risk check needs, and its workflow ask the check.
   */
  riskCheck: boolean;
  channels: Record<PaymentChannel, ChannelAdapter>;
  enabledChannels: readonly PaymentChannel[];
  /** The keyring's `paymentIdKey`: payment ids are a keyed MAC of the order id. */
  paymentIdKey: string;
}

/** How long a create may go on after the response timeout answered it 503. */
const CREATE_GRACE_MS = 30_000;
/** The platform-facing answer to a create: what the learner needs to go and pay. */
function openedPayment(view: PaymentView) {
  return {
    paymentId: view.paymentId,
    orderId: view.orderId,
    status: view.status,
    amount: view.amount,
    currency: view.currency,
    channel: view.channel,
    payUrl: view.payUrl,
    expiresAt: view.expiresAt,
    fx: view.fx ?? null,
  };
}

/**
 * The payment service: everything the API asks of payments, between HTTP and Temporal. Routes
 * parse a request, call one operation and answer with what it returns; every workflow failure
 * becomes an API error (or an answer from the read model) by src/payments/failures.ts. It keeps no
 * state of its own: the workflows and the read model hold it all.
 *
 * Its parts: opening, reading and canceling a payment (here), refunds and staff nudges
 * (refunds.ts), channel notifications (notifications.ts), staff reads and webhook resends
 * (staff.ts), the hosted checkout's reads and the learner's choice of method (checkout.ts).
 */
export function createPaymentService(deps: PaymentServiceDeps) {
  const { client, models, config, channels, enabledChannels, paymentIdKey, fieldCipher } = deps;
  const attention: NonNullable<PaymentWorkflowInput['attention']> = {
    channelUnreachableAfterMs: config.ATTENTION_CHANNEL_AFTER_SECONDS * 1000,
    webhookFailingAfterMs: config.ATTENTION_WEBHOOK_AFTER_SECONDS * 1000,
  };

  /** The order's payment id: the keyed one, unless the order already has a payment from before keyed ids. */
  async function paymentIdOf(orderId: string): Promise<string> {
    const legacy = legacyPaymentIdForOrder(orderId);
    return (await models.payments.exists({ _id: legacy })) ? legacy : paymentIdForOrder(orderId, paymentIdKey);
  }

  const linkKey = checkoutLinkKey(paymentIdKey);
  const returnOrigins = new Set(
    (config.PLATFORM_RETURN_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== '')
      .map((origin) => new URL(origin).origin),
  );

  /** Which currencies some enabled channel takes at this amount, and by which channels: what a refusal offers instead. */
  function currencyOffers(amount: number) {
    return CURRENCIES.map((currency) => ({
      currency,
      channels: rankChannels(channels, enabledChannels, { currency, amount }),
    })).filter((offer) => offer.channels.length > 0);
  }

  interface Opening {
    paymentId: string;
    request: PaymentRequest;
    fingerprint: string;
    createdByKeyId: string;
    risk: RiskSubject | undefined;
    acceptedAt: Date;
    fx: FxQuote | undefined;
  }

  function startOperation({ paymentId, request, fingerprint, createdByKeyId, risk, acceptedAt, fx }: Opening) {
    const expiresAt = new Date(acceptedAt.getTime() + request.expiresInSeconds * 1000);
    const hosted = request.checkout !== 'channel';
    return new WithStartWorkflowOperation<typeof paymentWorkflow>('paymentWorkflow', {
      workflowId: paymentId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
      args: [
        {
          paymentId,
          request,
          requestFingerprint: fingerprint,
          acceptedAt: acceptedAt.toISOString(),
          createdByKeyId,
          attention,
          ...(fx === undefined ? {} : { fx }),
          ...(hosted
            ? { checkoutUrl: checkoutLink({ baseUrl: config.PUBLIC_BASE_URL, key: linkKey, paymentId, expiresAt }) }
            : {}),
          ...(risk === undefined ? {} : { risk }),
          ...(config.CHANNEL_OPEN_RETRY_SECONDS > 0 ? { openRetryMs: config.CHANNEL_OPEN_RETRY_SECONDS * 1000 } : {}),
        },
      ],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `Order ${request.orderId}: ${request.amount} ${request.currency}${request.channel ? ` by ${request.channel}` : ''}`,
      typedSearchAttributes: [
        { key: OrderIdKey, value: request.orderId },
        { key: PaymentStatusKey, value: 'processing' },
        { key: PaymentAmountKey, value: request.amount },
        { key: PaymentCurrencyKey, value: request.currency },
      ],
    });
  }

  return {
    ...createRefundService(deps),
    ...createNotificationDelivery(deps),
    ...createStaffOperations(deps),
    ...createCheckoutService(deps),

    /**
     * Opens the order's payment, or answers the one it has: `created` only for the request that
     * opened it. A retried request answers the same payment, even after its workflow closed, whichever
     * of the platform's keys signed it; the payment records the key id that opened it (`createdByKeyId`).
     */
    async open(received: PaymentRequest, keyId: string) {
      // The learner's address is personal data: only its keyed hash goes on (to the risk check).
      const { clientIp, ...request } = received;
      const risk: RiskSubject | undefined = deps.riskCheck
        ? {
            customer: riskSubjectHash('customer', request.customerId, paymentIdKey),
            ...(clientIp === undefined ? {} : { address: riskSubjectHash('address', clientIp, paymentIdKey) }),
          }
        : undefined;
      if (rankChannels(channels, enabledChannels, request).length === 0) {
        throw noChannelAvailable(request, currencyOffers(request.amount));
      }
      if (request.returnUrl !== undefined && !returnOrigins.has(new URL(request.returnUrl).origin)) {
        throw returnUrlNotAllowed(new URL(request.returnUrl).origin, returnOrigins.size > 0);
      }
      const paymentId = await paymentIdOf(request.orderId);
      const acceptedAt = new Date();
      let fx: FxQuote | undefined;
      try {
        fx = await lockQuote(deps.rates, {
          amount: request.amount,
          currency: request.currency,
          settlementCurrency: config.SETTLEMENT_CURRENCY,
          now: acceptedAt,
        });
      } catch (err) {
        if (err instanceof RangeError) {
          throw amountNotConvertible(err.message);
        }
        if (!(err instanceof RateUnavailableError)) throw err;
        // A retried create of a payment that exists needs no quote: its workflow keeps the first one.
        if (!(await models.payments.exists({ _id: paymentId }))) throw fxRateUnavailable(err.message);
      }
      addToLogContext({ paymentId });
      const fingerprint = requestFingerprint(request);
      let result: OpenPaymentResult;
      try {
        // Bounded: a create the response timeout already answered must end (and free its
        // Idempotency-Key for a retry) even when Temporal lost the update in a restart.
        result = await client.withDeadline(Date.now() + config.API_RESPONSE_TIMEOUT_MS + CREATE_GRACE_MS, () =>
          client.workflow.executeUpdateWithStart(openPaymentUpdate, {
            args: [{ requestFingerprint: fingerprint }],
            startWorkflowOperation: startOperation({
              paymentId,
              request,
              fingerprint,
              createdByKeyId: keyId,
              risk,
              acceptedAt,
              fx,
            }),
          }),
        );
      } catch (err) {
        const failure = workflowFailure(err);
        if (failure.kind === 'refused' && failure.type === PaymentErrorCode.OrderConflict) {
          throw orderConflict(request.orderId);
        }
        if (failure.kind !== 'already_started') throw err;
        // The payment's workflow has already closed: answer from the read model.
        const doc = await models.payments.findOne({ _id: paymentId }).lean<PaymentDocument>();
        if (!doc) throw err;
        if (doc.requestFingerprint !== fingerprint) throw orderConflict(request.orderId);
        result = { created: false, payment: viewFromDocument(doc, fieldCipher) };
      }
      if (result.payment.status === 'failed') {
        throw result.payment.timeline.some((t) => t.event === 'risk.block')
          ? riskBlocked(result.payment)
          : notOpened(result.payment);
      }
      return { created: result.created, payment: openedPayment(result.payment) };
    },

    /** The payment: from its workflow while it runs, from the read model after. */
    async read(paymentId: string) {
      if (!PAYMENT_ID_PATTERN.test(paymentId)) throw paymentNotFound(paymentId);
      const handle = client.workflow.getHandle(paymentId);
      try {
        const { status } = await handle.describe();
        if (status.name === 'RUNNING') return publicPaymentView(await handle.query(getPaymentQuery));
      } catch (err) {
        const failure = workflowFailure(err);
        if (isUnansweredQuery(err)) {
          // The workflow cannot answer now (its task is failing, or no worker took the query in
          // time): the read model holds its last saved state, unless it was never saved.
          const doc = await models.payments.findOne({ _id: paymentId }).lean<PaymentDocument>();
          if (!doc) throw err;
          return publicPaymentView(viewFromDocument(doc, fieldCipher));
        }
        if (failure.kind !== 'closed' || !failure.noRun) throw err;
      }
      return publicPaymentView(viewFromDocument(await paymentDocument(models, paymentId), fieldCipher));
    },

    /** Cancels a payment nobody has paid; a repeated cancel answers like the first one did. */
    async cancel(paymentId: string, reason?: string): Promise<PaymentView> {
      if (!PAYMENT_ID_PATTERN.test(paymentId)) throw paymentNotFound(paymentId);
      const handle = client.workflow.getHandle(paymentId);
      try {
        return await handle.executeUpdate(cancelPaymentUpdate, { args: [reason ? { reason } : {}] });
      } catch (err) {
        const failure = workflowFailure(err);
        if (failure.kind === 'refused' && failure.type === PaymentErrorCode.NotCancelable) {
          const current = await handle.query(getPaymentQuery).catch(() => undefined);
          if (current?.status === 'canceled') return current;
          if (current) {
            throw notCancelable(paymentId, current.status === 'awaiting_payment' ? 'paid' : current.status);
          }
        } else if (failure.kind !== 'closed') {
          throw err;
        }
      }
      const doc = await paymentDocument(models, paymentId);
      if (doc.status === 'canceled') return viewFromDocument(doc, fieldCipher);
      throw notCancelable(paymentId, doc.status);
    },
  };
}

export type PaymentService = ReturnType<typeof createPaymentService>;

/**
 * A query the running workflow did not answer: refused while its workflow task keeps failing
 * (the SDK names that `QueryNotRegisteredError`), or not taken by a worker in time.
 */
function isUnansweredQuery(err: unknown): boolean {
  if (err instanceof QueryNotRegisteredError || err instanceof QueryRejectedError) return true;
  return err instanceof ServiceError && /Failed to query Workflow/.test(err.message);
}
