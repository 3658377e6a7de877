import Stripe from 'stripe';
import type { ApiKeyring } from '../../crypto/keyring.js';
import { CURRENCIES, type Currency, isCurrency } from '../../../domain/money.js';
import type { ChannelTradeState } from '../../../domain/payment.js';
import { isRecord, stringField, truncate } from '../fields.js';
import { BILL_UTC_OFFSET_MINUTES, dayBounds, type ChannelBill } from '../../../domain/reconciliation.js';
import { CARD_PAYMENT_ID_KEY, CARD_REFUND_ID_KEY, parseCardBalanceTransactions } from './bill.js';
import {
  ChannelRejectedError,
  ChannelUnavailableError,
  type ChannelAck,
  type LocallyVerifyingAdapter,
  type ChannelOrder,
  type ChannelTrade,
  type CloseResult,
  type CreateChannelOrderRequest,
  type RawCallback,
  type RefundOutcome,
  type RefundRequest,
  type VerificationResult,
} from '../types.js';

/**
 * International cards through a Stripe-compatible processor, with the official `stripe` SDK:
 * a PaymentIntent per payment (automatic capture, created under an Idempotency-Key derived from
 * the payment id), confirmed by the learner on the card page, cancelled to close, refunded with
 * Refunds; webhooks verified by the SDK's `webhooks.constructEvent` over the raw body. The
 * PaymentIntent id is the order's reference (`ChannelOrder.reference`), and a refund's id its
 * reference: the caller keeps both and passes them back. The daily bill is the day's balance
 * transactions (./bill.ts).
 */

export interface CardAdapterOptions {
  /** The processor's API base: `https://api.stripe.com`, or the sandbox's `.../sandbox/card`. */
  apiUrl: string;
  /** Where the learner confirms a PaymentIntent: its id is appended (`<payPageUrl>/<id>`). */
  payPageUrl: string;
  keyring: NonNullable<ApiKeyring['card']>;
  timeoutMs: number;
  /** Largest amount this channel takes, in minor units of any currency it takes. */
  maxAmount: number;
  /** Seconds a webhook's signed timestamp may be from our clock (Stripe's default: 300). */
  webhookToleranceSeconds?: number;
}

export { CARD_PAYMENT_ID_KEY, CARD_REFUND_ID_KEY };

/** Balance transactions asked for per page (Stripe's most). */
const BILL_PAGE_SIZE = 100;

/** The card processor's words for a declined try: the decline code, else the error code. */
function declineReasonOf(error: unknown): string {
  if (!isRecord(error)) return 'card_declined';
  return stringField(error, 'decline_code') ?? stringField(error, 'code') ?? 'card_declined';
}

/** A PaymentIntent's status in our terms; it stays `succeeded` after refunds (they are objects of their own). */
function tradeStateOf(intent: { status: string }): ChannelTradeState {
  switch (intent.status) {
    case 'succeeded':
      return 'PAID';
    case 'canceled':
      return 'CLOSED';
    default:
      return 'NOT_PAID';
  }
}

function refundOutcomeOf(refund: {
  id: string;
  status?: string | null;
  failure_reason?: string | null;
}): RefundOutcome {
  switch (refund.status) {
    case 'succeeded':
      return { status: 'SUCCEEDED', channelRefundId: refund.id };
    case 'failed':
    case 'canceled':
      return { status: 'FAILED', channelRefundId: refund.id, reason: refund.failure_reason ?? refund.status };
    default:
      return { status: 'PROCESSING', channelRefundId: refund.id };
  }
}

/**
 * A processor error in our terms: no answer, 5xx and 429 may pass with time or another channel
 * ({@link ChannelUnavailableError}); anything else is a refusal with the processor's code.
 */
function channelErrorOf(err: unknown, what: string): Error {
  if (err instanceof Stripe.errors.StripeError) {
    if (
      err instanceof Stripe.errors.StripeConnectionError ||
      err instanceof Stripe.errors.StripeAPIError ||
      err instanceof Stripe.errors.StripeRateLimitError ||
      (err.statusCode ?? 0) >= 500
    ) {
      return new ChannelUnavailableError(`the card processor could not serve ${what}: ${err.type}`);
    }
    const code =
      err.code ?? (err instanceof Stripe.errors.StripeAuthenticationError ? 'authentication_failed' : err.type);
    return new ChannelRejectedError(`the card processor refused ${what}: ${err.message}`, code);
  }
  return err instanceof Error ? err : new Error(String(err));
}

const isMissing = (err: unknown) => err instanceof Stripe.errors.StripeError && err.code === 'resource_missing';

export function createCardAdapter(options: CardAdapterOptions): LocallyVerifyingAdapter {
  const { keyring, maxAmount, webhookToleranceSeconds = 300 } = options;
  const base = new URL(options.apiUrl.replace(/\/+$/, ''));
  const basePath = base.pathname === '/' ? '' : base.pathname;
  // The SDK builds `<protocol>://<host>:<port>/v1/...`; a base with a path (the sandbox's) is kept
  // by rewriting each request's URL onto it.
  const stripe = new Stripe(keyring.secretKey ?? 'sk_test_no_secret_key_in_this_process', {
    host: base.hostname,
    port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
    protocol: base.protocol === 'https:' ? 'https' : 'http',
    maxNetworkRetries: 0,
    timeout: options.timeoutMs,
    telemetry: false,
    httpClient: Stripe.createFetchHttpClient((input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      return fetch(`${base.origin}${basePath}${url.pathname}${url.search}`, { ...init, redirect: 'manual' });
    }),
  });
  const payPageUrl = options.payPageUrl.replace(/\/+$/, '');

  const call = async <T>(what: string, request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (err) {
      throw channelErrorOf(err, what);
    }
  };

  function requireSecretKey(): void {
    if (keyring.secretKey === undefined) {
      throw new Error('this process holds no card processor secret key: only the worker calls the channels');
    }
  }

  async function retrieve(paymentId: string, reference: string | undefined) {
    if (reference === undefined) return undefined;
    requireSecretKey();
    try {
      return await stripe.paymentIntents.retrieve(reference);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw channelErrorOf(err, `the query of ${paymentId}`);
    }
  }

  async function queryOrder(paymentId: string, reference?: string): Promise<ChannelTrade> {
    const intent = await retrieve(paymentId, reference);
    if (intent === undefined || intent.metadata[CARD_PAYMENT_ID_KEY] !== paymentId) return { state: 'NOT_FOUND' };
    const currency = intent.currency.toUpperCase();
    const state = tradeStateOf(intent);
    const charge = typeof intent.latest_charge === 'string' ? intent.latest_charge : intent.latest_charge?.id;
    return {
      state,
      ...(state === 'PAID' && charge ? { channelTradeNo: charge } : {}),
      ...(isCurrency(currency) ? { amount: intent.amount, currency } : {}),
    };
  }

  /** The payment an event says it is about, unverified: for the record of a refused one only. */
  function claimedPaymentId(body: Buffer): { outTradeNo?: string } {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      const data = isRecord(parsed) && isRecord(parsed.data) ? parsed.data : undefined;
      const object = data && isRecord(data.object) ? data.object : undefined;
      const claimed =
        object && isRecord(object.metadata) ? stringField(object.metadata, CARD_PAYMENT_ID_KEY) : undefined;
      return claimed !== undefined && /^pay_[a-z2-7]{28}$/.test(claimed) ? { outTradeNo: claimed } : {};
    } catch {
      return {};
    }
  }

  function verifyNotification(raw: RawCallback): VerificationResult {
    const header = raw.headers['stripe-signature'];
    if (header === undefined || header.length > 2048) {
      return { ok: false, reason: 'missing_signature', ...claimedPaymentId(raw.body) };
    }
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(raw.body, header, keyring.webhookSecret, webhookToleranceSeconds);
    } catch (err) {
      const reason =
        err instanceof Stripe.errors.StripeSignatureVerificationError
          ? /timestamp/i.test(err.message)
            ? 'stale_timestamp'
            : 'bad_signature'
          : 'malformed_body';
      return { ok: false, reason, ...claimedPaymentId(raw.body) };
    }
    const object: unknown = event.data.object;
    if (!isRecord(object)) return { ok: false, reason: 'malformed_body' };
    const metadata = isRecord(object.metadata) ? object.metadata : {};
    const currency = (stringField(object, 'currency') ?? '').toUpperCase();
    if (!isCurrency(currency)) return { ok: false, reason: 'bad_currency' };
    const amount = typeof object.amount === 'number' && Number.isSafeInteger(object.amount) ? object.amount : undefined;
    if (amount === undefined) return { ok: false, reason: 'bad_amount' };
    if (event.type === 'payment_intent.succeeded' || event.type === 'payment_intent.payment_failed') {
      const outTradeNo = stringField(metadata, CARD_PAYMENT_ID_KEY);
      const intentId = stringField(object, 'id');
      const succeeded = event.type === 'payment_intent.succeeded';
      // The charge is the money's movement, as a trade number is at the other channels.
      const charge = stringField(object, 'latest_charge') ?? (succeeded ? undefined : intentId);
      if (outTradeNo === undefined || intentId === undefined || charge === undefined) {
        return { ok: false, reason: 'malformed_body' };
      }
      return {
        ok: true,
        kind: 'payment',
        notification: {
          channel: 'card',
          notificationId: event.id,
          outTradeNo,
          channelTradeNo: charge,
          state: succeeded ? 'PAID' : 'NOT_PAID',
          amount: succeeded && typeof object.amount_received === 'number' ? object.amount_received : amount,
          currency,
          merchantId: keyring.accountId,
          appId: keyring.accountId,
          ...(succeeded
            ? { paidAt: new Date(event.created * 1000).toISOString() }
            : { declineReason: declineReasonOf(object.last_payment_error) }),
        },
      };
    }
    if (event.type === 'refund.updated' || event.type === 'refund.created') {
      const refundId = stringField(metadata, CARD_REFUND_ID_KEY);
      const outTradeNo = stringField(metadata, CARD_PAYMENT_ID_KEY);
      const channelRefundId = stringField(object, 'id');
      if (refundId === undefined || outTradeNo === undefined || channelRefundId === undefined) {
        return { ok: false, reason: 'malformed_body' };
      }
      const outcome = refundOutcomeOf({
        id: channelRefundId,
        status: stringField(object, 'status') ?? null,
        failure_reason: stringField(object, 'failure_reason') ?? null,
      });
      return {
        ok: true,
        kind: 'refund',
        refund: {
          channel: 'card',
          notificationId: event.id,
          outTradeNo,
          refundId,
          channelRefundId,
          status: outcome.status,
          amount,
          currency,
          merchantId: keyring.accountId,
          ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        },
      };
    }
    return { ok: false, reason: 'unknown_event_type' };
  }

  return {
    channel: 'card',
    keepsReferences: true,

    supports(currency: Currency, amount: number): boolean {
      return CURRENCIES.includes(currency) && amount >= 1 && amount <= maxAmount;
    },

    async createOrder(request: CreateChannelOrderRequest): Promise<ChannelOrder> {
      requireSecretKey();
      const intent = await call(`the PaymentIntent of ${request.paymentId}`, () =>
        stripe.paymentIntents.create(
          {
            amount: request.amount,
            currency: request.currency.toLowerCase(),
            description: truncate(request.subject, 1000),
            metadata: { [CARD_PAYMENT_ID_KEY]: request.paymentId },
          },
          { idempotencyKey: `create-${request.paymentId}` },
        ),
      );
      if (intent.metadata[CARD_PAYMENT_ID_KEY] !== request.paymentId) {
        throw new ChannelRejectedError('the card processor answered another payment’s intent', 'malformed_response');
      }
      if (intent.status === 'succeeded') {
        throw new ChannelRejectedError(`PaymentIntent ${intent.id} is already paid`, 'already_paid');
      }
      if (intent.status === 'canceled')
        throw new ChannelRejectedError(`PaymentIntent ${intent.id} is canceled`, 'order_closed');
      return {
        channel: 'card',
        payUrl: `${payPageUrl}/${encodeURIComponent(intent.id)}`,
        merchantId: keyring.accountId,
        reference: intent.id,
      };
    },

    queryOrder,

    async closeOrder(paymentId: string, reference?: string): Promise<CloseResult> {
      const intent = await retrieve(paymentId, reference);
      if (intent === undefined) return 'NOT_FOUND';
      if (intent.status === 'succeeded') return 'ALREADY_PAID';
      if (intent.status === 'canceled') return 'CLOSED';
      try {
        const canceled = await stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'abandoned' });
        return canceled.status === 'succeeded' ? 'ALREADY_PAID' : 'CLOSED';
      } catch (err) {
        // Paid while closing: the processor refuses to cancel a succeeded intent.
        if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'payment_intent_unexpected_state') {
          const now = await retrieve(paymentId, intent.id);
          if (now?.status === 'succeeded') return 'ALREADY_PAID';
        }
        throw channelErrorOf(err, `the cancel of ${paymentId}`);
      }
    },

    async refund(request: RefundRequest): Promise<RefundOutcome> {
      requireSecretKey();
      const intentId = request.orderReference;
      if (intentId === undefined) {
        throw new ChannelRejectedError(`no PaymentIntent is known for ${request.paymentId}`, 'trade_not_paid');
      }
      const refund = await call(`refund ${request.refundId}`, () =>
        stripe.refunds
          .create(
            {
              payment_intent: intentId,
              amount: request.amount,
              reason: 'requested_by_customer',
              metadata: { [CARD_REFUND_ID_KEY]: request.refundId, [CARD_PAYMENT_ID_KEY]: request.paymentId },
            },
            { idempotencyKey: `refund-${request.refundId}` },
          )
          .then(refundOutcomeOf, (err: unknown) => {
            // A refusal of this refund (more than is left, an intent that did not succeed) is its outcome.
            if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code !== 'resource_missing') {
              return { status: 'FAILED' as const, reason: `${err.code ?? 'invalid_request'}: ${err.message}` };
            }
            throw err;
          }),
      );
      return refund;
    },

    async queryRefund(_paymentId: string, refundId: string, reference?: string): Promise<RefundOutcome> {
      if (reference === undefined) return { status: 'PROCESSING' };
      requireSecretKey();
      const refund = await call(`the query of refund ${refundId}`, () => stripe.refunds.retrieve(reference));
      return refundOutcomeOf(refund);
    },

    /**
     * The balance transactions created within the Beijing day (`created[gte]`, `created[lt]`), their
     * sources expanded, every page read through the SDK's auto-pagination. A refund's number in the
     * bill is our refund id (its metadata), so the adapter names no other. A day not yet begun has
     * no bill; today's holds the day so far.
     */
    async downloadBill(date: string): Promise<ChannelBill> {
      requireSecretKey();
      const { start, end } = dayBounds(date, BILL_UTC_OFFSET_MINUTES);
      if (start.getTime() > Date.now()) {
        throw new ChannelRejectedError(`the card processor has no transactions for ${date} yet`, 'bill_not_ready');
      }
      const transactions = await call(`the balance transactions of ${date}`, async () => {
        const all: Stripe.BalanceTransaction[] = [];
        const list = stripe.balanceTransactions.list({
          created: { gte: Math.floor(start.getTime() / 1000), lt: Math.floor(end.getTime() / 1000) },
          limit: BILL_PAGE_SIZE,
          expand: ['data.source'],
        });
        for await (const txn of list) all.push(txn);
        return all;
      });
      return { channel: 'card', date, lines: parseCardBalanceTransactions(transactions) };
    },

    verifyNotification,

    /** The processor stops resending on any 2xx. */
    ackSuccess(): ChannelAck {
      return { status: 200, contentType: 'application/json', body: '{"received":true}' };
    },

    /** Anything but 2xx makes the processor resend; the reason stays in our records. */
    ackFailure(_reason: string): ChannelAck {
      return { status: 400, contentType: 'text/plain', body: 'fail' };
    },
  };
}
