import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize, STATS_GROUP_BY } from '../../domain/stats.js';
import { addStaff } from '../../src/staff/store.js';
import { createStatsRollups } from '../../src/stats/rollups.js';
import { recountDays } from '../../src/stats/recount.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * `GET /staff/v1/stats` against the real API, worker, Temporal and MongoDB-wire servers: payments
 * that succeed, are partly refunded, are canceled or fail, counted by the rollups the saga keeps,
 * and the answer held to a recount from the payments themselves.
 */
let stack: TestStack;
let token: string;
beforeAll(async () => {
  // One pass down the route, so a payment no channel can open fails at once.
  stack = await startStack({ env: { CHANNEL_OPEN_RETRY_SECONDS: '0' } });
  ({ token } = await addStaff(stack.database.models, uniqueId('support').toLowerCase(), 'support'));
});
afterAll(async () => {
  await stack?.stop();
});

const stats = (query: string, bearer = token) =>
  fetch(`${stack.baseUrl}/staff/v1/stats${query}`, { headers: { authorization: `Bearer ${bearer}` } }).then(
    async (res) => ({ status: res.status, body: (await res.json()) as any }),
  );

async function create(overrides: Record<string, unknown>) {
  const res = await stack.request('POST', '/v1/payments', buildPaymentRequest(overrides));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.paymentId as string;
}

async function paid(overrides: Record<string, unknown>) {
  const paymentId = await create(overrides);
  await payAtChannel(stack, paymentId);
  await waitForStatus(stack, paymentId, 'succeeded');
  return paymentId;
}

/** The rollups' answer for every grouping equals the recount from the read model's payments. */
async function expectRollupsEqualRecount(day: string) {
  const recounted = await recountDays(stack.database.models, stack.config.STATS_UTC_OFFSET_MINUTES, day, day);
  for (const groupBy of STATS_GROUP_BY) {
    const res = await stats(`?from=${day}&to=${day}&groupBy=${groupBy}`);
    expect(res.status).toBe(200);
    expect(res.body.groups, groupBy).toEqual(summarize(recounted, groupBy));
  }
}

describe('payment statistics for staff', () => {
  it('counts each payment once per milestone, amounts per currency, and equals a recount from the payments', async () => {
    const outage = (enabled: boolean) =>
      Promise.all(
        ['alipay', 'wechatpay', 'unionpay', 'card'].map((channel) =>
          stack.request('POST', `/sandbox/v1/channels/${channel}/outage`, { operations: ['create'], enabled }),
        ),
      );
    await outage(true);
    try {
      const res = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
      expect(res.body.error?.code).toBe('channels_unavailable');
    } finally {
      await outage(false);
    }

    await paid({ channel: 'alipay', items: [buildItem({ unitAmount: 10_000 })] });
    const refundedId = await paid({ channel: 'wechatpay', items: [buildItem({ unitAmount: 20_000 })] });
    await paid({ currency: 'USD', items: [buildItem({ unitAmount: 4_900 })] });
    const canceledId = await create({ channel: 'alipay', items: [buildItem({ unitAmount: 5_000 })] });
    expect(
      (await stack.request('POST', `/v1/payments/${canceledId}/cancel`, { reason: 'changed my mind' })).status,
    ).toBe(200);
    const refund = await stack.client.send('POST', `/v1/payments/${refundedId}/refunds`, {
      body: { amount: 3_000, reason: 'one lesson back' },
      idempotencyKey: uniqueId('idem'),
    });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    await pollUntil(
      async () => (await stack.request('GET', `/v1/payments/${refundedId}`)).body,
      (p) => p.status === 'partially_refunded' && p.refunds?.some((r: { status: string }) => r.status === 'succeeded'),
    );

    const today = (await stats('')).body.to as string;
    const byChannel = await pollUntil(
      () => stats(`?from=${today}&to=${today}&groupBy=channel`),
      (res) => res.body.groups?.find((g: { key: string }) => g.key === 'wechatpay')?.refundCount === 1,
    );
    const group = (key: string) => byChannel.body.groups.find((g: { key: string }) => g.key === key);
    expect(byChannel.body).toMatchObject({ from: today, to: today, groupBy: 'channel' });
    expect(typeof byChannel.body.needsAttention).toBe('number');
    expect(group('alipay')).toMatchObject({
      counts: { created: 2, succeeded: 1, canceled: 1, failed: 0 },
      amounts: [{ currency: 'CNY', captured: 10_000, refunded: 0 }],
      successRate: 0.5,
      refundCount: 0,
    });
    expect(group('alipay').timeToPaidMs.p50).toBeGreaterThan(0);
    expect(group('wechatpay')).toMatchObject({
      counts: { created: 1, succeeded: 1, partially_refunded: 1 },
      amounts: [{ currency: 'CNY', captured: 20_000, refunded: 3_000 }],
      successRate: 1,
      refundCount: 1,
      refundRate: 1,
    });
    expect(group('card')).toMatchObject({
      counts: { created: 1, succeeded: 1 },
      amounts: [{ currency: 'USD', captured: 4_900, refunded: 0 }],
    });
    expect(group('none')).toMatchObject({ counts: { created: 1, failed: 1, succeeded: 0 }, successRate: 0 });

    const byCurrency = await stats(`?from=${today}&to=${today}&groupBy=currency`);
    expect(byCurrency.body.groups.map((g: { key: string }) => g.key)).toEqual(['CNY', 'USD']);
    expect(byCurrency.body.groups[0].amounts).toEqual([{ currency: 'CNY', captured: 30_000, refunded: 3_000 }]);
    const byStatus = await stats(`?from=${today}&to=${today}&groupBy=status`);
    expect(
      Object.fromEntries(
        byStatus.body.groups.map((g: { key: string; counts: { created: number } }) => [g.key, g.counts.created]),
      ),
    ).toEqual({ canceled: 1, failed: 1, partially_refunded: 1, succeeded: 2 });

    await expectRollupsEqualRecount(today);

    // A write retried or repeated (a lost activity completion, a replay) adds nothing, even all at once.
    const doc = await stack.database.models.payments.findOne({ _id: refundedId }).lean();
    const rollups = createStatsRollups(stack.database.models, stack.config.STATS_UTC_OFFSET_MINUTES);
    const again = {
      paymentId: refundedId,
      status: doc!.status,
      channel: doc!.channel ?? null,
      currency: doc!.currency,
      amount: doc!.amount,
      timeline: doc!.timeline,
      refunds: doc!.refunds,
    };
    await Promise.all(Array.from({ length: 5 }, () => rollups.record(again)));
    await expectRollupsEqualRecount(today);
    // An earlier state written late (the create's save is not waited for) never overrides a later one.
    const earlier = { ...again, status: 'succeeded', timeline: again.timeline.slice(0, -1), refunds: [] };
    expect((await rollups.record(earlier)).reached).toEqual([]);
    await expectRollupsEqualRecount(today);
    expect((await stats(`?from=${today}&to=${today}&groupBy=channel`)).body).toEqual(byChannel.body);
  });

  it('answers the last seven days by day when no range is given, and refuses a bad range or grouping', async () => {
    const res = await stats('');
    expect(res.status).toBe(200);
    expect(res.body.groupBy).toBe('day');
    expect((Date.parse(res.body.to) - Date.parse(res.body.from)) / 86_400_000).toBe(6);
    for (const query of [
      '?groupBy=week',
      '?from=2026-02-30',
      '?from=2026-12-03&to=2026-12-01',
      '?from=2020-01-01&to=2026-01-01',
      '?at=1',
    ]) {
      const bad = await stats(query);
      expect(bad.status, query).toBe(422);
      expect(bad.body.error.type).toBe('validation_error');
    }
    expect((await stats('', 'not-a-token')).status).toBe(401);
  });
});
