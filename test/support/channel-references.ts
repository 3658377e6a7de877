import type { ChannelAdapter } from '../../src/channels/types.js';

/**
 * An adapter that keeps its own references (`ChannelAdapter.newReference`) in memory, as the
 * channel activities keep them in MongoDB, so tests can call it as they call the others. An
 * adapter that names none is returned as it is.
 */
export function keepingReferences(adapter: ChannelAdapter): ChannelAdapter {
  if (adapter.keepsReferences !== true) return adapter;
  const newReference = adapter.newReference?.bind(adapter);
  const orders = new Map<string, string>();
  const refunds = new Map<string, string>();
  const reserve = (kept: Map<string, string>, id: string): string | undefined => {
    const reference = kept.get(id) ?? newReference?.(new Date());
    if (reference !== undefined) kept.set(id, reference);
    return reference;
  };
  const learn = (kept: Map<string, string>, id: string, answered: string | undefined) => {
    if (answered !== undefined && !kept.has(id)) kept.set(id, answered);
  };
  return {
    ...adapter,
    async createOrder(request) {
      const reference = request.reference ?? reserve(orders, request.paymentId);
      const order = await adapter.createOrder({ ...request, ...(reference === undefined ? {} : { reference }) });
      learn(orders, request.paymentId, order.reference);
      return order;
    },
    queryOrder: (paymentId, reference) => adapter.queryOrder(paymentId, reference ?? orders.get(paymentId)),
    closeOrder: (paymentId, reference) => adapter.closeOrder(paymentId, reference ?? orders.get(paymentId)),
    ...(adapter.captureOrder
      ? {
          captureOrder: (paymentId: string, reference?: string, attempt?: number) =>
            adapter.captureOrder!(paymentId, reference ?? orders.get(paymentId), attempt),
        }
      : {}),
    async refund(request) {
      const orderReference = request.orderReference ?? orders.get(request.paymentId);
      const refundReference = request.refundReference ?? reserve(refunds, request.refundId);
      const outcome = await adapter.refund({
        ...request,
        ...(orderReference === undefined ? {} : { orderReference }),
        ...(refundReference === undefined ? {} : { refundReference }),
      });
      learn(refunds, request.refundId, outcome.channelRefundId);
      return outcome;
    },
    queryRefund: (paymentId, refundId, reference) =>
      adapter.queryRefund(paymentId, refundId, reference ?? refunds.get(refundId)),
  };
}

/** The channel's own order number of a payment, as the sandbox books it: UnionPay's `orderId` carries no `pay_`. */
export function channelOrderNo(channel: string, paymentId: string): string {
  return channel === 'unionpay' ? paymentId.slice('pay_'.length) : paymentId;
}
