import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { riskSubjectHash } from '../../src/payments/identity.js';
import { addStaff } from '../../src/staff/store.js';
import { buildItem, buildPaymentRequest, TEST_PAYMENT_ID_KEY, uniqueId } from '../support/builders.js';
import { payAtChannel, platformEvents, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * The risk check before routing, end to end with the real servers: rules from configuration
 * allow, hold for staff review, or block; a held payment has no channel order until staff allow
 * it, and staff decisions are audited.
 */
const BLOCKED_CUSTOMER = 'cust-blocked';
const BLOCKED_ADDRESS = '198.51.100.66';
let stack: TestStack;
let finance: string;
let support: string;

beforeAll(async () => {
  stack = await startStack({
    env: {
      RISK_CUSTOMER_MAX_PAYMENTS: '2',
      RISK_ADDRESS_MAX_PAYMENTS: '3',
      RISK_UNUSUAL_AMOUNT_FACTOR: '5',
      RISK_MAX_FAILED_IN_A_ROW: '2',
      RISK_BLOCKED_CUSTOMERS: riskSubjectHash('customer', BLOCKED_CUSTOMER, TEST_PAYMENT_ID_KEY),
      RISK_BLOCKED_ADDRESSES: riskSubjectHash('address', BLOCKED_ADDRESS, TEST_PAYMENT_ID_KEY),
    },
  });
  ({ token: finance } = await addStaff(stack.database.models, uniqueId('finance').toLowerCase(), 'finance'));
  ({ token: support } = await addStaff(stack.database.models, uniqueId('support').toLowerCase(), 'support'));
});
afterAll(async () => {
  await stack?.stop();
});

const create = (overrides: Record<string, unknown>) =>
  stack.request('POST', '/v1/payments', buildPaymentRequest({ customerId: uniqueId('cust'), ...overrides }));

const asStaff = (token: string, path: string, reason: string) =>
  fetch(`${stack.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

const timeline = async (paymentId: string): Promise<string[]> =>
  (await stack.request('GET', `/v1/payments/${paymentId}`)).body.timeline.map((t: { event: string; detail?: string }) =>
    `${t.event} ${t.detail ?? ''}`.trim(),
  );

/** Whether the Temporal server's visibility lists `paymentId` for `query`, once it does (or no longer does). */
const listed = (query: string, paymentId: string, present: boolean) =>
  pollUntil(
    async () => {
      const ids: string[] = [];
      for await (const wf of stack.temporal.client.workflow.list({ query })) ids.push(wf.workflowId);
      return ids;
    },
    (ids) => ids.includes(paymentId) === present,
    20_000,
  );

const channelOrders = async (paymentId: string): Promise<string[]> =>
  ((await stack.request('GET', `/sandbox/v1/payments/${paymentId}/books`)).body.orders ?? []).map(
    (o: { channel: string }) => o.channel,
  );

describe('the risk check', () => {
  it('blocks a blocklisted customer and a blocklisted address with 403 risk_blocked, opening nothing', async () => {
    for (const overrides of [{ customerId: BLOCKED_CUSTOMER }, { clientIp: BLOCKED_ADDRESS }]) {
      const body = buildPaymentRequest({ customerId: uniqueId('cust'), ...overrides });
      const res = await stack.request('POST', '/v1/payments', body);
      expect([res.status, res.body.error?.code], JSON.stringify(res.body)).toEqual([403, 'risk_blocked']);
      const paymentId = /Payment (pay_[a-z2-7]{28})/.exec(res.body.error.message as string)?.[1] as string;
      const payment = await waitForStatus(stack, paymentId, 'failed');
      expect(payment.channel).toBeNull();
      expect(await timeline(paymentId)).toContainEqual(
        expect.stringMatching(/^risk\.block the (customer|client address) is on the blocklist$/),
      );
      expect(await channelOrders(paymentId)).toEqual([]);
      await expect
        .poll(async () => (await platformEvents(stack, body.orderId as string)).map((e) => e.type))
        .toEqual(['payment.failed']);
    }
    // Neither the customer id nor the address reaches the logs' or the read model's plain text.
    const stored = await stack.database.models.payments.find({ orderId: { $exists: true } }).lean();
    expect(JSON.stringify(stored)).not.toContain(BLOCKED_ADDRESS);
  });

  it('holds a customer’s third payment in the window for review, with no cashier link, until finance allows it', async () => {
    const customerId = uniqueId('cust');
    for (let i = 0; i < 2; i += 1) {
      const allowed = await create({ customerId });
      expect(allowed.body.status).toBe('awaiting_payment');
      expect(await timeline(allowed.body.paymentId)).toContain('risk.allow no risk rule matched');
    }
    const held = await create({ customerId });
    expect(held.status, JSON.stringify(held.body)).toBe(201);
    expect(held.body).toMatchObject({ status: 'risk_review', payUrl: null, channel: null });
    const { paymentId } = held.body as { paymentId: string };
    expect(await timeline(paymentId)).toContainEqual(
      expect.stringMatching(/^payment\.risk_review 3 payments by the customer in 60 min \(limit 2\)$/),
    );
    expect(await channelOrders(paymentId)).toEqual([]);
    // The runbook's Web UI filter finds it while it waits, and no longer once it is decided.
    const filter = `NeedsAttention = true AND StuckReason = "risk_review" AND OrderId = "${held.body.orderId as string}"`;
    await listed(filter, paymentId, true);

    expect((await asStaff(support, `/staff/v1/payments/${paymentId}/allow`, 'looks fine')).status).toBe(403);
    const allowed = await asStaff(finance, `/staff/v1/payments/${paymentId}/allow`, 'the learner confirmed by phone');
    expect(allowed).toMatchObject({ status: 200, body: { paymentId, result: 'allowed: routing the payment' } });
    const open = await waitForStatus(stack, paymentId, 'awaiting_payment');
    await listed(filter, paymentId, false);
    expect(open.payUrl).toMatch(/^http/);
    expect(await channelOrders(paymentId)).toEqual(['alipay']);
    const again = await asStaff(finance, `/staff/v1/payments/${paymentId}/allow`, 'twice');
    expect([again.status, again.body.error?.code]).toEqual([409, 'nothing_to_do']);

    await payAtChannel(stack, paymentId);
    await waitForStatus(stack, paymentId, 'succeeded');
    const audit = await stack.database.models.auditEntries.find({ paymentId }).lean();
    expect(audit.map((a) => [a.action, a.role, a.via])).toEqual([['payment.risk_allow', 'finance', 'api']]);
  });

  it('fails a held payment that finance blocks, and holds many payments from one address', async () => {
    const clientIp = '203.0.113.7';
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) ids.push((await create({ clientIp })).body.paymentId as string);
    const statuses = await Promise.all(
      ids.map(async (id) => (await stack.request('GET', `/v1/payments/${id}`)).body.status as string),
    );
    expect(statuses).toEqual(['awaiting_payment', 'awaiting_payment', 'awaiting_payment', 'risk_review']);
    const held = ids[3] as string;
    expect(await timeline(held)).toContainEqual(
      expect.stringMatching(/4 payments from the client address in 60 min \(limit 3\)/),
    );

    const blocked = await asStaff(finance, `/staff/v1/payments/${held}/block`, 'card testing pattern');
    expect(blocked.body.result).toBe('blocked: the payment fails');
    const failed = await waitForStatus(stack, held, 'failed');
    expect(failed.failureReason).toBe('blocked by the risk check: staff refused the payment after review');
    expect(await channelOrders(held)).toEqual([]);
  });

  it('holds an amount far above the customer’s usual, and blocks after failed payments in a row', async () => {
    const regular = uniqueId('cust');
    // Three paid payments of 10.00 (one at a time: the velocity rule allows two per window per
    // customer, so each is allowed by finance when held).
    for (let i = 0; i < 3; i += 1) {
      const res = await create({ customerId: regular, items: [buildItem({ unitAmount: 1_000 })] });
      if (res.body.status === 'risk_review') {
        await asStaff(finance, `/staff/v1/payments/${res.body.paymentId}/allow`, 'a regular learner');
        await waitForStatus(stack, res.body.paymentId, 'awaiting_payment');
      }
      await payAtChannel(stack, res.body.paymentId);
      await waitForStatus(stack, res.body.paymentId, 'succeeded');
    }
    const big = await create({ customerId: regular, items: [buildItem({ unitAmount: 6_000 })] });
    expect(big.body.status).toBe('risk_review');
    expect(await timeline(big.body.paymentId)).toContainEqual(
      expect.stringMatching(/6000 is more than 5 times the customer's usual 1000/),
    );

    const unlucky = uniqueId('cust');
    for (let i = 0; i < 2; i += 1) {
      const res = await create({ customerId: unlucky });
      const canceled = await stack.request('POST', `/v1/payments/${res.body.paymentId}/cancel`, {});
      expect(canceled.status, JSON.stringify(canceled.body)).toBe(200);
    }
    const third = await create({ customerId: unlucky });
    expect([third.status, third.body.error?.code]).toEqual([403, 'risk_blocked']);
  });

  it('takes one of two staff decisions sent at once, and refuses the other', async () => {
    const customerId = uniqueId('cust');
    for (let i = 0; i < 2; i += 1) await create({ customerId });
    const held = (await create({ customerId })).body.paymentId as string;
    const [blocked, allowed] = await Promise.all([
      asStaff(finance, `/staff/v1/payments/${held}/block`, 'card testing pattern'),
      asStaff(finance, `/staff/v1/payments/${held}/allow`, 'looks fine'),
    ]);
    expect([blocked.status, allowed.status].sort()).toEqual([200, 409]);
    const [winner, loser] = blocked.status === 200 ? [blocked, allowed] : [allowed, blocked];
    expect(loser.body.error?.code).toBe('nothing_to_do');
    await waitForStatus(stack, held, winner === blocked ? 'failed' : 'awaiting_payment');
    const audit = await stack.database.models.auditEntries.find({ paymentId: held }).lean();
    expect(audit.map((a) => a.action)).toEqual([winner === blocked ? 'payment.risk_block' : 'payment.risk_allow']);
  });

  it('ends a held payment canceled when its workflow is cancelled, telling the platform', async () => {
    const customerId = uniqueId('cust');
    for (let i = 0; i < 2; i += 1) await create({ customerId });
    const held = await create({ customerId });
    expect(held.body.status).toBe('risk_review');
    await stack.temporal.client.workflow.getHandle(held.body.paymentId as string).cancel();
    const canceled = await waitForStatus(stack, held.body.paymentId as string, 'canceled');
    expect(canceled.channel).toBeNull();
    await expect
      .poll(async () => (await platformEvents(stack, held.body.orderId as string)).map((e) => e.type))
      .toEqual(['payment.canceled']);
  });
});
