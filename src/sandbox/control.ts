import { Router } from 'express';
import { z } from 'zod';
import { jsonBody } from '../api/body.js';
import { ApiError } from '../api/errors.js';
import { parseOrThrow } from '../api/validation.js';
import { PAYMENT_ID_PATTERN } from '../payments/identity.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../domain/payment.js';
import { CashierRefusedError } from './channels/index.js';
import { requireSandboxControlToken } from './control-token.js';
import { DiscrepancyRefusedError } from './channels/bills.js';
import { BILL_DISCREPANCY_KINDS } from './channels/models.js';
import {
  DEFAULT_REFUND_BEHAVIOUR,
  SandboxNotFoundError,
  type ChannelBooks,
  type ChannelSimulator,
} from './channels/types.js';
import type { PlatformStub } from './platform.js';

const paySchema = z.strictObject({
  outcome: z.enum(['success', 'declined']),
  notifications: z.number().int().min(0).max(20).default(1),
  tamperAmount: z.boolean().default(false),
  /** Fault injection: a payment that was in flight when the order closed completes anyway, late. */
  afterClose: z.boolean().default(false),
  /** Fault injection: the channel's order query reports another amount from now on. */
  tamperQueryAmount: z.boolean().default(false),
  /**
   * The channel whose order the payer pays: the one the payment's `payUrl` leads to. By default the
   * newest order; a payment whose first channel timed out at creation may hold an older one there.
   */
  channel: z.enum(PAYMENT_CHANNELS).optional(),
});
/** Which operations of a channel an outage (or a hold) covers, and whether it starts or ends. */
const channelOperationsSchema = z.strictObject({
  operations: z.array(z.enum(['create', 'query', 'close', 'refund'])).min(1),
  enabled: z.boolean(),
});
const lostRefundAnswersSchema = z.strictObject({ count: z.number().int().min(0).max(20) });
const refundBehaviourSchema = z.strictObject({
  mode: z.enum(['immediate', 'async']).default(DEFAULT_REFUND_BEHAVIOUR.mode),
  outcome: z.enum(['success', 'abnormal', 'closed']).default(DEFAULT_REFUND_BEHAVIOUR.outcome),
  notify: z.boolean().default(DEFAULT_REFUND_BEHAVIOUR.notify),
});
const billDiscrepancySchema = z.strictObject({
  kind: z.enum(BILL_DISCREPANCY_KINDS),
  paymentId: z.string().regex(PAYMENT_ID_PATTERN, 'must be a payment id').optional(),
  /** amount_mismatch: what the bill shows, minor units (default one yuan more); missing_here without a payment: the charge. */
  amount: z.number().int().min(1).max(100_000_000_00).optional(),
  /** currency_mismatch: what the bill shows (default USD, or EUR for a dollar order). */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code')
    .optional(),
});
const refuseSchema = z.strictObject({ orderId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) });
const platformOutageSchema = refuseSchema.extend({ enabled: z.boolean() });

/**
 * The sandbox control API (`/sandbox/v1`), for tests and demos: act as the payer at the channel,
 * break a channel, choose how its refunds end, make the platform stub refuse an order, and read
 * what the platform received. Every route takes `Authorization: Bearer <controlToken>` (401
 * otherwise, before the body is read), then a JSON body of at most `bodyLimitBytes`.
 */
export function sandboxControlRoutes({
  simulators,
  platform,
  controlToken,
  bodyLimitBytes,
}: {
  simulators: Record<PaymentChannel, ChannelSimulator>;
  platform: PlatformStub;
  controlToken: string;
  bodyLimitBytes: number;
}): Router {
  const router = Router();
  router.use(requireSandboxControlToken(controlToken), ...jsonBody(bodyLimitBytes));

  /** The simulated channels' books for a payment (its `out_trade_no`), newest order first. */
  async function booksOf(paymentId: string): Promise<ChannelBooks[]> {
    if (!PAYMENT_ID_PATTERN.test(paymentId)) return [];
    const found = await Promise.all(PAYMENT_CHANNELS.map((channel) => simulators[channel].books(paymentId)));
    return found.filter((b) => b !== undefined).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  router.post('/payments/:paymentId/pay', async (req, res) => {
    const { paymentId } = req.params;
    const options = parseOrThrow(paySchema, req.body ?? {});
    const notFound = new ApiError(
      404,
      'not_found_error',
      'payment_not_found',
      `No channel order for payment ${paymentId}.`,
      'paymentId',
    );
    const { channel, ...payOptions } = options;
    const [order] = (await booksOf(paymentId)).filter((o) => channel === undefined || o.channel === channel);
    if (!order) throw notFound;
    try {
      res.json(await simulators[order.channel].pay(paymentId, payOptions));
    } catch (err) {
      if (err instanceof SandboxNotFoundError) throw notFound;
      if (err instanceof CashierRefusedError) {
        throw new ApiError(
          409,
          'conflict_error',
          `order_${err.reason}`,
          `The channel refused the payment: ${err.message}`,
        );
      }
      throw err;
    }
  });

  /**
   * What the simulated channels hold for a payment, as a witness the payment system does not
   * write: every order (amount, state, captured) and every refund with its state, plus the sums
   * per currency. `orders` is empty when no channel holds one.
   */
  router.get('/payments/:paymentId/books', async (req, res) => {
    const { paymentId } = req.params;
    const orders = await booksOf(paymentId);
    const totals = new Map<string, { currency: string; captured: number; refunded: number }>();
    for (const order of orders) {
      const total = totals.get(order.currency) ?? { currency: order.currency, captured: 0, refunded: 0 };
      total.captured += order.captured;
      total.refunded += order.refunded;
      totals.set(order.currency, total);
    }
    res.json({ paymentId, orders, totals: [...totals.values()] });
  });

  function channelOf(name: string): PaymentChannel {
    const channel = PAYMENT_CHANNELS.find((c) => c === name);
    if (channel === undefined) {
      throw new ApiError(404, 'not_found_error', 'unknown_channel', `No channel ${name}.`, 'channel');
    }
    return channel;
  }

  router.post('/channels/:channel/outage', async (req, res) => {
    const channel = channelOf(req.params.channel);
    const { operations, enabled } = parseOrThrow(channelOperationsSchema, req.body ?? {});
    await simulators[channel].setOutage(operations, enabled);
    res.json({ channel, operations, enabled });
  });

  /**
   * `{ operations, enabled }`: while enabled, the channel takes those operations' requests and
   * answers none of them (at most `MAX_HOLD_MS`); lifting the hold lets them go. Answers
   * `{ channel, operations, waiting }`: what is held now and how many requests wait.
   */
  router.post('/channels/:channel/hold', (req, res) => {
    const channel = channelOf(req.params.channel);
    const { operations, enabled } = parseOrThrow(channelOperationsSchema, req.body ?? {});
    res.json({ channel, ...simulators[channel].hold(operations, enabled) });
  });

  router.get('/channels/:channel/hold', (req, res) => {
    const channel = channelOf(req.params.channel);
    res.json({ channel, ...simulators[channel].holds() });
  });

  /** `{ count }`: the channel makes its next `count` refunds but drops the connection instead of answering. */
  router.post('/channels/:channel/lost-refund-answers', (req, res) => {
    const channel = channelOf(req.params.channel);
    const { count } = parseOrThrow(lostRefundAnswersSchema, req.body ?? {});
    simulators[channel].loseRefundAnswers(count);
    res.json({ channel, count });
  });

  /**
   * How refunds requested at the channel from now on end (see `RefundBehaviour`); fields left out
   * take the defaults (`async`, `success`, `notify: true`), so `{}` restores the default.
   * Answers `{ channel, mode, outcome, notify }`.
   */
  router.post('/channels/:channel/refund-behaviour', async (req, res) => {
    const channel = channelOf(req.params.channel);
    const behaviour = parseOrThrow(refundBehaviourSchema, req.body ?? {});
    res.json({ channel, ...(await simulators[channel].setRefundBehaviour(behaviour)) });
  });

  router.get('/channels/:channel/refund-behaviour', async (req, res) => {
    const channel = channelOf(req.params.channel);
    res.json({ channel, ...(await simulators[channel].refundBehaviour()) });
  });

  /**
   * `{ kind, paymentId?, amount?, currency? }`: a discrepancy between the channel and the payment
   * system, for reconciliation to find. `missing_here` charges the payment's order at the channel
   * without telling anyone (or, without `paymentId`, books a charge no payment made); the other
   * kinds change the line of a paid order in the bill of the day it was paid. Answers
   * `{ channel, kind, date, paymentId, outTradeNo }`; 409 when the order is not in a state to take it.
   */
  router.post('/channels/:channel/bill-discrepancy', async (req, res) => {
    const channel = channelOf(req.params.channel);
    const request = parseOrThrow(billDiscrepancySchema, req.body ?? {});
    try {
      res.json(await simulators[channel].injectBillDiscrepancy(request));
    } catch (err) {
      if (err instanceof DiscrepancyRefusedError) {
        throw new ApiError(409, 'conflict_error', 'discrepancy_refused', `${err.message}.`, 'paymentId');
      }
      throw err;
    }
  });

  router.post('/platform/refuse', async (req, res) => {
    const { orderId } = parseOrThrow(refuseSchema, req.body ?? {});
    await platform.refuse(orderId);
    res.json({ orderId, refused: true });
  });

  /** `{ orderId, enabled }`: the platform stub answers that order's webhooks 503 while enabled. */
  router.post('/platform/outage', async (req, res) => {
    const { orderId, enabled } = parseOrThrow(platformOutageSchema, req.body ?? {});
    await platform.setOutage(orderId, enabled);
    res.json({ orderId, outage: enabled });
  });

  router.get('/platform/events', async (req, res) => {
    const orderId = typeof req.query.orderId === 'string' ? req.query.orderId : '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(orderId)) {
      throw new ApiError(
        422,
        'validation_error',
        'invalid_parameter',
        'orderId: required, 1-64 of A-Z a-z 0-9 _ -',
        'orderId',
      );
    }
    res.json({ events: await platform.events(orderId) });
  });

  return router;
}
