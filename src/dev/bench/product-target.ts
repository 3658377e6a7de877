import type { Collection } from 'mongoose';
import type { PlatformClient } from '../../client/index.js';
import type { BenchTarget } from './run-pass.js';

/**
 * The payment system end to end: `POST /v1/payments` signed like a platform backend, then the
 * sandbox payer pays at the channel (`POST /sandbox/v1/payments/:id/pay`), whose notification
 * reaches the workflow through the API. A payment completes when the read model says `succeeded`;
 * its time is the timeline's `payment.succeeded` entry.
 */
export function productTarget(options: {
  apiUrl: string;
  platform: PlatformClient;
  /** Headers of the sandbox control calls. */
  sandboxHeaders: Record<string, string>;
  /** The read model's `payments` collection. */
  payments: Collection;
  /** Makes this run's order ids unique. */
  runId: string;
}): BenchTarget {
  const { apiUrl, platform, sandboxHeaders, payments, runId } = options;
  return {
    system: 'product',

    async createAndPay(pass, i) {
      const begin = performance.now();
      const res = await platform.send('POST', '/v1/payments', {
        body: {
          orderId: `bench-${runId}-${pass.replace(/\W+/g, '-')}-${i}`,
          customerId: `learner-${i % 97}`,
          currency: 'CNY',
          amount: 9_900,
          items: [{ courseId: 'bench-101', title: 'Benchmarking 101', unitAmount: 9_900, quantity: 1 }],
          channel: i % 2 === 0 ? 'alipay' : 'wechatpay',
        },
      });
      const createMs = performance.now() - begin;
      const created = (res.body ?? {}) as { paymentId?: string };
      if (res.status !== 201 || !created.paymentId) {
        return { createMs, id: undefined, paid: false, failure: `POST /v1/payments answered ${res.status}` };
      }
      const paid = await fetch(`${apiUrl}/sandbox/v1/payments/${created.paymentId}/pay`, {
        method: 'POST',
        headers: sandboxHeaders,
        body: JSON.stringify({ outcome: 'success' }),
      });
      await paid.arrayBuffer();
      return paid.status === 200
        ? { createMs, id: created.paymentId, paid: true }
        : { createMs, id: created.paymentId, paid: false, failure: `the sandbox pay call answered ${paid.status}` };
    },

    completedCount: () => payments.countDocuments({ status: 'succeeded' }),

    async completionTimes(ids) {
      const docs = await payments
        .find({ status: 'succeeded' }, { projection: { paymentId: 1, timeline: 1 } })
        .toArray();
      const at = new Map<string, number>();
      for (const doc of docs) {
        const id = String(doc.paymentId);
        if (!ids.has(id)) continue;
        const succeeded = (doc.timeline as { event: string; at: Date }[]).find((t) => t.event === 'payment.succeeded');
        if (succeeded) at.set(id, new Date(succeeded.at).getTime());
      }
      return at;
    },
  };
}
