import type { Models } from '../db/connect.js';
import { addContribution, contributionOf, type DayCells } from '../../domain/stats.js';

/**
 * The statistics recounted from the payments themselves (a scan of the read model, for checks,
 * not for every request): the cells the rollups must hold for the days from `from` to `to`.
 */
export async function recountDays(
  models: Models,
  offsetMinutes: number,
  from: string,
  to: string,
): Promise<DayCells[]> {
  const days = new Map<string, DayCells>();
  const docs = await models.payments
    .find({}, { status: 1, channel: 1, currency: 1, amount: 1, timeline: 1, refunds: 1 })
    .lean();
  for (const doc of docs) {
    const contribution = contributionOf(
      {
        paymentId: String(doc._id),
        status: doc.status,
        channel: doc.channel ?? null,
        currency: doc.currency,
        amount: doc.amount,
        timeline: doc.timeline,
        refunds: doc.refunds.map((r) => ({ refundId: r.refundId, amount: r.amount, status: r.status })),
      },
      offsetMinutes,
    );
    if (contribution !== undefined && contribution.day >= from && contribution.day <= to) {
      addContribution(days, contribution);
    }
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
}
