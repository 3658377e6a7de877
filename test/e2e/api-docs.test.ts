import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { buildPaymentRequest } from '../support/builders.js';
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

describe('the API document', () => {
  it('describes the create request with the very schema that validates it', async () => {
    const res = await stack.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const schema = res.body.components.schemas.PaymentRequest;
    expect(schema.required).toEqual(expect.arrayContaining(['orderId', 'customerId', 'currency', 'amount', 'items']));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.amount.maximum).toBe(stack.config.PAYMENT_MAX_AMOUNT);
    expect(schema.properties.orderId.pattern).toBe('^[A-Za-z0-9_-]{1,64}$');

    // What the document says is refused, the API refuses.
    const tooBig = stack.config.PAYMENT_MAX_AMOUNT + 1;
    const refused = await stack.request(
      'POST',
      '/v1/payments',
      buildPaymentRequest({ amount: tooBig, items: [{ courseId: 'c', title: 't', unitAmount: tooBig, quantity: 1 }] }),
    );
    expect(refused.status).toBe(422);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/payments',
        '/v1/payments/{paymentId}',
        '/v1/payments/{paymentId}/cancel',
        '/v1/vouchers/verify',
      ]),
    );
  });

  it('is readable by a person at /docs, in a real browser', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${stack.baseUrl}/docs`);
      const text = (await page.textContent('body')) ?? '';
      expect(text).toContain('Knowledge Pay API');
      expect(text).toContain('/v1/payments/{paymentId}/cancel');
      expect(text).toMatch(/orderId\s*string; pattern \^\[A-Za-z0-9_-\]\{1,64\}\$/);
      expect(await page.locator('section').count()).toBeGreaterThanOrEqual(8);
    } finally {
      await page.close();
    }
  });
});
