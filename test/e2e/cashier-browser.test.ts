import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { buildPaymentRequest } from '../support/builders.js';
import { waitForStatus } from '../support/payments.js';
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

  it('declining there leaves the payment awaiting payment', async () => {
    const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel }));
    const page = await browser.newPage();
    try {
      await page.goto(created.body.payUrl);
      await page.click('[data-testid="decline"]');
      await expect.poll(() => page.textContent('body')).toMatch(/declined/i);
    } finally {
      await page.close();
    }
    expect((await stack.request('GET', `/v1/payments/${created.body.paymentId}`)).body.status).toBe('awaiting_payment');
  });
});
