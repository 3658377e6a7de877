import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStaff } from '../../src/staff/store.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { startStack, type TestStack } from '../support/stack.js';

/**
 * Routing that learns from channel health, against the real servers: the API, the worker and the
 * sandbox channels, with health counted in MongoDB across processes. Breakers open after three
 * calls of which half failed, and cool down in two seconds, so the test takes seconds.
 */
let stack: TestStack;
let admin: string;
let support: string;
beforeAll(async () => {
  stack = await startStack({
    env: { CHANNEL_BREAKER_MIN_CALLS: '3', CHANNEL_BREAKER_COOLDOWN_SECONDS: '2' },
  });
  ({ token: admin } = await addStaff(stack.database.models, uniqueId('admin').toLowerCase(), 'admin'));
  ({ token: support } = await addStaff(stack.database.models, uniqueId('support').toLowerCase(), 'support'));
});
afterAll(async () => {
  await stack?.stop();
});

const asStaff = (token: string, method: string, path: string, body?: unknown) =>
  fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

const outage = async (channel: string, enabled: boolean) => {
  const res = await stack.request('POST', `/sandbox/v1/channels/${channel}/outage`, {
    operations: ['create'],
    enabled,
  });
  expect(res.status).toBe(200);
};

async function channelHealth(channel: string) {
  const res = await asStaff(support, 'GET', '/staff/v1/channels');
  expect(res.status).toBe(200);
  return (res.body.channels as any[]).find((c) => c.channel === channel);
}

async function createPayment(overrides: Record<string, unknown> = {}) {
  const res = await stack.request('POST', '/v1/payments', buildPaymentRequest(overrides));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { paymentId: string; channel: string };
}

const timelineOf = async (paymentId: string) =>
  ((await stack.request('GET', `/v1/payments/${paymentId}`)).body.timeline as { event: string; detail: string }[]).map(
    (t) => `${t.event} ${t.detail ?? ''}`,
  );

describe('channel health and routing', () => {
  it('opens Alipay’s breaker under an outage, skips Alipay without trying it, then closes the breaker once a call through it succeeds', async () => {
    await outage('alipay', true);
    try {
      // Three tries at Alipay fail, and the payment fails over to WeChat Pay.
      const first = await createPayment({ channel: 'alipay' });
      expect(first.channel).toBe('wechatpay');
      await expect.poll(async () => (await channelHealth('alipay')).state, { timeout: 15_000 }).toBe('open');
      const health = await channelHealth('alipay');
      expect(health).toMatchObject({ window: '5m', breakers: { create: { state: 'open', manual: false } } });
      expect(health.errorRate).toBeGreaterThan(0);

      const skipped = await createPayment({ channel: 'alipay' });
      expect(skipped.channel).toBe('wechatpay');
      expect((await timelineOf(skipped.paymentId)).some((t) => t.startsWith('channel.unavailable'))).toBe(false);
    } finally {
      await outage('alipay', false);
    }

    // After the cooldown a payment tests Alipay, succeeds there, and the breaker closes.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await expect
      .poll(async () => (await createPayment({ channel: 'alipay' })).channel, { timeout: 20_000, interval: 1_000 })
      .toBe('alipay');
    await expect
      .poll(async () => (await channelHealth('alipay')).breakers.create.state, { timeout: 15_000 })
      .toBe('closed');
  });

  it('skips channels staff opened by hand, until they close them; both audited', async () => {
    const setBreaker = (channel: string, state: 'open' | 'closed') =>
      asStaff(admin, 'POST', `/staff/v1/channels/${channel}/breaker`, {
        operation: 'create',
        state,
        reason: state === 'open' ? 'maintenance window' : 'maintenance over',
      });
    expect((await setBreaker('alipay', 'open')).body).toMatchObject({
      state: 'open',
      breakers: { create: { state: 'open', manual: true, reason: 'maintenance window' } },
    });
    try {
      const rerouted = await createPayment({ channel: 'alipay' });
      expect(rerouted.channel).toBe('wechatpay');
      expect(await timelineOf(rerouted.paymentId)).toContainEqual(
        expect.stringMatching(
          /^channel\.route channel health changed the route: skipped alipay \(breaker open\); tries wechatpay, .*\(configured: alipay, wechatpay, .*\)$/,
        ),
      );
    } finally {
      await setBreaker('alipay', 'closed');
    }
    // Every process reads the breakers anew within two seconds.
    await expect
      .poll(async () => (await createPayment({ channel: 'alipay' })).channel, { timeout: 10_000, interval: 1_000 })
      .toBe('alipay');
    const audit = await asStaff(support, 'GET', '/staff/v1/audit?limit=10');
    expect(audit.body.entries.map((e: { action: string; target: string }) => `${e.action} ${e.target}`)).toEqual(
      expect.arrayContaining([
        'channel.breaker_open channel:alipay:create',
        'channel.breaker_closed channel:alipay:create',
      ]),
    );
  });

  it('lets only admins set a breaker, and answers an unknown channel 404', async () => {
    const bySupport = await asStaff(support, 'POST', '/staff/v1/channels/alipay/breaker', {
      state: 'open',
      reason: 'x',
    });
    expect(bySupport.status).toBe(403);
    const unknown = await asStaff(admin, 'POST', '/staff/v1/channels/applepay/breaker', { state: 'open', reason: 'x' });
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'unknown_channel']);
  });
});

describe('routing by limits and success rate', () => {
  let limited: TestStack;
  beforeAll(async () => {
    // The design's example: Alipay takes at most 1000 yuan, UnionPay up to 2000. Breakers never
    // open here, so what moves traffic is the success rate alone.
    limited = await startStack({
      env: { ALIPAY_MAX_AMOUNT: '100000', UNIONPAY_MAX_AMOUNT: '200000', CHANNEL_BREAKER_MIN_CALLS: '10000' },
    });
  });
  afterAll(async () => {
    await limited?.stop();
  });

  const create = async (overrides: Record<string, unknown> = {}) => {
    const res = await limited.request('POST', '/v1/payments', buildPaymentRequest(overrides));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { paymentId: string; channel: string };
  };
  const down = (channel: string, enabled: boolean) =>
    limited.request('POST', `/sandbox/v1/channels/${channel}/outage`, { operations: ['create'], enabled });

  it('sends 1500 yuan to UnionPay when Alipay takes at most 1000 and WeChat Pay is down', async () => {
    await down('wechatpay', true);
    try {
      expect((await create({ items: [buildItem({ unitAmount: 150_000 })] })).channel).toBe('unionpay');
    } finally {
      await down('wechatpay', false);
    }
  });

  it('moves payments away from a channel whose success rate dropped, even once it answers again', async () => {
    await down('alipay', true);
    try {
      for (let i = 0; i < 4; i += 1) expect((await create()).channel).toBe('wechatpay');
    } finally {
      await down('alipay', false);
    }
    // Alipay failed twelve calls in the window: it now ranks below WeChat Pay for payments that
    // prefer neither (once the counts are shared, in a few seconds).
    await expect.poll(async () => (await create()).channel, { timeout: 15_000, interval: 1_000 }).toBe('wechatpay');
    expect((await create({ channel: 'alipay' })).channel).toBe('alipay');
  });
});
