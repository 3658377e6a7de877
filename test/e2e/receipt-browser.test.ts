import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PaymentItem } from '../../domain/payment.js';
import { launchBrowser } from '../support/browser.js';
import { buildPaymentRequest } from '../support/builders.js';
import { payAtChannel, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/** Where the receipt screenshots go, for a person to look at (beside the dashboard's). */
const SCREENSHOTS = join(process.cwd(), '.cache', 'screenshots', 'receipts');

let stack: TestStack;
let browser: Browser;
beforeAll(async () => {
  stack = await startStack({ env: { PLATFORM_NAME: '知识商店 Knowledge Shop' } });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const ITEMS: PaymentItem[] = [
  {
    courseId: 'ts-101',
    title: 'TypeScript 从零开始',
    kind: 'course',
    unitAmount: 19_900,
    quantity: 1,
    discounts: [{ code: 'SPRING20', description: 'Spring sale', amount: 2_000 }],
  },
  { courseId: 'live-7', title: 'Live Q&A: type-level tricks', kind: 'lesson', unitAmount: 4_900, quantity: 2 },
];
const ORDER_DISCOUNTS = [{ description: 'Bundle price', amount: 3_700 }];
/** 199.00 − 20.00 + 2 × 49.00 − 37.00 */
const AMOUNT = 24_000;

/** A payment of `ITEMS` paid at Alipay's sandbox; answers its order, payment and voucher ids. */
async function paidPayment(options: { refusedByPlatform?: boolean } = {}) {
  const body = buildPaymentRequest({ channel: 'alipay', items: ITEMS, discounts: ORDER_DISCOUNTS, amount: AMOUNT });
  const created = await stack.request('POST', '/v1/payments', body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const paymentId = created.body.paymentId as string;
  if (options.refusedByPlatform) {
    await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId: body.orderId });
  }
  await payAtChannel(stack, paymentId);
  const done = await waitForStatus(stack, paymentId, options.refusedByPlatform ? 'refunded' : 'succeeded');
  return { orderId: body.orderId as string, paymentId, voucherId: done.voucher.voucherId as string };
}

/** Opens a receipt and waits for the signature check to end; answers the page and the check's words. */
async function openReceipt(context: BrowserContext, path: string): Promise<{ page: Page; status: string }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(`${stack.baseUrl}${path}`);
  await page
    .waitForSelector('[data-testid="verify-status"]:not([data-state="pending"])', { timeout: 20_000 })
    .catch(async (error: Error) => {
      const said = await page.textContent('[data-testid="verify-status"]');
      throw new Error(
        `${error.message}; the check says ${JSON.stringify(said)}; the page logged ${JSON.stringify(problems)}`,
      );
    });
  const status = (await page.textContent('[data-testid="verify-status"]')) ?? '';
  return { page, status };
}

const problemsOf = (page: Page) => (page as Page & { problems?: string[] }).problems ?? [];

describe("the learner's receipt, in a real browser", () => {
  it('shows what was bought and paid, verifies its signature with the published key, and fits a phone', async () => {
    const { orderId, paymentId, voucherId } = await paidPayment();
    const voucher = (await stack.request('GET', `/v1/vouchers/${voucherId}`)).body;

    const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    try {
      const answer = await fetch(`${stack.baseUrl}/receipts/${voucherId}`, { headers: { 'accept-language': 'en' } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(answer.headers.get('content-security-policy')).toMatch(/connect-src 'self'/);
      expect(answer.headers.get('content-security-policy')).not.toMatch(/unsafe-inline/);
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
      expect(answer.headers.get('cache-control')).toBe('public, max-age=300');

      const { page, status } = await openReceipt(desktop, `/receipts/${voucherId}`);
      expect(status).toBe(`Signature verified with key ${voucher.keyId}`);
      expect(await page.getAttribute('[data-testid="verify-status"]', 'data-state')).toBe('verified');
      expect(await page.textContent('[data-testid="merchant"]')).toBe('知识商店 Knowledge Shop');
      expect(await page.textContent('[data-testid="order-id"]')).toBe(orderId);
      expect(await page.textContent('[data-testid="channel"]')).toBe('Alipay');
      expect(await page.textContent('body')).not.toContain(paymentId);
      const lines = await page.locator('[data-testid="line"]').allTextContents();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /TypeScript 从零开始[\s\S]*Course[\s\S]*1 × CNY 199\.00[\s\S]*SPRING20 · Spring sale[\s\S]*−CNY 20\.00/,
      );
      expect(lines[1]).toMatch(/Live Q&A: type-level tricks[\s\S]*Lesson[\s\S]*2 × CNY 49\.00[\s\S]*CNY 98\.00/);
      expect(await page.textContent('[data-testid="order-discount"]')).toMatch(/Bundle price\s*−CNY 37\.00/);
      expect(await page.textContent('[data-testid="total"]')).toBe('CNY 240.00');
      expect(await page.locator('[data-testid="qr"] svg').count()).toBe(1);
      expect(await page.locator('[data-testid="void-banner"]').count()).toBe(0);
      expect(await page.isVisible('[data-testid="print"]')).toBe(true);
      expect(problemsOf(page)).toEqual([]);
      await page.screenshot({ path: join(SCREENSHOTS, 'receipt-desktop.png'), fullPage: true });

      // The QR code's address: the verification section, which takes the focus.
      await page.goto(`${stack.baseUrl}/receipts/${voucherId}#verify`);
      await page.waitForSelector('[data-testid="verify-status"][data-state="verified"]');
      expect(await page.evaluate('document.activeElement?.id')).toBe('verify');
      await page.close();
    } finally {
      await desktop.close();
    }

    for (const [locale, file, verified] of [
      ['zh-CN', 'receipt-phone-zh.png', '签名已通过验证，公钥'],
      ['en-US', 'receipt-phone.png', 'Signature verified with key'],
    ] as const) {
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale, isMobile: true });
      try {
        const { page, status } = await openReceipt(phone, `/receipts/${voucherId}`);
        expect(status).toBe(`${verified} ${voucher.keyId}`);
        expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
        if (locale === 'zh-CN') {
          expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
          expect(await page.textContent('body')).toContain('实付金额');
          expect(await page.textContent('[data-testid="channel"]')).toBe('支付宝');
        }
        expect(problemsOf(page)).toEqual([]);
        await page.screenshot({ path: join(SCREENSHOTS, file), fullPage: true });
        await page.close();
      } finally {
        await phone.close();
      }
    }
  });

  it('switches between English and Chinese with the link at the top', async () => {
    const { voucherId } = await paidPayment();
    const context = await browser.newContext({ locale: 'en-US' });
    try {
      const { page } = await openReceipt(context, `/receipts/${voucherId}`);
      await Promise.all([page.waitForURL(/\?lang=zh$/), page.click('[data-testid="lang-switch"]')]);
      await page.waitForSelector('[data-testid="verify-status"][data-state="verified"]');
      expect(await page.textContent('h1')).toBe('收据');
      expect(await page.getAttribute('[data-testid="pdf-link"]', 'href')).toBe(`/receipts/${voucherId}.pdf?lang=zh`);
      await page.close();
    } finally {
      await context.close();
    }
  });

  it('reports a failure when the voucher or the published keys are altered on the way', async () => {
    const { voucherId } = await paidPayment();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    try {
      // One byte of the payload: the amount the voucher signs.
      await context.route(`**/v1/vouchers/${voucherId}`, async (route) => {
        const response = await route.fetch();
        const json = await response.json();
        await route.fulfill({
          response,
          json: { ...json, payload: json.payload.replace('"amount":24000', '"amount":24001') },
        });
      });
      const altered = await openReceipt(context, `/receipts/${voucherId}`);
      expect(altered.status).toBe('Not verified: the SHA-256 digest does not match the voucher.');
      expect(await altered.page.getAttribute('[data-testid="verify-status"]', 'data-state')).toBe('failed');
      await altered.page.screenshot({ path: join(SCREENSHOTS, 'receipt-tampered.png'), fullPage: true });
      await altered.page.close();
      await context.unrouteAll();

      // One byte of the published key: the signature no longer verifies.
      await context.route('**/v1/vouchers/keys', async (route) => {
        const response = await route.fetch();
        const json = await response.json();
        const keys = json.keys.map((k: { x: string }) => ({ ...k, x: `${k.x[0] === 'A' ? 'B' : 'A'}${k.x.slice(1)}` }));
        await route.fulfill({ response, json: { keys } });
      });
      const forged = await openReceipt(context, `/receipts/${voucherId}`);
      expect(forged.status).toBe('Not verified: the signature does not match the voucher.');
      await forged.page.close();
      await context.unrouteAll();

      // The keys cannot be read at all.
      await context.route('**/v1/vouchers/keys', (route) => route.fulfill({ status: 503, json: {} }));
      const unread = await openReceipt(context, `/receipts/${voucherId}`);
      expect(unread.status).toBe('Not verified: the voucher or its keys could not be read.');
      await unread.page.close();
    } finally {
      await context.close();
    }
  });

  it("shows a cross-border payment's locked exchange quote beside the total", async () => {
    const body = buildPaymentRequest({
      channel: 'card',
      currency: 'USD',
      items: [{ courseId: 'ml-201', title: 'Machine learning in practice', unitAmount: 4_900, quantity: 1 }],
    });
    const created = await stack.request('POST', '/v1/payments', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await payAtChannel(stack, created.body.paymentId);
    const done = await waitForStatus(stack, created.body.paymentId, 'succeeded');
    expect(done.fx).toMatchObject({ presentmentCurrency: 'USD', settlementCurrency: 'CNY' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    try {
      const { page, status } = await openReceipt(context, `/receipts/${done.voucher.voucherId}`);
      expect(status).toMatch(/^Signature verified with key /);
      expect(await page.textContent('[data-testid="total"]')).toBe('USD 49.00');
      expect(await page.textContent('[data-testid="fx"]')).toContain(`1 USD = ${done.fx.rate} CNY`);
      const settled = (done.fx.settlementAmount / 100).toFixed(2);
      expect(await page.textContent('[data-testid="fx-settlement"]')).toBe(`CNY ${settled}`);
      expect(await page.textContent('[data-testid="channel"]')).toBe('Card');
      await page.screenshot({ path: join(SCREENSHOTS, 'receipt-cross-border.png'), fullPage: true });
      await page.close();
    } finally {
      await context.close();
    }
  });

  it('says clearly that the receipt of a refunded payment is void', async () => {
    const { voucherId } = await paidPayment({ refusedByPlatform: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    try {
      const { page, status } = await openReceipt(context, `/receipts/${voucherId}`);
      expect(await page.textContent('[data-testid="void-banner"]')).toMatch(/Refunded: this receipt is void/);
      // Still the voucher we signed: authentic, and void.
      expect(status).toMatch(/^Signature verified with key /);
      await page.screenshot({ path: join(SCREENSHOTS, 'receipt-void.png'), fullPage: true });
      await page.close();
    } finally {
      await context.close();
    }
  });

  it('downloads as a PDF with the order, the lines in Chinese and the total', async () => {
    const { orderId, voucherId } = await paidPayment();
    const context = await browser.newContext({ locale: 'zh-CN' });
    try {
      const { page } = await openReceipt(context, `/receipts/${voucherId}`);
      const href = await page.getAttribute('[data-testid="pdf-link"]', 'href');
      const answer = await page.request.get(`${stack.baseUrl}${href}`);
      expect(answer.status()).toBe(200);
      expect(answer.headers()['content-type']).toBe('application/pdf');
      expect(answer.headers()['content-disposition']).toBe(`inline; filename="receipt-${orderId}.pdf"`);
      const pdf = await answer.body();
      expect(pdf.subarray(0, 4).toString('latin1')).toBe('%PDF');
      const document = await getDocument({ data: new Uint8Array(pdf), isEvalSupported: false }).promise;
      const content = await (await document.getPage(1)).getTextContent();
      const text = content.items.map((item) => ('str' in item ? item.str : '')).join(' ');
      await document.destroy();
      expect(text).toContain(orderId);
      expect(text).toContain('TypeScript 从零开始');
      expect(text).toContain('CNY 240.00');
      expect(text).toContain(`${stack.baseUrl}/receipts/${voucherId}#verify`);
      await page.close();
    } finally {
      await context.close();
    }
  });

  it('answers 404 for an id that cannot be a voucher without looking it up, and for an unknown one', async () => {
    const lookups = vi.spyOn(stack.database.models.vouchers, 'findOne');
    try {
      for (const path of ['/receipts/%00', '/receipts/vch_%00', '/receipts/..%2f', '/receipts/vch_short.pdf']) {
        const answer = await fetch(`${stack.baseUrl}${path}`);
        expect(answer.status, path).toBe(404);
      }
      // (The worker may read vouchers meanwhile, always by a well-formed id.)
      const ids = () => lookups.mock.calls.map(([filter]) => String((filter as { _id?: unknown } | undefined)?._id));
      expect(ids().filter((id) => !/^vch_[a-z2-7]{28}$/.test(id))).toEqual([]);
      const unknownId = `vch_${'a'.repeat(28)}`;
      const unknown = await fetch(`${stack.baseUrl}/receipts/${unknownId}`);
      expect(unknown.status).toBe(404);
      // An error answers one request: no cache keeps it, unlike a receipt.
      expect(unknown.headers.get('cache-control')).toBe('no-store');
      expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('voucher_not_found');
      expect(ids()).toContain(unknownId);
    } finally {
      lookups.mockRestore();
    }
  });
});
