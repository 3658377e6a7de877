import { ApplicationFailure } from '@temporalio/common';
import { isChannelFailure, type ChannelHealth } from '../src/channels/health.js';
import { rankChannels, type RouteOptions, type RouteRequest } from '../src/channels/routing.js';
import type { Logger } from '../src/logger.js';
import { withTimeout } from '../src/with-timeout.js';
import {
  ChannelRejectedError,
  type ChannelAdapter,
  type ChannelOrder,
  type CreateChannelOrderRequest,
  type RefundRequest,
  type ChannelTrade,
  type CloseResult,
  type RefundOutcome,
} from '../src/channels/types.js';
import type { Models } from '../src/db/connect.js';
import { isDuplicateKeyError } from '../src/db/errors.js';
import { channelOrderKey } from '../src/db/models/channel-order.js';
import {
  channelReferenceKey,
  keptChannelReference,
  reserveChannelReference,
} from '../src/db/models/channel-reference.js';
import { PaymentErrorCode } from '../domain/errors.js';
import type { PaymentChannel } from '../domain/payment.js';

export interface ChannelDeps {
  models: Models;
  channels: Record<PaymentChannel, ChannelAdapter>;
  /** What the workers know of the channels' health: routing skips open breakers and ranks by it. */
  health: ChannelHealth;
  routing: Pick<RouteOptions, 'weights' | 'exploration'>;
  logger: Logger;
  enabledChannels: readonly PaymentChannel[];
  /** Where channels post notifications: `${PUBLIC_BASE_URL}/v1/callbacks/<channel>`. */
  publicBaseUrl: string;
}

/** What the workflow asks for: the channel's order request, minus the notify URL we add here. */
export type OpenChannelOrderArgs = Omit<CreateChannelOrderRequest, 'notifyUrl'> & { channel: PaymentChannel };

/** What the workflow asks for: the channel's refund request, on a given channel. */
export type RefundArgs = RefundRequest & { channel: PaymentChannel };

/** A business refusal becomes a non-retryable failure the workflow can tell apart. */
export function rethrowChannelError(err: unknown): never {
  if (err instanceof ChannelRejectedError) {
    throw ApplicationFailure.create({
      type: PaymentErrorCode.ChannelRejected,
      message: `${err.message} (${err.code})`,
      nonRetryable: true,
      details: [err.code],
    });
  }
  throw err;
}

/**
 * The references of channels that name them (`ChannelAdapter.newReference`): reserved before the
 * call that creates an order or a refund, read back for every later call. Channels without them
 * cost nothing here.
 */
export function channelReferences(models: Models, channels: Record<PaymentChannel, ChannelAdapter>) {
  type Kind = 'order' | 'refund';
  const keep = (channel: PaymentChannel, kind: Kind, id: string, reference: string): Promise<string> =>
    reserveChannelReference(models.channelReferences, channelReferenceKey(channel, kind, id), reference);
  /** The reference the adapter names up front, reserved once; undefined for adapters that name none. */
  const reserve = (channel: PaymentChannel, kind: Kind, id: string): Promise<string | undefined> => {
    const fresh = channels[channel].newReference?.(new Date());
    return fresh === undefined ? Promise.resolve(undefined) : keep(channel, kind, id, fresh);
  };
  const kept = (channel: PaymentChannel, kind: Kind, id: string): Promise<string | undefined> =>
    channels[channel].keepsReferences === true
      ? keptChannelReference(models.channelReferences, channelReferenceKey(channel, kind, id))
      : Promise.resolve(undefined);
  /** Keeps what the channel answered, for adapters that keep references and named none up front. */
  const learn = async (channel: PaymentChannel, kind: Kind, id: string, answered: string | undefined) => {
    if (channels[channel].keepsReferences === true && answered !== undefined) await keep(channel, kind, id, answered);
  };
  return {
    forNewOrder: (channel: PaymentChannel, paymentId: string) => reserve(channel, 'order', paymentId),
    learnOrder: (channel: PaymentChannel, paymentId: string, answered: string | undefined) =>
      learn(channel, 'order', paymentId, answered),
    ofOrder: (channel: PaymentChannel, paymentId: string) => kept(channel, 'order', paymentId),
    forRefund: (channel: PaymentChannel, refundId: string) => reserve(channel, 'refund', refundId),
    learnRefund: (channel: PaymentChannel, refundId: string, answered: string | undefined) =>
      learn(channel, 'refund', refundId, answered),
    ofRefund: (channel: PaymentChannel, refundId: string) => kept(channel, 'refund', refundId),
  };
}

/** How long routing waits for the channels' health before it routes by configuration. */
const HEALTH_READ_TIMEOUT_MS = 1_500;

/** The order the probe asks about: a well-formed payment id no payment has. */
export const PROBE_PAYMENT_ID = `pay_${'a'.repeat(28)}`;
/** The reference the probe names to channels that find orders by one the channel made. */
const PROBE_REFERENCE = `pi_${'a'.repeat(28)}`;

/** `reference` as an optional field: absent rather than undefined. */
export const withReference = <K extends string>(name: K, reference: string | undefined) =>
  (reference === undefined ? {} : { [name]: reference }) as Partial<Record<K, string>>;

/**
 * Channel calls. Each is idempotent at the channel: orders are keyed by `out_trade_no` (the
 * payment id), refunds by the refund id; so a retried activity never charges or refunds twice.
 * Outages (5xx, timeouts) throw retryable errors; business refusals throw non-retryable ones.
 */
export function createChannelActivities({
  models,
  channels,
  health,
  routing,
  logger,
  enabledChannels,
  publicBaseUrl,
}: ChannelDeps) {
  const references = channelReferences(models, channels);

  /** The route, and how health changed it from the configured order (undefined when it did not). */
  async function planRoute(request: RouteRequest): Promise<{ route: PaymentChannel[]; change?: string }> {
    const plain = rankChannels(channels, enabledChannels, request);
    // Health is advice: a MongoDB that does not answer must not hold the route up (the local
    // activity has 5 s, and a payment whose route never comes fails).
    const views = await withTimeout(health.view(), HEALTH_READ_TIMEOUT_MS, 'the channel health read').catch(
      (err: unknown) => {
        logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'channel health unread; routing by configuration',
        );
        return [];
      },
    );
    const open = new Set(views.filter((v) => v.breakers.create.state === 'open').map((v) => v.channel));
    const ranked = rankChannels(channels, enabledChannels, request, {
      ...routing,
      health: { open, score: new Map(views.map((v) => [v.channel, v.score])) },
    });
    if (ranked.join() === plain.join()) return { route: ranked };
    const skipped = plain.filter((c) => open.has(c));
    logger.info({ route: ranked, configured: plain, open: skipped }, 'channel health changed a payment’s route');
    const parts = [
      ...(skipped.length > 0 ? [`skipped ${skipped.join(', ')} (breaker open)`] : []),
      `tries ${ranked.length > 0 ? ranked.join(', ') : 'none'} (configured: ${plain.join(', ')})`,
    ];
    return { route: ranked, change: `channel health changed the route: ${parts.join('; ')}` };
  }

  return {
    /**
     * Routing decision, run as a local activity: which channels can take this payment, best first,
     * by their limits, the platform's preference and what every worker has seen of their health.
     * Health is advice: when it cannot be read, the static order stands.
     */
    async planChannelRoute(request: RouteRequest): Promise<PaymentChannel[]> {
      return (await planRoute(request)).route;
    },

    /**
     * {@link planChannelRoute}, and when channel health changed the route from the configured
     * order, how: for the payment's timeline.
     */
    async planChannelRouteExplained(request: RouteRequest): Promise<{ route: PaymentChannel[]; change?: string }> {
      const { route, change } = await planRoute(request);
      return change === undefined ? { route } : { route, change };
    },

    /**
     * The schedule's probe: asks every enabled channel about an order nobody made (an answer,
     * even "no such order", shows the channel up), counted in the channels' health like any
     * call, then reads the health so breakers that have cooled down move on.
     */
    async probeChannels(): Promise<{ channel: PaymentChannel; ok: boolean; ms: number; answer: string }[]> {
      const results = await Promise.all(
        enabledChannels.map(async (channel) => {
          const adapter = channels[channel];
          const started = performance.now();
          const reference =
            adapter.newReference?.(new Date()) ?? (adapter.keepsReferences ? PROBE_REFERENCE : undefined);
          try {
            const trade = await adapter.queryOrder(PROBE_PAYMENT_ID, reference);
            return { channel, ok: true, ms: Math.round(performance.now() - started), answer: trade.state };
          } catch (err) {
            const ok = !isChannelFailure(err);
            return {
              channel,
              ok,
              ms: Math.round(performance.now() - started),
              answer: err instanceof Error ? err.name : 'error',
            };
          }
        }),
      );
      await health.view();
      return results;
    },

    /**
     * Creates the order, or finds the one created by an earlier run: when the channel says the
     * order is already paid or closed, our record of it is returned with `decided` set.
     */
    async openChannelOrder(args: OpenChannelOrderArgs): Promise<ChannelOrder> {
      let order: ChannelOrder;
      const reference = await references.forNewOrder(args.channel, args.paymentId);
      try {
        order = await channels[args.channel].createOrder({
          ...withReference('reference', reference),
          paymentId: args.paymentId,
          amount: args.amount,
          currency: args.currency,
          subject: args.subject,
          expiresAt: args.expiresAt,
          notifyUrl: `${publicBaseUrl}/v1/callbacks/${args.channel}`,
        });
      } catch (err) {
        const decided =
          err instanceof ChannelRejectedError && (err.code === 'already_paid' || err.code === 'order_closed');
        const earlier = decided
          ? await models.channelOrders.findOne({ _id: channelOrderKey(args.paymentId, args.channel) }).lean()
          : null;
        if (!earlier) rethrowChannelError(err);
        return { channel: args.channel, payUrl: earlier.payUrl, merchantId: earlier.merchantId, decided: true };
      }
      if (reference === undefined) {
        await references.learnOrder(args.channel, args.paymentId, order.reference);
        const kept = await references.ofOrder(args.channel, args.paymentId);
        // A second order at the channel (an earlier one's answer was lost and its request id had
        // lapsed): the learner would approve one the saga does not know. Refused; the next channel goes.
        if (kept !== undefined && order.reference !== undefined && kept !== order.reference) {
          throw ApplicationFailure.create({
            type: PaymentErrorCode.ChannelRejected,
            message: `${args.channel} opened a second order (${order.reference}) for ${args.paymentId}, which has ${kept}`,
            nonRetryable: true,
          });
        }
      }
      try {
        await models.channelOrders.create({
          _id: channelOrderKey(args.paymentId, args.channel),
          paymentId: args.paymentId,
          channel: args.channel,
          amount: args.amount,
          currency: args.currency,
          payUrl: order.payUrl,
          merchantId: order.merchantId,
        });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      return order;
    },

    async queryChannelOrder({
      channel,
      paymentId,
    }: {
      channel: PaymentChannel;
      paymentId: string;
    }): Promise<ChannelTrade> {
      const reference = await references.ofOrder(channel, paymentId);
      return channels[channel].queryOrder(paymentId, reference).catch(rethrowChannelError);
    },

    /**
     * Takes the money of an order the payer approved (channels where the merchant captures:
     * PayPal), idempotent per payment at the channel. A channel without captures is asked
     * instead: its approvals do not exist.
     */
    async captureChannelOrder({
      channel,
      paymentId,
      attempt = 0,
    }: {
      channel: PaymentChannel;
      paymentId: string;
      /** Captures asked after declined ones (see `ChannelAdapter.captureOrder`). */
      attempt?: number;
    }): Promise<ChannelTrade> {
      const reference = await references.ofOrder(channel, paymentId);
      const adapter = channels[channel];
      const trade = adapter.captureOrder
        ? adapter.captureOrder(paymentId, reference, attempt)
        : adapter.queryOrder(paymentId, reference);
      return trade.catch(rethrowChannelError);
    },

    async closeChannelOrder({
      channel,
      paymentId,
    }: {
      channel: PaymentChannel;
      paymentId: string;
    }): Promise<CloseResult> {
      const reference = await references.ofOrder(channel, paymentId);
      const result = await channels[channel].closeOrder(paymentId, reference).catch(rethrowChannelError);
      if (result === 'CLOSED')
        await models.channelOrders.updateOne(
          { _id: channelOrderKey(paymentId, channel) },
          { $set: { state: 'closed' } },
        );
      return result;
    },

    /**
     * Refunds through the channel with `refundId` as its idempotency key and records it. A refund
     * still processing at the channel throws (retryable) until it settles; one the channel
     * declines for good throws non-retryable `refund_failed`.
     */
    async refundPayment(args: RefundArgs): Promise<RefundOutcome> {
      try {
        await models.refunds.create({
          _id: args.refundId,
          refundId: args.refundId,
          paymentId: args.paymentId,
          channel: args.channel,
          amount: args.amount,
          currency: args.currency,
          reason: args.reason,
          status: 'pending',
        });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const adapter = channels[args.channel];
      const [orderReference, refundReference] = await Promise.all([
        references.ofOrder(args.channel, args.paymentId),
        references.forRefund(args.channel, args.refundId),
      ]);
      let outcome = await adapter
        .refund({
          ...withReference('orderReference', orderReference),
          ...withReference('refundReference', refundReference),
          paymentId: args.paymentId,
          refundId: args.refundId,
          amount: args.amount,
          totalAmount: args.totalAmount,
          currency: args.currency,
          reason: args.reason,
        })
        .catch(rethrowChannelError);
      // Channels that answer the refund's own id (cards, PayPal) are asked about it by that id.
      if (refundReference === undefined)
        await references.learnRefund(args.channel, args.refundId, outcome.channelRefundId);
      const queryReference = refundReference ?? (await references.ofRefund(args.channel, args.refundId));
      if (outcome.status === 'PROCESSING')
        outcome = await adapter.queryRefund(args.paymentId, args.refundId, queryReference).catch(rethrowChannelError);
      if (outcome.status === 'PROCESSING')
        throw new Error(`refund ${args.refundId} is still processing at ${args.channel}`);
      const succeeded = outcome.status === 'SUCCEEDED';
      await models.refunds.updateOne(
        { _id: args.refundId },
        {
          $set: {
            status: succeeded ? 'succeeded' : 'failed',
            channelRefundId: outcome.channelRefundId ?? null,
            failureReason: succeeded ? null : (outcome.reason ?? 'declined by the channel'),
          },
        },
      );
      if (!succeeded) {
        throw ApplicationFailure.create({
          type: PaymentErrorCode.RefundFailed,
          message: `${args.channel} declined refund ${args.refundId}: ${outcome.reason ?? 'no reason given'}`,
          nonRetryable: true,
        });
      }
      return outcome;
    },
  };
}
