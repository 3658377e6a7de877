import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { buildPaymentRequest } from '../support/builders.js';
import { expectChannelBooks, onlyChannelOrder } from '../support/books.js';
import { platformEvents, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let browser: Browser;
beforeAll(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe.each(['alipay', 'wechatpay'] as const)('the %s cashier page, in a real browser', (channel) => {
  it('shows the course and amount, and paying there ends in a voucher', async () => {
    const body = buildPaymentRequest({
      checkout: 'channel',
      channel,
      items: [{ courseId: 'rust-301', title: 'Rust for the web', unitAmount: 29_900, quantity: 1 }],
    });
    const created = await stack.request('POST', '/v1/payments', body);
    expect(created.status).toBe(201);

    const page = await browser.newPage();
    try {
      await page.goto(created.body.payUrl);
      await expect.poll(() => page.textContent('body')).toContain('Rust for the web');
      expect(await page.textContent('body')).toContain('299.00');
      await page.click('[data-testid="pay"]');
      await expect.poll(() => page.textContent('body')).toMatch(/Payment successful/i);
    } finally {
      await page.close();
    }
    const done = await waitForStatus(stack, created.body.paymentId, 'succeeded');
    expect(done.voucher?.voucherId).toMatch(/^vch_/);
  });

  it('declining there charges nothing and leaves the order open, so the learner can still pay', async () => {
    const body = buildPaymentRequest({ channel, checkout: 'channel' });
    const created = await stack.request('POST', '/v1/payments', body);
    expect(created.status).toBe(201);
    const { paymentId, payUrl } = created.body as { paymentId: string; payUrl: string };
    const page = await browser.newPage();
    try {
      await page.goto(payUrl);
      await expect.poll(() => page.textContent('body')).toContain('199.00');
      expect(await page.textContent('body')).not.toMatch(/declined/i);
      await page.click('[data-testid="decline"]');
      await expect.poll(() => page.textContent('body')).toMatch(/Payment declined/);
      expect(await page.textContent('body')).toContain('Nothing was charged');

      // The channel took no money and did not end the order; nothing was notified.
      expect(await onlyChannelOrder(stack, paymentId)).toMatchObject({
        state: 'NOT_PAID',
        channelTradeNo: null,
        endedAt: null,
        captured: 0,
      });
      expect(await stack.database.models.callbacks.countDocuments({ outTradeNo: paymentId })).toBe(0);
      expect((await stack.request('GET', `/v1/payments/${paymentId}`)).body.status).toBe('awaiting_payment');

      // The learner opens the same link again and pays.
      await page.goto(payUrl);
      await page.click('[data-testid="pay"]');
      await expect.poll(() => page.textContent('body')).toMatch(/Payment successful/i);
    } finally {
      await page.close();
    }
    await waitForStatus(stack, paymentId, 'succeeded');
    await expectChannelBooks(stack, paymentId, { captured: 19_900, refunds: [] });
    expect((await platformEvents(stack, body.orderId as string)).map((e) => e.type)).toEqual(['payment.succeeded']);
  });
});

/** Where the cashier screenshots go, for a person to look at. */
const SCREENSHOTS = join(process.cwd(), '.cache', 'screenshots', 'cashier');

describe('paying with each of the five channels in a real browser', () => {
  it.each([
    ['alipay', 'CNY', /Payment successful/],
    ['wechatpay', 'CNY', /Payment successful/],
    ['unionpay', 'CNY', /Payment successful/],
    ['card', 'USD', /Payment successful/],
    ['paypal', 'USD', /Payment approved/],
  ] as const)(
    'pays a course with %s from its cashier page, and the payment succeeds',
    async (channel, currency, shown) => {
      const body = buildPaymentRequest({ channel, currency, checkout: 'channel' });
      const created = await stack.request('POST', '/v1/payments', body);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.channel).toBe(channel);
      mkdirSync(SCREENSHOTS, { recursive: true });
      const page = await browser.newPage({ viewport: { width: 390, height: 760 } });
      try {
        await page.goto(created.body.payUrl as string);
        await expect.poll(() => page.textContent('body')).toContain('199.00');
        await page.screenshot({ path: join(SCREENSHOTS, `${channel}-cashier.png`), fullPage: true });
        await page.click('[data-testid="pay"]');
        await expect.poll(() => page.textContent('body')).toMatch(shown);
        await page.screenshot({ path: join(SCREENSHOTS, `${channel}-paid.png`), fullPage: true });
      } finally {
        await page.close();
      }
      const done = await waitForStatus(stack, created.body.paymentId as string, 'succeeded');
      expect(done.voucher?.voucherId).toMatch(/^vch_/);
    },
  );
});
