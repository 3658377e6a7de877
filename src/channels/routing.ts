import type { Currency } from '../../domain/money.js';
import type { PaymentChannel } from '../../domain/payment.js';
import type { ChannelAdapter } from './types.js';

export interface RouteRequest {
  currency: Currency;
  amount: number;
  preferred?: PaymentChannel;
}

/** What routing knows of the channels' health (see src/channels/health.ts). */
export interface RouteHealth {
  /** Channels whose create breaker is open: skipped without being tried. */
  open: ReadonlySet<PaymentChannel>;
  /** Higher is better: recent success rate, less a little for slowness. */
  score: ReadonlyMap<PaymentChannel, number>;
}

export interface RouteOptions {
  health?: RouteHealth;
  /** A volume split: relative weights per channel (`CHANNEL_WEIGHTS`); the order is drawn by them. */
  weights?: Partial<Record<PaymentChannel, number>>;
  /** Share of payments, 0-1, for which a ranked-down channel goes first, so its health stays measured. */
  exploration?: number;
  /** 0 <= x < 1; `Math.random` by default. */
  random?: () => number;
}

/** Scores closer than this rank as equal, so channels do not swap places over noise. */
const SCORE_STEP = 0.2;

/**
 * The channels that can take a payment, best first. A channel can take a payment when it is
 * enabled and supports the currency and amount (its limits). Among those:
 * - a channel whose create breaker is open is skipped, unless every one is (then they are tried
 *   in configured order: a chance beats a refusal);
 * - the platform's preferred channel goes first;
 * - channels that take the currency as it is rank before those that convert it (Alipay's
 *   cross-border mode), whatever their health;
 * - the others follow by a weighted draw when a volume split is configured, else by health score
 *   (ties in configured order), with a small exploration share that puts a ranked-down channel
 *   first.
 * The saga fails over to the next channel when one cannot open the order.
 */
export function rankChannels(
  adapters: Record<PaymentChannel, Pick<ChannelAdapter, 'supports' | 'convertsCurrency'>>,
  enabled: readonly PaymentChannel[],
  request: RouteRequest,
  options: RouteOptions = {},
): PaymentChannel[] {
  const converts = (channel: PaymentChannel) => adapters[channel].convertsCurrency?.(request.currency) === true;
  const able = enabled.filter((channel) => adapters[channel].supports(request.currency, request.amount));
  const { health } = options;
  const closed = health ? able.filter((channel) => !health.open.has(channel)) : able;
  const usable = closed.length > 0 ? closed : able;
  const preferred = request.preferred && usable.includes(request.preferred) ? request.preferred : undefined;
  const rest = usable.filter((channel) => channel !== preferred);
  const random = options.random ?? Math.random;
  const order = (group: readonly PaymentChannel[]) =>
    options.weights ? weightedOrder(group, options.weights, random) : byScore(group, health);
  // Channels that take the currency as it is come before those that convert it.
  const ordered = [...order(rest.filter((channel) => !converts(channel))), ...order(rest.filter(converts))];
  if (ordered.length > 1 && options.exploration !== undefined && random() < options.exploration) {
    const index = 1 + Math.floor(random() * (ordered.length - 1));
    ordered.unshift(...ordered.splice(index, 1));
  }
  return preferred ? [preferred, ...ordered] : ordered;
}

function byScore(channels: readonly PaymentChannel[], health: RouteHealth | undefined): PaymentChannel[] {
  if (!health) return [...channels];
  const step = (channel: PaymentChannel) => Math.round((health.score.get(channel) ?? 1) / SCORE_STEP);
  return channels
    .map((channel, index) => ({ channel, index, step: step(channel) }))
    .sort((a, b) => b.step - a.step || a.index - b.index)
    .map((entry) => entry.channel);
}

/** A draw without replacement, each channel's chance at each place proportional to its weight. */
function weightedOrder(
  channels: readonly PaymentChannel[],
  weights: Partial<Record<PaymentChannel, number>>,
  random: () => number,
): PaymentChannel[] {
  const left = channels.map((channel) => ({ channel, weight: Math.max(weights[channel] ?? 0, 0) }));
  const order: PaymentChannel[] = [];
  while (left.length > 0) {
    const total = left.reduce((sum, entry) => sum + entry.weight, 0);
    let pick = 0;
    if (total > 0) {
      let point = random() * total;
      pick = left.findIndex((entry) => (point -= entry.weight) < 0);
      if (pick === -1) pick = left.length - 1;
    }
    order.push(...left.splice(pick, 1).map((entry) => entry.channel));
  }
  return order;
}

/** Reads `CHANNEL_WEIGHTS` (`alipay:3,wechatpay:1`); undefined when unset. Throws on a malformed value. */
export function parseChannelWeights(
  text: string | undefined,
  channels: readonly PaymentChannel[],
): Partial<Record<PaymentChannel, number>> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const weights: Partial<Record<PaymentChannel, number>> = {};
  for (const part of text.split(',')) {
    const [name = '', value = ''] = part.split(':').map((s) => s.trim());
    const weight = Number(value);
    if (!channels.includes(name as PaymentChannel) || !/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(weight)) {
      throw new Error(`CHANNEL_WEIGHTS: expected channel:weight pairs such as alipay:3,wechatpay:1, got "${part}"`);
    }
    weights[name as PaymentChannel] = weight;
  }
  return weights;
}
