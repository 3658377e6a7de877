import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { isRecord, stringField } from '../../../channels/fields.js';
import type { Keyring } from '../../../crypto/keyring.js';
import { isCurrency } from '../../../../domain/money.js';
import type { SandboxRefund } from '../models.js';
import type { OutgoingNotification } from '../notifier.js';
import { randomDigits, refundStateAt, type RefundState, type Trade } from '../order-book.js';
import { handle, type Cashier, type ChannelProtocol, type PaidTrade } from '../simulator.js';
import { BILL_UTC_OFFSET_MINUTES, dayOf } from '../../../../domain/reconciliation.js';
import { cardBalanceTransactions, newestFirst } from './bill.js';

/** Webhook retries: at once, then growing waits over about three days, as Stripe documents. */
export const CARD_RESEND_SCHEDULE_MS: readonly number[] = [
  60, 300, 1800, 3600, 10_800, 21_600, 43_200, 86_400, 86_400,
].map((s) => s * 1000);

/** How long a simulated card refund stays pending, in provider time (scaled by the sandbox). */
export const CARD_REFUND_SETTLE_DELAY_MS = 3 * 60_000;

/** The API version the simulated processor stamps on its events. */
const API_VERSION = '2026-10-28.endive';

/** A refund's state as the processor's `status`. */
const REFUND_STATUS: Record<RefundState, string> = {
  PROCESSING: 'pending',
  SUCCEEDED: 'succeeded',
  ABNORMAL: 'requires_action',
  CLOSED: 'failed',
};

/** The most days one balance transactions list may cover (Beijing days, each read from the books). */
const MAX_LIST_DAYS = 31;

/** The metadata keys the sandbox books an intent and a refund under (what the adapter sends). */
const PAYMENT_ID_KEY = 'payment_id';
const REFUND_ID_KEY = 'refund_id';

/** `Stripe-Signature` for `payload` at `timestamp`: HMAC-SHA256 of `${t}.${payload}` with the endpoint secret. */
export function stripeSignatureHeader(
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

/**
 * The PaymentIntent id of a payment: `pi_` and the payment id's own characters, so the sandbox
 * finds the intent's order without another lookup.
 */
export const intentIdOf = (paymentId: string) => `pi_${paymentId.startsWith('pay_') ? paymentId.slice(4) : paymentId}`;
const paymentIdOfIntent = (intentId: string) => (intentId.startsWith('pi_') ? `pay_${intentId.slice(3)}` : '');
/** A refund's id: `re_` and its request number, base64url, so it is found from the id alone. */
const refundIdOf = (outRequestNo: string) => `re_${Buffer.from(outRequestNo, 'utf8').toString('base64url')}`;
const requestNoOfRefund = (refundId: string) =>
  refundId.startsWith('re_') ? Buffer.from(refundId.slice(3), 'base64url').toString('utf8') : '';

type Json = Record<string, unknown>;

function apiError(res: Response, status: number, type: string, message: string, code?: string, param?: string): void {
  res.status(status).json({ error: { type, message, ...(code ? { code } : {}), ...(param ? { param } : {}) } });
}

/**
 * The simulated card processor: the subset of Stripe's API the card adapter uses
 * (`/v1/payment_intents`, `.../cancel`, `/v1/refunds`, `/v1/balance_transactions`), authenticated by the secret key, form
 * encoded in, JSON out; the hosted card page at `/pay/<intent id>`; and signed webhook events
 * (`payment_intent.succeeded`, `payment_intent.payment_failed`, `refund.updated`) sent to the
 * registered endpoint, the API's `/v1/callbacks/card`. The sandbox books intents under their
 * `metadata[payment_id]`, which it requires.
 */
export function cardProtocol(keys: NonNullable<Keyring['card']>, publicBaseUrl: string): ChannelProtocol {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const webhookUrl = `${base}/v1/callbacks/card`;

  const statusOf = (trade: Trade): string =>
    trade.state === 'PAID' ? 'succeeded' : trade.state === 'CLOSED' ? 'canceled' : 'requires_payment_method';

  function intentOf(trade: Trade, misreport = 0): Json {
    const paid = trade.state === 'PAID';
    return {
      id: intentIdOf(trade.order.outTradeNo),
      object: 'payment_intent',
      amount: trade.order.amount + misreport,
      amount_received: paid ? trade.order.amount + misreport : 0,
      currency: trade.order.currency.toLowerCase(),
      status: statusOf(trade),
      capture_method: 'automatic',
      description: trade.order.subject,
      metadata: { [PAYMENT_ID_KEY]: trade.order.outTradeNo },
      created: Math.floor(trade.order.createdAt.getTime() / 1000),
      latest_charge: paid ? trade.outcome?.channelTradeNo : null,
      client_secret: `${intentIdOf(trade.order.outTradeNo)}_secret_${createHash('sha256').update(trade.order.outTradeNo).digest('hex').slice(0, 24)}`,
      livemode: false,
    };
  }

  function refundOf(trade: Trade, refund: SandboxRefund, at = new Date()): Json {
    return {
      id: refundIdOf(refund.outRequestNo),
      object: 'refund',
      amount: refund.amount,
      currency: trade.order.currency.toLowerCase(),
      status: REFUND_STATUS[refundStateAt(refund, at)],
      payment_intent: intentIdOf(trade.order.outTradeNo),
      metadata: { [REFUND_ID_KEY]: refund.outRequestNo, [PAYMENT_ID_KEY]: trade.order.outTradeNo },
      created: Math.floor(refund.at.getTime() / 1000),
      ...(refundStateAt(refund, at) === 'CLOSED' ? { failure_reason: 'expired_or_canceled_card' } : {}),
    };
  }

  /** A signed event to the webhook endpoint, re-signed at each delivery as the processor does. */
  function event(outTradeNo: string, id: string, type: string, object: Json): OutgoingNotification {
    const payload = JSON.stringify({
      id,
      object: 'event',
      api_version: API_VERSION,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      pending_webhooks: 1,
      type,
      data: { object },
    });
    return {
      outTradeNo,
      url: webhookUrl,
      build: () => ({
        body: payload,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': stripeSignatureHeader(payload, keys.webhookSecret),
        },
      }),
      isAcknowledged: (status) => status >= 200 && status < 300,
    };
  }

  const eventId = (...parts: string[]) =>
    `evt_${createHash('sha256').update(parts.join(':')).digest('hex').slice(0, 24)}`;

  return {
    channel: 'card',
    merchant: { appId: keys.accountId, merchantId: keys.accountId, currency: 'USD' },
    newChannelTradeNo: () => `ch_${randomBytes(12).toString('hex')}`,
    newBuyerId: () => `pm_${randomDigits(16)}`,

    paymentNotification(trade, tamperAmount): OutgoingNotification {
      const intent = intentOf(trade, tamperAmount ? 100 : 0);
      return event(trade.order.outTradeNo, eventId(String(intent.id), 'succeeded'), 'payment_intent.succeeded', intent);
    },

    declineNotification(trade): OutgoingNotification {
      const intent = {
        ...intentOf(trade),
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' },
      };
      return event(
        trade.order.outTradeNo,
        `evt_${randomBytes(12).toString('hex')}`,
        'payment_intent.payment_failed',
        intent,
      );
    },

    refundSettleDelayMs: CARD_REFUND_SETTLE_DELAY_MS,

    refundNotification(trade: PaidTrade, refund: SandboxRefund): OutgoingNotification {
      const settled = new Date(Math.max(Date.now(), refund.settlesAt?.getTime() ?? 0));
      const object = refundOf(trade, refund, settled);
      return event(trade.order.outTradeNo, eventId(String(object.id), String(object.status)), 'refund.updated', object);
    },

    mountApi(router: Router, cashier: Cashier): void {
      const { book, outages } = cashier;
      const form = express.urlencoded({ extended: true, limit: '64kb', parameterLimit: 64 });
      const secret = Buffer.from(keys.secretKey, 'utf8');

      /** The request's secret key is the account's: Bearer, or Basic with the key as user name. */
      function authenticated(req: Request, res: Response): boolean {
        const header = req.get('authorization') ?? '';
        const bearer = /^Bearer (\S+)$/.exec(header)?.[1];
        const basic = /^Basic (\S+)$/.exec(header)?.[1];
        const key = bearer ?? (basic ? Buffer.from(basic, 'base64').toString('utf8').split(':')[0] : undefined) ?? '';
        const given = Buffer.from(key, 'utf8');
        if (given.length === secret.length && timingSafeEqual(given, secret)) return true;
        apiError(res, 401, 'invalid_request_error', 'Invalid API Key provided.');
        return false;
      }

      async function admitted(req: Request, res: Response, operation: 'create' | 'query' | 'close' | 'refund') {
        await cashier.admit(operation);
        if (await outages.isDown(operation)) {
          apiError(res, 503, 'api_error', 'The processor is unavailable.');
          return false;
        }
        return authenticated(req, res);
      }

      const body = (req: Request): Json => (isRecord(req.body) ? (req.body as Json) : {});
      const metadataOf = (fields: Json): Json => (isRecord(fields.metadata) ? fields.metadata : {});
      const positiveInteger = (value: unknown): number | undefined =>
        typeof value === 'string' && /^\d{1,12}$/.test(value) && Number(value) >= 1 ? Number(value) : undefined;

      async function tradeOfIntent(intentId: string): Promise<Trade | undefined> {
        const paymentId = paymentIdOfIntent(intentId);
        return paymentId === '' ? undefined : book.trade(paymentId);
      }

      router.post(
        '/v1/payment_intents',
        form,
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'create'))) return;
          const fields = body(req);
          const amount = positiveInteger(fields.amount);
          const currency = (stringField(fields, 'currency') ?? '').toUpperCase();
          const paymentId = stringField(metadataOf(fields), PAYMENT_ID_KEY);
          if (amount === undefined)
            return apiError(
              res,
              400,
              'invalid_request_error',
              'Invalid amount.',
              'parameter_invalid_integer',
              'amount',
            );
          if (!isCurrency(currency))
            return apiError(res, 400, 'invalid_request_error', 'Invalid currency.', 'parameter_invalid', 'currency');
          if (paymentId === undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(paymentId)) {
            return apiError(
              res,
              400,
              'invalid_request_error',
              'The sandbox books intents under metadata[payment_id].',
              'parameter_missing',
              'metadata[payment_id]',
            );
          }
          const opened = await book.open({
            outTradeNo: paymentId,
            appId: keys.accountId,
            merchantId: keys.accountId,
            subject: stringField(fields, 'description') ?? `Payment ${paymentId}`,
            amount,
            currency,
            notifyUrl: webhookUrl,
            // PaymentIntents do not expire; the merchant cancels the ones it gives up on.
            expiresAt: new Date(Date.now() + 7 * 24 * 60 * 60 * 1000),
          });
          if (opened.kind === 'conflict') {
            return apiError(
              res,
              400,
              'idempotency_error',
              'Keys for idempotent requests can only be used with the same parameters they were first used with.',
            );
          }
          res.json(intentOf(opened.trade));
        }),
      );

      router.get(
        '/v1/payment_intents/:id',
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'query'))) return;
          const trade = await tradeOfIntent(String(req.params.id));
          if (!trade)
            return apiError(res, 404, 'invalid_request_error', 'No such payment_intent.', 'resource_missing', 'id');
          res.json(intentOf(trade, cashier.misreportsAmount(trade.order.outTradeNo) ? 100 : 0));
        }),
      );

      router.post(
        '/v1/payment_intents/:id/cancel',
        form,
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'close'))) return;
          const trade = await tradeOfIntent(String(req.params.id));
          if (!trade)
            return apiError(res, 404, 'invalid_request_error', 'No such payment_intent.', 'resource_missing', 'id');
          const settled =
            trade.state === 'NOT_PAID'
              ? await book.settle(trade.order.outTradeNo, {
                  state: 'CLOSED',
                  channelTradeNo: null,
                  buyerId: null,
                  at: new Date(),
                })
              : trade;
          if (settled.state === 'PAID') {
            return apiError(
              res,
              400,
              'invalid_request_error',
              'This PaymentIntent has already succeeded.',
              'payment_intent_unexpected_state',
            );
          }
          res.json(intentOf(settled));
        }),
      );

      router.post(
        '/v1/refunds',
        form,
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'refund'))) return;
          const fields = body(req);
          const intentId = stringField(fields, 'payment_intent') ?? '';
          const trade = await tradeOfIntent(intentId);
          if (!trade)
            return apiError(
              res,
              404,
              'invalid_request_error',
              'No such payment_intent.',
              'resource_missing',
              'payment_intent',
            );
          const amount =
            fields.amount === undefined ? trade.order.amount - trade.refundHeld : positiveInteger(fields.amount);
          if (amount === undefined || amount < 1) {
            return apiError(
              res,
              400,
              'invalid_request_error',
              'Invalid amount.',
              'parameter_invalid_integer',
              'amount',
            );
          }
          const outRequestNo =
            stringField(metadataOf(fields), REFUND_ID_KEY) ?? req.get('idempotency-key') ?? `re${randomDigits(20)}`;
          const decision = await cashier.refund({
            outTradeNo: trade.order.outTradeNo,
            outRequestNo,
            amount,
            reason: stringField(fields, 'reason') ?? '',
            channelRefundId: refundIdOf(outRequestNo),
            notifyUrl: webhookUrl,
          });
          if (decision.kind === 'refused') {
            switch (decision.why) {
              case 'TRADE_NOT_EXIST':
                return apiError(res, 404, 'invalid_request_error', 'No such payment_intent.', 'resource_missing');
              case 'TRADE_NOT_PAID':
                return apiError(
                  res,
                  400,
                  'invalid_request_error',
                  'This PaymentIntent has not succeeded.',
                  'charge_not_refundable',
                );
              case 'EXCEEDS_PAID':
                return apiError(
                  res,
                  400,
                  'invalid_request_error',
                  'Refund amount is greater than unrefunded amount.',
                  'amount_too_large',
                  'amount',
                );
              case 'CONFLICTING_RETRY':
                return apiError(
                  res,
                  400,
                  'idempotency_error',
                  'Keys for idempotent requests can only be used with the same parameters they were first used with.',
                );
            }
          }
          res.json(refundOf(decision.trade, decision.refund));
        }),
      );

      router.get(
        '/v1/refunds/:id',
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'refund'))) return;
          const refund = await book.findRefund(requestNoOfRefund(String(req.params.id)));
          const trade = refund ? await book.trade(refund.outTradeNo) : undefined;
          if (!refund || !trade)
            return apiError(res, 404, 'invalid_request_error', 'No such refund.', 'resource_missing', 'id');
          res.json(refundOf(trade, refund));
        }),
      );

      /** A query parameter as the SDK sends it (`created[gte]`, `expand[0]`), flat or parsed into objects. */
      function queryParam(req: Request, name: string, key: string): unknown {
        const query = req.query as Record<string, unknown>;
        const nested = query[name];
        if (isRecord(nested)) return nested[key];
        if (Array.isArray(nested) && key === '0') return nested[0];
        return query[`${name}[${key}]`] ?? (key === '0' ? query[`${name}[]`] : undefined);
      }

      /**
       * Stripe's balance transactions, newest first, in its list envelope: `created[gte]` and
       * `created[lt]` (unix seconds; default today, Beijing), `limit` (1-100, default 10),
       * `starting_after`, and `expand[]=data.source` for the Charge or Refund behind each. Read from
       * the bills of the Beijing days the range covers (at most 31), as they stand now: a charge per
       * paid order, a refund per settled refund, a failed charge and its `payment_failure_refund`
       * for an order the bill shows as not effective (see `cardBalanceTransactions`).
       */
      router.get(
        '/v1/balance_transactions',
        handle(async (req, res) => {
          if (!(await admitted(req, res, 'query'))) return;
          const now = new Date();
          const seconds = (value: unknown): number | undefined =>
            typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : undefined;
          const gteGiven = queryParam(req, 'created', 'gte');
          const ltGiven = queryParam(req, 'created', 'lt');
          const todayStart =
            Date.parse(`${dayOf(now, BILL_UTC_OFFSET_MINUTES)}T00:00:00Z`) / 1000 - BILL_UTC_OFFSET_MINUTES * 60;
          const gte = gteGiven === undefined ? todayStart : seconds(gteGiven);
          const lt = ltGiven === undefined ? Math.floor(now.getTime() / 1000) + 1 : seconds(ltGiven);
          if (gte === undefined || lt === undefined) {
            return apiError(
              res,
              400,
              'invalid_request_error',
              'Invalid timestamp.',
              'parameter_invalid_integer',
              'created',
            );
          }
          const limitGiven = req.query.limit;
          const limit = limitGiven === undefined ? 10 : positiveInteger(limitGiven);
          if (limit === undefined || limit > 100) {
            return apiError(
              res,
              400,
              'invalid_request_error',
              'Invalid limit: must be between 1 and 100.',
              'parameter_invalid_integer',
              'limit',
            );
          }
          const expand = queryParam(req, 'expand', '0');
          if (expand !== undefined && expand !== 'data.source') {
            return apiError(
              res,
              400,
              'invalid_request_error',
              'This property cannot be expanded.',
              'parameter_invalid',
              'expand',
            );
          }
          const days: string[] = [];
          if (lt > gte) {
            const last = dayOf(new Date((lt - 1) * 1000), BILL_UTC_OFFSET_MINUTES);
            for (let day = dayOf(new Date(gte * 1000), BILL_UTC_OFFSET_MINUTES); day <= last; ) {
              days.push(day);
              if (days.length > MAX_LIST_DAYS) {
                return apiError(
                  res,
                  400,
                  'invalid_request_error',
                  `The sandbox lists at most ${MAX_LIST_DAYS} days at once.`,
                  'parameter_invalid',
                  'created',
                );
              }
              day = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
            }
          }
          const bills = await Promise.all(days.map((day) => cashier.bills.day(day, now)));
          const all = bills
            .flatMap((bill) => cardBalanceTransactions(bill, intentIdOf, now))
            .filter((txn) => Number(txn.created) >= gte && Number(txn.created) < lt)
            .sort(newestFirst);
          const after = typeof req.query.starting_after === 'string' ? req.query.starting_after : undefined;
          const from = after === undefined ? 0 : all.findIndex((txn) => txn.id === after) + 1;
          if (after !== undefined && from === 0) {
            return apiError(
              res,
              400,
              'invalid_request_error',
              'No such balance transaction.',
              'resource_missing',
              'starting_after',
            );
          }
          const page = all.slice(from, from + limit);
          res.json({
            object: 'list',
            data: expand === undefined ? page.map((txn) => ({ ...txn, source: (txn.source as Json).id })) : page,
            has_more: from + limit < all.length,
            url: '/v1/balance_transactions',
          });
        }),
      );

      router.get(
        '/pay/:intentId',
        handle(async (req, res) => {
          const trade = await tradeOfIntent(String(req.params.intentId));
          if (!trade) {
            cashier.notice(res, 404, 'Unknown payment', 'The card processor holds no such payment.');
            return;
          }
          cashier.show(res, trade, req.baseUrl);
        }),
      );
    },
  };
}
