import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { ChannelAdapter } from '../channels/types.js';

/**
 * `adapter` with a client span around each call to the channel (`channel create`, `channel query`,
 * ...), a child of the activity's span. Tagged with the channel and the operation only: no
 * amounts, accounts or anything the channel answered.
 */
export function traceAdapter(adapter: ChannelAdapter, tracer: Tracer): ChannelAdapter {
  const traced =
    <A extends unknown[], R>(operation: string, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      tracer.startActiveSpan(
        `channel ${operation}`,
        { kind: SpanKind.CLIENT, attributes: { 'payment.channel': adapter.channel, 'channel.operation': operation } },
        async (span) => {
          try {
            return await fn(...args);
          } catch (err) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'Error' });
            throw err;
          } finally {
            span.end();
          }
        },
      );
  return {
    ...adapter,
    createOrder: traced('create', adapter.createOrder.bind(adapter)),
    queryOrder: traced('query', adapter.queryOrder.bind(adapter)),
    closeOrder: traced('close', adapter.closeOrder.bind(adapter)),
    ...(adapter.captureOrder ? { captureOrder: traced('capture', adapter.captureOrder.bind(adapter)) } : {}),
    refund: traced('refund', adapter.refund.bind(adapter)),
    queryRefund: traced('query refund', adapter.queryRefund.bind(adapter)),
  };
}
