import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILL_UTC_OFFSET_MINUTES, dayOf } from '../../domain/reconciliation.js';
import { addStaff } from '../../src/staff/store.js';
import { ensureReconciliationSchedules, reconciliationScheduleId } from '../../src/worker/schedules.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * Daily reconciliation against the real API, worker, Temporal and MongoDB-wire servers: each
 * channel's sandbox serves the day's bill in its own format, with discrepancies injected through
 * the sandbox control API; a run finds every injected one, with both sides, and nothing else; and
 * each exception is resolved by its audited action through the saga.
 */
let stack: TestStack;
let finance: string;
let support: string;
beforeAll(async () => {
  stack = await startStack();
  ({ token: finance } = await addStaff(stack.database.models, uniqueId('fin').toLowerCase(), 'finance'));
  ({ token: support } = await addStaff(stack.database.models, uniqueId('sup').toLowerCase(), 'support'));
});
afterAll(async () => {
  await stack?.stop();
});

type Channel = 'alipay' | 'wechatpay' | 'unionpay' | 'paypal' | 'card';

async function staffCall(method: 'GET' | 'POST', path: string, body?: unknown, token = finance) {
  const res = await fetch(`${stack.baseUrl}/staff/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function created(channel: Channel, unitAmount = 10_000) {
  const res = await stack.request(
    'POST',
    '/v1/payments',
    buildPaymentRequest({ channel, items: [buildItem({ unitAmount })] }),
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.paymentId as string;
}

async function paid(channel: Channel, unitAmount = 10_000) {
  const paymentId = await created(channel, unitAmount);
  await payAtChannel(stack, paymentId);
  await waitForStatus(stack, paymentId, 'succeeded');
  return paymentId;
}

async function inject(channel: Channel, body: Record<string, unknown>) {
  const res = await stack.request('POST', `/sandbox/v1/channels/${channel}/bill-discrepancy`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { paymentId: string; date: string };
}

/** Runs a reconciliation of today (Beijing) and waits for its result. */
async function reconcile(channel: Channel) {
  const date = dayOf(new Date(), BILL_UTC_OFFSET_MINUTES);
  const started = await staffCall('POST', '/reconciliations', { channel, date });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body.status).toBe('running');
  return pollUntil(
    async () => (await staffCall('GET', `/reconciliations/${started.body.reconciliationId}`, undefined, support)).body,
    (run) => run.status !== 'running',
    60_000,
  );
}

/**
 * A channel's payments and its run must fall in one Beijing day (the bill's): within two minutes
 * of midnight, wait for the new day.
 */
async function withinOneBillDay() {
  const untilMidnight = 86_400_000 - ((Date.now() + BILL_UTC_OFFSET_MINUTES * 60_000) % 86_400_000);
  if (untilMidnight < 120_000) await new Promise((resolve) => setTimeout(resolve, untilMidnight + 1_000));
}

/** A test that may first wait for the new day. */
const BILL_DAY_TEST_TIMEOUT_MS = 240_000;

const findingsOf = (run: any) =>
  (run.exceptions as any[])
    .map((e) => [e.kind, e.transaction, e.paymentId])
    .sort((a, b) => a.join().localeCompare(b.join()));

async function refundPartly(paymentId: string, amount: number) {
  const res = await stack.client.send('POST', `/v1/payments/${paymentId}/refunds`, {
    body: { amount, reason: 'one lesson back' },
    idempotencyKey: uniqueId('idem'),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await waitForStatus(stack, paymentId, 'partially_refunded');
}

describe('daily reconciliation against the channels’ bills', () => {
  it(
    'WeChat Pay: finds each kind of discrepancy with both sides, nothing else, and each is resolved by its action',
    async () => {
      await withinOneBillDay();
      await stack.request('POST', '/sandbox/v1/channels/wechatpay/refund-behaviour', { mode: 'immediate' });
      const clean = await paid('wechatpay');
      const refunded = await paid('wechatpay', 30_000);
      await refundPartly(refunded, 5_000);
      const overcharged = await paid('wechatpay');
      const unbilled = await paid('wechatpay');
      const revoked = await paid('wechatpay');
      const foreign = await paid('wechatpay');
      const waiting = await created('wechatpay', 12_300);
      const canceled = await created('wechatpay', 4_500);
      expect(
        (await stack.request('POST', `/v1/payments/${canceled}/cancel`, { reason: 'changed my mind' })).status,
      ).toBe(200);

      await inject('wechatpay', { kind: 'amount_mismatch', paymentId: overcharged, amount: 10_100 });
      await inject('wechatpay', { kind: 'missing_at_channel', paymentId: unbilled });
      await inject('wechatpay', { kind: 'status_mismatch', paymentId: revoked });
      await inject('wechatpay', { kind: 'currency_mismatch', paymentId: foreign, currency: 'USD' });
      await inject('wechatpay', { kind: 'missing_here', paymentId: waiting });
      await inject('wechatpay', { kind: 'missing_here', paymentId: canceled });
      const stranger = (await inject('wechatpay', { kind: 'missing_here', amount: 777 })).paymentId;

      const run = await reconcile('wechatpay');
      expect(run).toMatchObject({ channel: 'wechatpay', status: 'completed', error: null, exceptionCount: 7 });
      expect(findingsOf(run)).toEqual(
        [
          ['amount_mismatch', 'payment', overcharged],
          ['currency_mismatch', 'payment', foreign],
          ['missing_at_channel', 'payment', unbilled],
          ['missing_here', 'payment', canceled],
          ['missing_here', 'payment', stranger],
          ['missing_here', 'payment', waiting],
          ['status_mismatch', 'payment', revoked],
        ].sort((a, b) => a.join().localeCompare(b.join())),
      );
      // Matched: the clean payment, the refunded one and its refund (the others are exceptions).
      expect(run.matched.payments).toEqual({ count: 2, amounts: [{ currency: 'CNY', amount: 40_000 }] });
      expect(run.matched.refunds).toEqual({ count: 1, amounts: [{ currency: 'CNY', amount: 5_000 }] });
      expect(clean).toBeTruthy();

      const exceptionOf = (paymentId: string) => run.exceptions.find((e: any) => e.paymentId === paymentId);
      expect(exceptionOf(overcharged)).toMatchObject({
        here: { status: 'succeeded', amount: 10_000, currency: 'CNY' },
        atChannel: { status: 'SUCCESS', amount: 10_100, currency: 'CNY' },
        actions: ['explain', 'refund'],
        state: 'open',
      });
      expect(exceptionOf(unbilled)).toMatchObject({ here: { amount: 10_000 }, atChannel: null });
      expect(exceptionOf(revoked)).toMatchObject({ here: { status: 'succeeded' }, atChannel: { status: 'REVOKED' } });
      expect(exceptionOf(foreign)).toMatchObject({ atChannel: { currency: 'USD', amount: 10_000 } });
      expect(exceptionOf(waiting)).toMatchObject({
        here: { status: 'awaiting_payment', amount: 12_300 },
        atChannel: { status: 'SUCCESS', amount: 12_300 },
        actions: ['adopt', 'explain'],
      });
      expect(exceptionOf(canceled)).toMatchObject({ here: { status: 'canceled' }, actions: ['refund', 'explain'] });
      expect(exceptionOf(stranger)).toMatchObject({ here: null, atChannel: { amount: 777 }, actions: ['explain'] });

      // Support may read but not resolve; an action the exception does not offer is refused.
      const resolve = (paymentId: string, body: Record<string, unknown>, token = finance) =>
        staffCall('POST', `/reconciliation-exceptions/${exceptionOf(paymentId).exceptionId}/resolve`, body, token);
      expect((await resolve(waiting, { action: 'adopt', reason: 'the learner paid' }, support)).status).toBe(403);
      const wrong = await resolve(stranger, { action: 'refund', reason: 'give it back' });
      expect([wrong.status, wrong.body.error.code]).toEqual([422, 'invalid_parameter']);

      // adopt: the saga asks the channel and takes the payment.
      const adopted = await resolve(waiting, { action: 'adopt', reason: 'the learner paid at WeChat Pay' });
      expect(adopted.status, JSON.stringify(adopted.body)).toBe(200);
      expect(adopted.body).toMatchObject({ state: 'resolved', actions: [], resolution: { action: 'adopt' } });
      await waitForStatus(stack, waiting, 'succeeded');

      // refund of a charge after the payment ended: the late-payment saga gives it back once.
      expect((await resolve(canceled, { action: 'refund', reason: 'paid after canceling' })).status).toBe(200);
      await waitForStatus(stack, canceled, 'refunded');
      const books = await stack.request('GET', `/sandbox/v1/payments/${canceled}/books`);
      expect(books.body.totals).toEqual([{ currency: 'CNY', captured: 4_500, refunded: 4_500 }]);

      // refund on request for an overcharge: reviewed like any other refund.
      const overRefund = await resolve(overcharged, { action: 'refund', reason: 'charged one yuan more', amount: 100 });
      expect(overRefund.status, JSON.stringify(overRefund.body)).toBe(200);
      expect(overRefund.body.resolution.effect).toMatch(/^refund rfd_/);

      // explain: nothing moves; the reason stays with the exception.
      for (const id of [unbilled, revoked, foreign, stranger]) {
        expect((await resolve(id, { action: 'explain', reason: 'the channel corrected its bill' })).status).toBe(200);
      }
      const again = await resolve(unbilled, { action: 'explain', reason: 'twice' });
      expect([again.status, again.body.error.code]).toEqual([409, 'exception_already_resolved']);

      // Resolved exceptions stay visible as resolved, each with an audit entry.
      const listed = await staffCall('GET', '/reconciliation-exceptions?state=resolved&limit=50', undefined, support);
      const mine = listed.body.exceptions.filter((e: any) => e.reconciliationId === run.reconciliationId);
      expect(mine).toHaveLength(7);
      expect(new Set(mine.map((e: any) => e.resolution.action))).toEqual(new Set(['adopt', 'refund', 'explain']));
      const audit = await staffCall('GET', `/audit?paymentId=${canceled}`, undefined, support);
      expect(audit.body.entries.map((e: any) => e.action)).toContain('reconciliation.refund');
    },
    BILL_DAY_TEST_TIMEOUT_MS,
  );

  it(
    'Alipay: its trade bill (GBK csv.zip) shows missing, unknown and misreported charges; it has no state or currency column',
    async () => {
      await withinOneBillDay();
      const clean = await paid('alipay');
      const overcharged = await paid('alipay');
      const unbilled = await paid('alipay');
      const waiting = await created('alipay');
      await inject('alipay', { kind: 'amount_mismatch', paymentId: overcharged });
      await inject('alipay', { kind: 'missing_at_channel', paymentId: unbilled });
      await inject('alipay', { kind: 'missing_here', paymentId: waiting });
      const stranger = (await inject('alipay', { kind: 'missing_here' })).paymentId;
      const refused = await stack.request('POST', '/sandbox/v1/channels/alipay/bill-discrepancy', {
        kind: 'currency_mismatch',
        paymentId: clean,
      });
      expect([refused.status, refused.body.error.code]).toEqual([409, 'discrepancy_refused']);

      const run = await reconcile('alipay');
      expect(run.status).toBe('completed');
      expect(findingsOf(run)).toEqual(
        [
          ['amount_mismatch', 'payment', overcharged],
          ['missing_at_channel', 'payment', unbilled],
          ['missing_here', 'payment', stranger],
          ['missing_here', 'payment', waiting],
        ].sort((a, b) => a.join().localeCompare(b.join())),
      );
      expect(run.exceptions.find((e: any) => e.paymentId === overcharged)).toMatchObject({
        here: { amount: 10_000 },
        atChannel: { amount: 10_100, status: '交易' },
      });
      expect(run.matched.payments).toEqual({ count: 1, amounts: [{ currency: 'CNY', amount: 10_000 }] });
    },
    BILL_DAY_TEST_TIMEOUT_MS,
  );

  it(
    'UnionPay: its fixed-width ZM and ZME files show every kind of discrepancy',
    async () => {
      await withinOneBillDay();
      await stack.request('POST', '/sandbox/v1/channels/unionpay/refund-behaviour', { mode: 'immediate' });
      const refunded = await paid('unionpay', 20_000);
      await refundPartly(refunded, 2_000);
      const overcharged = await paid('unionpay');
      const unbilled = await paid('unionpay');
      const revoked = await paid('unionpay');
      const foreign = await paid('unionpay');
      const waiting = await created('unionpay');
      await inject('unionpay', { kind: 'amount_mismatch', paymentId: overcharged, amount: 9_900 });
      await inject('unionpay', { kind: 'missing_at_channel', paymentId: unbilled });
      await inject('unionpay', { kind: 'status_mismatch', paymentId: revoked });
      await inject('unionpay', { kind: 'currency_mismatch', paymentId: foreign, currency: 'HKD' });
      await inject('unionpay', { kind: 'missing_here', paymentId: waiting });

      const run = await reconcile('unionpay');
      expect(run.status).toBe('completed');
      expect(findingsOf(run)).toEqual(
        [
          ['amount_mismatch', 'payment', overcharged],
          ['currency_mismatch', 'payment', foreign],
          ['missing_at_channel', 'payment', unbilled],
          ['missing_here', 'payment', waiting],
          ['status_mismatch', 'payment', revoked],
        ].sort((a, b) => a.join().localeCompare(b.join())),
      );
      expect(run.matched.refunds).toEqual({ count: 1, amounts: [{ currency: 'CNY', amount: 2_000 }] });
      expect(run.exceptions.find((e: any) => e.paymentId === foreign)).toMatchObject({
        atChannel: { currency: 'HKD' },
      });
    },
    BILL_DAY_TEST_TIMEOUT_MS,
  );

  it(
    'PayPal: its Transaction Search shows every kind of discrepancy, a reversed capture as status V',
    async () => {
      await withinOneBillDay();
      /** A dollar course, which the learner pays with PayPal (approved, then captured by the saga). */
      const ordered = async (unitAmount = 10_000) => {
        const request = buildPaymentRequest({ currency: 'USD', channel: 'paypal', items: [buildItem({ unitAmount })] });
        const res = await stack.request('POST', '/v1/payments', request);
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.paymentId as string;
      };
      const captured = async (unitAmount = 10_000) => {
        const paymentId = await ordered(unitAmount);
        await payAtChannel(stack, paymentId);
        await waitForStatus(stack, paymentId, 'succeeded');
        return paymentId;
      };
      await stack.request('POST', '/sandbox/v1/channels/paypal/refund-behaviour', { mode: 'immediate' });
      const clean = await captured(4_900);
      const refunded = await captured(20_000);
      await refundPartly(refunded, 2_500);
      const overcharged = await captured();
      const unbilled = await captured();
      const reversed = await captured();
      const foreign = await captured();
      const waiting = await ordered(12_300);
      await inject('paypal', { kind: 'amount_mismatch', paymentId: overcharged, amount: 10_100 });
      await inject('paypal', { kind: 'missing_at_channel', paymentId: unbilled });
      await inject('paypal', { kind: 'status_mismatch', paymentId: reversed });
      await inject('paypal', { kind: 'currency_mismatch', paymentId: foreign, currency: 'EUR' });
      await inject('paypal', { kind: 'missing_here', paymentId: waiting });
      const stranger = (await inject('paypal', { kind: 'missing_here', amount: 777 })).paymentId;

      const run = await reconcile('paypal');
      expect(run).toMatchObject({ channel: 'paypal', status: 'completed', error: null, exceptionCount: 6 });
      expect(findingsOf(run)).toEqual(
        [
          ['amount_mismatch', 'payment', overcharged],
          ['currency_mismatch', 'payment', foreign],
          ['missing_at_channel', 'payment', unbilled],
          ['missing_here', 'payment', stranger],
          ['missing_here', 'payment', waiting],
          ['status_mismatch', 'payment', reversed],
        ].sort((a, b) => a.join().localeCompare(b.join())),
      );
      // Matched: the clean capture, the refunded one and its refund.
      expect(run.matched.payments).toEqual({ count: 2, amounts: [{ currency: 'USD', amount: 24_900 }] });
      expect(run.matched.refunds).toEqual({ count: 1, amounts: [{ currency: 'USD', amount: 2_500 }] });
      expect(clean).toBeTruthy();

      const exceptionOf = (paymentId: string) => run.exceptions.find((e: any) => e.paymentId === paymentId);
      expect(exceptionOf(overcharged)).toMatchObject({
        here: { status: 'succeeded', amount: 10_000, currency: 'USD' },
        atChannel: { status: 'S', amount: 10_100, currency: 'USD' },
      });
      expect(exceptionOf(unbilled)).toMatchObject({
        here: { status: 'succeeded', amount: 10_000, currency: 'USD' },
        atChannel: null,
      });
      expect(exceptionOf(reversed)).toMatchObject({
        here: { status: 'succeeded', amount: 10_000, currency: 'USD' },
        atChannel: { status: 'V', amount: 10_000, currency: 'USD' },
      });
      expect(exceptionOf(foreign)).toMatchObject({
        here: { currency: 'USD', amount: 10_000 },
        atChannel: { status: 'S', currency: 'EUR', amount: 10_000 },
      });
      expect(exceptionOf(waiting)).toMatchObject({
        here: { status: 'awaiting_payment', amount: 12_300, currency: 'USD' },
        atChannel: { status: 'S', amount: 12_300, currency: 'USD' },
        actions: ['adopt', 'explain'],
      });
      expect(exceptionOf(stranger)).toMatchObject({
        here: null,
        atChannel: { status: 'S', amount: 777, currency: 'USD' },
        actions: ['explain'],
      });
    },
    BILL_DAY_TEST_TIMEOUT_MS,
  );

  it('the daily schedule reconciles the channel’s previous Beijing day, at 10:30 Beijing time by default', async () => {
    const client = stack.temporal.client;
    const scheduleId = reconciliationScheduleId('wechatpay');
    await client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => undefined);
    expect(
      await ensureReconciliationSchedules(client, {
        taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
        channels: ['wechatpay'],
        time: stack.config.RECONCILIATION_TIME,
      }),
    ).toEqual({ [scheduleId]: 'created' });
    const handle = client.schedule.getHandle(scheduleId);
    try {
      const described = await handle.describe();
      expect(described.spec.calendars?.[0]).toMatchObject({
        hour: [{ start: 2, end: 2, step: 1 }],
        minute: [{ start: 30, end: 30, step: 1 }],
      });
      await handle.trigger();
      const yesterday = dayOf(new Date(Date.now() - 86_400_000), BILL_UTC_OFFSET_MINUTES);
      const run = await pollUntil(
        () => stack.database.models.reconciliations.findOne({ channel: 'wechatpay', requestedBy: 'schedule' }).lean(),
        (doc) => doc?.status === 'completed',
        60_000,
      );
      expect(run).toMatchObject({ date: yesterday, error: null });
    } finally {
      await handle.delete();
    }
  });

  it(
    'Card: its balance transactions (Stripe) show every kind of discrepancy, a failed charge as not effective',
    async () => {
      await withinOneBillDay();
      await stack.request('POST', '/sandbox/v1/channels/card/refund-behaviour', { mode: 'immediate' });
      const inDollars = async (unitAmount = 4_900) => {
        const body = buildPaymentRequest({ currency: 'USD', channel: 'card', items: [buildItem({ unitAmount })] });
        const res = await stack.request('POST', '/v1/payments', body);
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.paymentId as string;
      };
      const paidInDollars = async (unitAmount?: number) => {
        const paymentId = await inDollars(unitAmount);
        await payAtChannel(stack, paymentId);
        await waitForStatus(stack, paymentId, 'succeeded');
        return paymentId;
      };
      const refunded = await paidInDollars(20_000);
      await refundPartly(refunded, 2_000);
      const overcharged = await paidInDollars();
      const unbilled = await paidInDollars();
      const failed = await paidInDollars();
      const foreign = await paidInDollars();
      const waiting = await inDollars(1_500);
      await inject('card', { kind: 'amount_mismatch', paymentId: overcharged, amount: 5_000 });
      await inject('card', { kind: 'missing_at_channel', paymentId: unbilled });
      await inject('card', { kind: 'status_mismatch', paymentId: failed });
      await inject('card', { kind: 'currency_mismatch', paymentId: foreign, currency: 'EUR' });
      await inject('card', { kind: 'missing_here', paymentId: waiting });
      const stranger = (await inject('card', { kind: 'missing_here', amount: 777 })).paymentId;

      const run = await reconcile('card');
      expect(run).toMatchObject({ channel: 'card', status: 'completed', error: null, exceptionCount: 6 });
      expect(findingsOf(run)).toEqual(
        [
          ['amount_mismatch', 'payment', overcharged],
          ['currency_mismatch', 'payment', foreign],
          ['missing_at_channel', 'payment', unbilled],
          ['missing_here', 'payment', stranger],
          ['missing_here', 'payment', waiting],
          ['status_mismatch', 'payment', failed],
        ].sort((a, b) => a.join().localeCompare(b.join())),
      );
      const exceptionOf = (paymentId: string) => run.exceptions.find((e: any) => e.paymentId === paymentId);
      expect(exceptionOf(overcharged)).toMatchObject({
        here: { status: 'succeeded', amount: 4_900, currency: 'USD' },
        atChannel: { status: 'succeeded', amount: 5_000, currency: 'USD' },
        channelTradeNo: expect.stringMatching(/^ch_/),
      });
      expect(exceptionOf(unbilled)).toMatchObject({ here: { amount: 4_900, currency: 'USD' }, atChannel: null });
      expect(exceptionOf(failed)).toMatchObject({
        here: { status: 'succeeded', amount: 4_900 },
        atChannel: { status: 'payment_failure_refund', amount: 4_900, currency: 'USD' },
      });
      expect(exceptionOf(foreign)).toMatchObject({
        here: { currency: 'USD', amount: 4_900 },
        atChannel: { currency: 'EUR', amount: 4_900 },
      });
      expect(exceptionOf(waiting)).toMatchObject({
        here: { status: 'awaiting_payment', amount: 1_500, currency: 'USD' },
        atChannel: { status: 'succeeded', amount: 1_500, currency: 'USD' },
        actions: ['adopt', 'explain'],
      });
      expect(exceptionOf(stranger)).toMatchObject({ here: null, atChannel: { amount: 777, currency: 'USD' } });
      // Matched: the refunded payment and its refund, each in dollars (the others are exceptions).
      expect(run.matched.payments).toEqual({ count: 1, amounts: [{ currency: 'USD', amount: 20_000 }] });
      expect(run.matched.refunds).toEqual({ count: 1, amounts: [{ currency: 'USD', amount: 2_000 }] });
    },
    BILL_DAY_TEST_TIMEOUT_MS,
  );

  it('refuses a day not yet begun and a channel without bills, with a clear error', async () => {
    const tomorrow = dayOf(new Date(Date.now() + 86_400_000), BILL_UTC_OFFSET_MINUTES);
    const future = await staffCall('POST', '/reconciliations', { channel: 'alipay', date: tomorrow });
    expect([future.status, future.body.error.param]).toEqual([422, 'date']);
    const bogus = await staffCall('POST', '/reconciliations', { channel: 'bogus', date: '2026-12-01' });
    expect([bogus.status, bogus.body.error.param]).toEqual([422, 'channel']);
    expect((await staffCall('POST', '/reconciliations', { channel: 'alipay', date: '2026-02-30' })).status).toBe(422);
    const unknown = await staffCall('GET', '/reconciliations/rec_alipay_20261201_aaaaaaaa');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'reconciliation_not_found']);
    // A NUL (which PostgreSQL under FerretDB refuses) names nothing, and is never looked up.
    const nul = await staffCall('GET', '/reconciliations/rec%00x');
    expect([nul.status, nul.body.error.code]).toEqual([404, 'reconciliation_not_found']);
    const nulResolve = await staffCall('POST', '/reconciliation-exceptions/rec%00x.1/resolve', {
      action: 'explain',
      reason: 'x',
    });
    expect([nulResolve.status, nulResolve.body.error.code]).toEqual([404, 'exception_not_found']);
  });
});
