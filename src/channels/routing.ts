import type { Currency } from '../../domain/money.js';
import type { PaymentChannel } from '../../domain/payment.js';
import type { ChannelAdapter } from './types.js';

export interface RouteRequest {
  currency: Currency;
  amount: number;
  preferred?: PaymentChannel;
}

/**
 * The channels that can take a payment, best first: the platform's preferred channel when it can
 * take the payment, then the other enabled channels in configured order. A channel can take a
 * payment when it is enabled and supports the currency and amount (its limits). Outages are not
 * known here: the saga fails over to the next channel when one is down at order creation.
 */
export function rankChannels(
  adapters: Record<PaymentChannel, Pick<ChannelAdapter, 'supports'>>,
  enabled: readonly PaymentChannel[],
  request: RouteRequest,
): PaymentChannel[] {
  const able = enabled.filter((channel) => adapters[channel].supports(request.currency, request.amount));
  const preferred = request.preferred;
  return preferred && able.includes(preferred) ? [preferred, ...able.filter((c) => c !== preferred)] : able;
}
