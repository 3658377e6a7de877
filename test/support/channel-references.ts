import type { ChannelAdapter } from '../../src/channels/types.js';

/**
 * An adapter that keeps its own references (`ChannelAdapter.newReference`) in memory, as the
 * channel activities keep them in MongoDB, so tests can call it as they call the others. An
 * adapter that names none is returned as it is.
 */
export function keepingReferences(adapter: ChannelAdapter): ChannelAdapter {
  const newReference = adapter.newReference?.bind(adapter);
  if (newReference === undefined) return adapter;
  const orders = new Map<string, string>();
  const refunds = new Map<string, string>();
  const reserve = (kept: Map<string, string>, id: string): string => {
    const reference = kept.get(id) ?? newReference(new Date());
    kept.set(id, reference);
    return reference;
  };
  return {
    ...adapter,
    createOrder: (request) =>
      adapter.createOrder({ ...request, reference: request.reference ?? reserve(orders, request.paymentId) }),
    queryOrder: (paymentId, reference) => adapter.queryOrder(paymentId, reference ?? orders.get(paymentId)),
    closeOrder: (paymentId, reference) => adapter.closeOrder(paymentId, reference ?? orders.get(paymentId)),
    refund: (request) =>
      adapter.refund({
        ...request,
        orderReference: request.orderReference ?? orders.get(request.paymentId),
        refundReference: request.refundReference ?? reserve(refunds, request.refundId),
      }),
    queryRefund: (paymentId, refundId, reference) =>
      adapter.queryRefund(paymentId, refundId, reference ?? refunds.get(refundId)),
  };
}

/** The channel's own order number of a payment, as the sandbox books it: UnionPay's `orderId` carries no `pay_`. */
export function channelOrderNo(channel: string, paymentId: string): string {
  return channel === 'unionpay' ? paymentId.slice('pay_'.length) : paymentId;
}
