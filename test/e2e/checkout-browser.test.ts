import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest';
import { checkoutLink, checkoutLinkKey } from '../../src/checkout/link.js';
import { launchBrowser } from '../support/browser.js';
import { channelBooks } from '../support/books.js';
import { buildItem, buildPaymentRequest } from '../support/builders.js';
import { recordHistory } from '../support/histories.js';
import { platformEvents, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/** Where the checkout screenshots go, for a person to look at (beside the cashier pages' and the dashboard's). */
const SCREENSHOTS = join(process.cwd(), '.cache', 'screenshots', 'checkout');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let stack: TestStack;
let browser: Browser;

interface Created {
  paymentId: string;
  orderId: string;
  payUrl: string;
  expiresAt: string;
}

async function create(overrides: Record<string, unknown>): Promise<Created> {
  const body = buildPaymentRequest(overrides);
  const res = await stack.request('POST', '/v1/payments', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ...(res.body as Omit<Created, 'orderId'>), orderId: body.orderId as string };
}

beforeAll(async () => {
  stack = await startStack({ env: { PLATFORM_RETURN_ORIGINS: 'https://shop.example' } });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The payment's checkout link, as link.ts makes it: the create answer's `payUrl` must be it. */
function linkOf(created: Created): string {
  return checkoutLink({
    baseUrl: stack.baseUrl,
    key: checkoutLinkKey(stack.keyring.paymentIdKey),
    paymentId: created.paymentId,
    expiresAt: new Date(created.expiresAt),
  });
}

/** What the page's script reads (`GET /checkout/:id/state`), with the link's query. */
async function checkoutState(link: string): Promise<any> {
  const url = new URL(link);
  url.pathname += '/state';
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.json();
}

const testid = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);
const visibleText = (page: Page) => page.locator('body').innerText();

/**
 * The learner scans the QR code with the channel's app: the app opens what the code holds (the
 * sandbox's cashier page for the order) and the learner pays there. The code the page shows is
 * checked to hold exactly that.
 */
async function scanAndPay(
  expect: ExpectStatic,
  context: BrowserContext,
  page: Page,
  link: string,
  channel: 'alipay' | 'wechatpay',
) {
  const qr = testid(page, 'qr');
  await expect.poll(() => qr.getAttribute('data-channel')).toBe(channel);
  await expect
    .poll(() => qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0))
    .toBe(true);
  const { pay } = await checkoutState(link);
  expect(pay).toMatchObject({ channel, kind: 'qr' });
  const svg = await (await fetch(new URL(String(await qr.getAttribute('src')), stack.baseUrl))).text();
  expect(svg).toBe(await QRCode.toString(pay.url as string, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
  const phone = await context.newPage();
  try {
    await phone.goto(pay.url as string);
    await phone.click('[data-testid="pay"]');
    await expect.poll(() => phone.textContent('body')).toMatch(/Payment successful/i);
  } finally {
    await phone.close();
  }
}

// Side by side, so the one-minute window of the expiry test passes while the others run.
describe.concurrent('the hosted checkout, in a real browser', () => {
  it('shows a discounted bundle, switches from Alipay to WeChat Pay, and moves to success by itself when the QR code is paid (desktop, English)', async ({
    expect,
  }) => {
    const elsewhere = await stack.request(
      'POST',
      '/v1/payments',
      buildPaymentRequest({ returnUrl: 'https://phish.example/orders/1' }),
    );
    expect([elsewhere.status, elsewhere.body.error?.code]).toEqual([422, 'return_url_not_allowed']);
    const created = await create({
      channel: 'alipay',
      returnUrl: 'https://shop.example/orders/ts-bundle',
      amount: 61_700,
      items: [
        buildItem({
          courseId: 'ts-bundle',
          title: 'TypeScript complete bundle',
          kind: 'bundle',
          unitAmount: 49_900,
          discounts: [{ description: 'Bundle price', amount: 5_000 }],
        }),
        buildItem({ courseId: 'ts-live', title: 'Live Q&A lesson', kind: 'lesson', unitAmount: 9_900, quantity: 2 }),
      ],
      discounts: [{ code: 'SPRING', description: 'Spring sale', amount: 3_000 }],
    });
    expect(created.payUrl).toBe(linkOf(created));

    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    try {
      const page = await context.newPage();
      const answer = await page.goto(created.payUrl);
      const headers = answer?.headers() ?? {};
      expect(headers['content-security-policy']).toContain("default-src 'none'");
      expect(headers['content-security-policy']).toContain("script-src 'self'");
      expect(headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(headers['referrer-policy']).toBe('no-referrer');
      expect(headers['cache-control']).toBe('no-store');
      await page.waitForSelector('body[data-loaded="true"]');

      const text = await visibleText(page);
      expect(text).toContain('Knowledge Shop');
      expect(text).toContain(created.orderId);
      expect(text).not.toContain(created.paymentId);
      expect(await testid(page, 'total').textContent()).toBe('CNY 617.00');
      expect(await testid(page, 'saved').textContent()).toBe('You save CNY 80.00');
      const items = testid(page, 'item');
      expect(await items.count()).toBe(2);
      expect(await items.nth(0).innerText()).toMatch(/Bundle\s+TypeScript complete bundle/);
      expect(await items.nth(0).innerText()).toContain('Bundle price');
      expect(await items.nth(1).innerText()).toMatch(/Lesson\s+Live Q&A lesson/);
      expect(await items.nth(1).innerText()).toContain('Qty 2 × CNY 99.00');
      expect(await testid(page, 'order-discounts').innerText()).toMatch(/Spring sale\s+SPRING\s+−CNY 30.00/);
      // The methods that take yuan, the payment's own first, as radio buttons with their labels.
      const methods = await page
        .locator('input[name="method"]')
        .evaluateAll((inputs) => inputs.map((i) => i.getAttribute('value')));
      expect(methods[0]).toBe('alipay');
      expect(methods).toEqual(expect.arrayContaining(['alipay', 'wechatpay', 'unionpay']));
      expect(await page.getByRole('radio', { name: /Alipay/ }).isChecked()).toBe(true);
      expect(await testid(page, 'countdown').innerText()).toMatch(/Time left to pay 1[45]:\d\d/);
      await expect.poll(() => testid(page, 'pay-qr').innerText()).toContain('Scan with Alipay to pay');
      await page.screenshot({ path: join(SCREENSHOTS, 'desktop-bundle-alipay.png'), fullPage: true });

      // The learner picks WeChat Pay with the keyboard and confirms: its QR code replaces Alipay's.
      await page.getByRole('radio', { name: /Alipay/ }).focus();
      await page.keyboard.press('ArrowDown');
      expect(await page.getByRole('radio', { name: /WeChat Pay/ }).isChecked()).toBe(true);
      await page.getByRole('button', { name: 'Pay with WeChat Pay' }).click();
      await expect.poll(() => testid(page, 'qr').getAttribute('data-channel')).toBe('wechatpay');
      expect(await testid(page, 'pay-qr').innerText()).toContain('Scan with WeChat to pay');
      const switched = await checkoutState(created.payUrl);
      expect(switched.attempts).toEqual([expect.objectContaining({ channel: 'alipay', outcome: 'closed' })]);
      expect(switched.methods.map((m: { channel: string }) => m.channel)).not.toContain('alipay');
      await page.screenshot({ path: join(SCREENSHOTS, 'desktop-bundle-wechatpay.png'), fullPage: true });

      await scanAndPay(expect, context, page, created.payUrl, 'wechatpay');
      await page.waitForSelector('[data-testid="result-succeeded"]');
      const done = await waitForStatus(stack, created.paymentId, 'succeeded');
      expect(await testid(page, 'receipt-link').getAttribute('href')).toBe(`/receipts/${done.voucher.voucherId}`);
      expect(await testid(page, 'result-succeeded').innerText()).toContain('You paid CNY 617.00 with WeChat Pay.');
      expect(await testid(page, 'return-link').getAttribute('href')).toBe('https://shop.example/orders/ts-bundle');
      expect(await testid(page, 'return-link').innerText()).toBe('Back to Knowledge Shop');
      await page.screenshot({ path: join(SCREENSHOTS, 'desktop-bundle-paid.png'), fullPage: true });
    } finally {
      await context.close();
    }
    const books = await channelBooks(stack, created.paymentId);
    expect(books.totals).toEqual([{ currency: 'CNY', captured: 61_700, refunded: 0 }]);
  });

  it('shows a declined card, and the learner pays with PayPal instead: one charge (phone)', async ({ expect }) => {
    const created = await create({ channel: 'card', currency: 'USD' });
    expect(created.payUrl).toBe(linkOf(created));
    const context = await browser.newContext({ viewport: PHONE, locale: 'en-US', isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      await page.goto(created.payUrl);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await testid(page, 'total').textContent()).toBe('USD 199.00');
      const toCard = testid(page, 'to-channel');
      expect(await toCard.getAttribute('data-channel')).toBe('card');
      expect(await toCard.innerText()).toBe('Continue to Card');
      // Nothing wider than the phone.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-card.png'), fullPage: true });

      // The card page opens in a new tab; the card is declined there.
      const [cardPage] = await Promise.all([context.waitForEvent('page'), toCard.click()]);
      await cardPage.waitForLoadState();
      await cardPage.click('[data-testid="decline"]');
      await expect.poll(() => cardPage.textContent('body')).toMatch(/declined/i);
      await cardPage.close();

      await page.waitForSelector('[data-testid="declined"]');
      expect(await testid(page, 'declined').innerText()).toBe(
        'Your card was declined, and nothing was charged. Try again or choose another method.',
      );
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-card-declined.png'), fullPage: true });

      await page.getByRole('radio', { name: /PayPal/ }).check();
      await page.getByRole('button', { name: 'Pay with PayPal' }).click();
      await expect.poll(() => testid(page, 'to-channel').getAttribute('data-channel')).toBe('paypal');
      const [paypalPage] = await Promise.all([context.waitForEvent('page'), testid(page, 'to-channel').click()]);
      await paypalPage.waitForLoadState();
      await paypalPage.click('[data-testid="pay"]');
      await expect.poll(() => paypalPage.textContent('body')).toMatch(/Payment approved/i);
      await paypalPage.close();

      await page.waitForSelector('[data-testid="result-succeeded"]');
      expect(await testid(page, 'result-succeeded').innerText()).toContain('You paid USD 199.00 with PayPal.');
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-paypal-paid.png'), fullPage: true });
    } finally {
      await context.close();
    }
    const done = await waitForStatus(stack, created.paymentId, 'succeeded');
    expect(done.attempts.map((a: { channel: string; outcome: string }) => [a.channel, a.outcome])).toEqual([
      ['card', 'declined'],
      ['card', 'closed'],
      ['paypal', 'succeeded'],
    ]);
    const books = await channelBooks(stack, created.paymentId);
    expect(books.totals).toEqual([{ currency: 'USD', captured: 19_900, refunded: 0 }]);
    expect(books.orders.filter((o) => o.captured > 0).map((o) => o.channel)).toEqual(['paypal']);
    await expect
      .poll(async () => (await platformEvents(stack, created.orderId)).map((e) => e.type).sort())
      .toEqual(['payment.attempt_failed', 'payment.succeeded']);
    await recordHistory(stack.temporal.client, created.paymentId, 'declined-then-switched');
  });

  it('refuses a tampered or made-up link with a page that says so, without showing anything of the payment', async ({
    expect,
  }) => {
    const created = await create({ channel: 'alipay' });
    const link = new URL(created.payUrl);
    const token = link.searchParams.get('t') ?? '';
    link.searchParams.set('t', (token.startsWith('A') ? 'B' : 'A') + token.slice(1));
    const later = new URL(created.payUrl);
    later.searchParams.set('e', String(Number(later.searchParams.get('e')) + 3600));
    const context = await browser.newContext({ viewport: PHONE, locale: 'en-US' });
    try {
      const page = await context.newPage();
      for (const url of [link.toString(), later.toString(), `${stack.baseUrl}/checkout/pay_not-an-id?e=1&t=x`]) {
        const answer = await page.goto(url);
        expect(answer?.status(), url).toBe(404);
        expect(answer?.headers()['content-security-policy']).toContain("default-src 'none'");
        expect(await testid(page, 'checkout-missing').innerText()).toContain('This payment link is not valid');
        expect(await visibleText(page)).not.toContain(created.orderId);
      }
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-link-not-valid.png'), fullPage: true });
    } finally {
      await context.close();
    }
    const stateUrl = new URL(link);
    stateUrl.pathname += '/state';
    const refused = await fetch(stateUrl);
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as any).error.code).toBe('checkout_link_invalid');
    const chosen = await fetch(new URL(`${link.pathname}/method${link.search}`, stack.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'wechatpay' }),
    });
    expect(chosen.status).toBe(404);
    expect((await checkoutState(created.payUrl)).channel).toBe('alipay');
  });

  it('refuses a method chosen while the window’s end is being settled, at once, and the payment still ends', async ({
    expect,
  }) => {
    const created = await create({ channel: 'unionpay', expiresInSeconds: 60 });
    const hold = (enabled: boolean) =>
      stack.request('POST', '/sandbox/v1/channels/unionpay/hold', { operations: ['query', 'close'], enabled });
    // At the window's end the saga asks UnionPay before closing; held, that question waits.
    expect((await hold(true)).status).toBe(200);
    try {
      await new Promise((resolve) => setTimeout(resolve, Date.parse(created.expiresAt) - Date.now() + 3_000));
      expect((await checkoutState(created.payUrl)).status).toBe('awaiting_payment');
      const link = new URL(created.payUrl);
      const started = Date.now();
      const chosen = await fetch(new URL(`${link.pathname}/method${link.search}`, stack.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'alipay' }),
      });
      expect(chosen.status).toBe(409);
      expect(((await chosen.json()) as any).error.code).toBe('method_unavailable');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await hold(false);
    }
    const ended = await waitForStatus(stack, created.paymentId, 'expired', 60_000);
    expect(ended.attempts).toEqual([]);
  }, 150_000);

  it('counts down in Chinese and moves to expired by itself when the one-minute window ends (phone, 中文)', async ({
    expect,
  }) => {
    // The shortest window the API allows.
    const created = await create({ channel: 'alipay', expiresInSeconds: 60 });
    const context = await browser.newContext({ viewport: PHONE, locale: 'zh-CN', isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      await page.goto(created.payUrl);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      expect(await visibleText(page)).toContain('合计');
      expect(await visibleText(page)).toContain('购买内容');
      expect(await testid(page, 'countdown').innerText()).toMatch(/剩余付款时间 [01]:\d\d/);
      expect(await testid(page, 'pay-qr').innerText()).toContain('请用支付宝扫码付款');
      expect(await page.getByRole('radio', { name: /支付宝/ }).isChecked()).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-zh-alipay.png'), fullPage: true });
      await page.waitForSelector('[data-testid="result-expired"]', { timeout: 90_000 });
      await expect.poll(() => page.getAttribute('body', 'data-status'), { timeout: 30_000 }).toBe('expired');
      expect(await testid(page, 'result-expired').innerText()).toContain('付款时间已结束');
      expect(await testid(page, 'methods').count()).toBe(0);
      await page.screenshot({ path: join(SCREENSHOTS, 'phone-zh-expired.png'), fullPage: true });

      // The English switch keeps the link, and the result stays.
      await testid(page, 'lang-switch').click();
      await page.waitForSelector('[data-testid="result-expired"]');
      expect(await testid(page, 'result-expired').innerText()).toContain('The time to pay has ended');
    } finally {
      await context.close();
    }
    // After the window, the method can no longer be chosen.
    const link = new URL(created.payUrl);
    const chosen = await fetch(new URL(`${link.pathname}/method${link.search}`, stack.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'wechatpay' }),
    });
    expect(chosen.status).toBe(409);
    expect(((await chosen.json()) as any).error.code).toBe('method_unavailable');
  }, 150_000);
});
