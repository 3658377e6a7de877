import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStaff, revokeStaff } from '../../src/staff/store.js';
import { launchBrowser } from '../support/browser.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, pollUntil, waitForStatus } from '../support/payments.js';
import { startStack, type TestStack } from '../support/stack.js';

/** Where the dashboard screenshots go, for a person to look at (beside the cashier pages'). */
const SCREENSHOTS = join(process.cwd(), '.cache', 'screenshots', 'dashboard');

let stack: TestStack;
let browser: Browser;
beforeAll(async () => {
  // Refunds above 100.00 wait for a finance decision.
  stack = await startStack({ env: { REFUND_REVIEW_ABOVE_AMOUNT: '10000' } });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function staffMember(role: 'support' | 'finance' | 'admin') {
  const name = uniqueId(role).toLowerCase();
  const { token } = await addStaff(stack.database.models, name, role, { reason: 'dashboard test' });
  return { name, token };
}

const asStaff = (token: string, method: string, path: string, body?: unknown) =>
  fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

async function paid(channel: 'alipay' | 'wechatpay', amount: number) {
  const res = await stack.request(
    'POST',
    '/v1/payments',
    buildPaymentRequest({ channel, items: [buildItem({ unitAmount: amount })] }),
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await payAtChannel(stack, res.body.paymentId);
  await waitForStatus(stack, res.body.paymentId, 'succeeded');
  return res.body.paymentId as string;
}

/** Signs in through the form, as a person would; answers the page on the dashboard. */
async function signIn(context: BrowserContext, token: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${stack.baseUrl}/dashboard`);
  await page.fill('[data-testid="token"]', token);
  await Promise.all([page.waitForURL(`${stack.baseUrl}/dashboard`), page.click('[data-testid="sign-in"]')]);
  await page.waitForSelector('body[data-loaded="true"]');
  return page;
}

/** One open exception, in the shape `GET /staff/v1/reconciliation-exceptions` answers. */
const exceptionExample = {
  exceptionId: 'rex_0001',
  reconciliationId: 'rec_alipay_2026-12-02',
  channel: 'alipay',
  date: '2026-12-02',
  kind: 'amount_mismatch',
  orderNo: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  refundNo: null,
  paymentId: 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  here: { status: 'succeeded', amount: 19_900, currency: 'CNY' },
  atChannel: { status: 'succeeded', amount: 19_800, currency: 'CNY' },
  state: 'open',
  actions: ['explain', 'refund'],
  resolution: null,
};

const textOf = (page: Page, testid: string) => page.textContent(`[data-testid="${testid}"]`);

describe('the staff dashboard, in a real browser', () => {
  it('shows the numbers of the payments made, and a refund approved from the page goes through (desktop and phone, English and Chinese)', async () => {
    const finance = await staffMember('finance');
    await paid('alipay', 19_900);
    const refunded = await paid('wechatpay', 29_900);
    const unpaid = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
    expect(unpaid.status).toBe(201);
    const refund = await stack.client.send('POST', `/v1/payments/${refunded}/refunds`, {
      body: { amount: 15_000, reason: 'the course was not what was described' },
      idempotencyKey: uniqueId('idem'),
    });
    expect(refund.body).toMatchObject({ status: 'pending_review' });
    const refundId = (refund.body as { refundId: string }).refundId;

    // Desktop, in English: the sign-in page and the dashboard are served under a strict CSP.
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    try {
      const first = await desktop.newPage();
      const signInAnswer = await first.goto(`${stack.baseUrl}/dashboard`);
      const csp = signInAnswer?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(await first.textContent('h1')).toBe('Staff dashboard');
      await first.screenshot({ path: join(SCREENSHOTS, 'dashboard-sign-in.png') });
      await first.close();

      const page = await signIn(desktop, finance.token);
      const cookie = (await desktop.cookies()).find((c) => c.name === 'kp_dashboard_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
      // 480 minutes from now (DASHBOARD_SESSION_MINUTES), give or take the test's own time.
      expect(cookie!.expires * 1000).toBeGreaterThan(Date.now() + 479 * 60_000);
      expect(cookie!.expires * 1000).toBeLessThan(Date.now() + 481 * 60_000);

      // The numbers of the payments this test made: three created, two paid, 498.00 yuan captured.
      await expect.poll(() => textOf(page, 'total-CNY-succeeded')).toBe('2');
      expect(await textOf(page, 'total-CNY-created')).toBe('3');
      expect(await textOf(page, 'total-CNY-captured')).toBe('498.00');
      expect(await textOf(page, 'total-CNY-success-rate')).toBe('100.0%');
      expect(await page.locator('canvas#perDayChart').count()).toBe(1);
      expect(await textOf(page, `refund-${refundId}`)).toContain('150.00 CNY');
      expect(await page.locator('[data-testid="exceptions-empty"], [data-testid="exceptions"]').count()).toBe(1);
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-desktop.png'), fullPage: true });

      // Approve the refund from the page: it goes to the channel and succeeds, audited as this person.
      const row = page.locator(`[data-testid="refund-${refundId}"]`);
      await row.locator('input[name="reason"]').fill('course not started; approved');
      await row.locator(`[data-testid="approve-${refundId}"]`).click();
      const settled = await pollUntil(
        () => asStaff(finance.token, 'GET', `/staff/v1/refunds/${refundId}`),
        (answer) => answer.body?.status === 'succeeded',
      );
      expect(settled.body.decision).toMatchObject({ operator: finance.name, reason: 'course not started; approved' });
      const audit = await asStaff(finance.token, 'GET', `/staff/v1/audit?operator=${finance.name}`);
      expect(audit.body.entries.map((e: any) => e.action)).toEqual(
        expect.arrayContaining(['refund.approve', 'dashboard.sign_in']),
      );
      await expect.poll(() => page.locator(`[data-testid="refund-${refundId}"]`).count()).toBe(0);
      await expect.poll(() => textOf(page, 'total-CNY-refunded')).toBe('150.00');

      // Reconciliation exceptions as the staff API's contract gives them (answered here by the
      // browser, not the API): the page lists one and resolves it with the chosen action and reason.
      const resolutions: unknown[] = [];
      await page.route('**/staff/v1/reconciliation-exceptions?*', (route) =>
        route.fulfill({ json: { exceptions: [exceptionExample] } }),
      );
      await page.route('**/staff/v1/reconciliation-exceptions/*/resolve', (route) => {
        resolutions.push({ url: route.request().url(), body: route.request().postDataJSON() });
        return route.fulfill({ json: { ...exceptionExample, state: 'resolved' } });
      });
      await page.reload();
      const exception = page.locator(`[data-testid="exception-${exceptionExample.exceptionId}"]`);
      await expect.poll(() => exception.textContent()).toContain('Amount differs');
      expect(await exception.textContent()).toContain('199.00 CNY');
      await exception.locator('select[name="action"]').selectOption('explain');
      await exception.locator('input[name="reason"]').fill('the channel rounded a fee');
      await exception.locator(`[data-testid="resolve-${exceptionExample.exceptionId}"]`).click();
      await expect
        .poll(() => resolutions)
        .toEqual([
          {
            url: `${stack.baseUrl}/staff/v1/reconciliation-exceptions/${exceptionExample.exceptionId}/resolve`,
            body: { action: 'explain', reason: 'the channel rounded a fee' },
          },
        ]);
    } finally {
      await desktop.close();
    }

    // A phone, in Chinese (from Accept-Language): one column, nothing wider than the screen.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', isMobile: true });
    try {
      const page = await signIn(phone, finance.token);
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      expect(await page.textContent('h1')).toContain('员工看板');
      expect(await page.textContent('body')).toContain('各币种合计');
      await expect.poll(() => textOf(page, 'total-CNY-refunded')).toBe('150.00');
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone-zh.png'), fullPage: true });
      // The switch changes the language, and the choice stays.
      await Promise.all([page.waitForURL(/\/dashboard\?lang=en$/), page.click('[data-testid="lang-switch"]')]);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.textContent('h1')).toContain('Staff dashboard');
      await page.goto(`${stack.baseUrl}/dashboard`);
      await page.waitForSelector('body[data-loaded="true"]');
      expect(await page.textContent('h1')).toContain('Staff dashboard');
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });

  it('takes its session cookie for the staff API only from its own origin, and ends it at sign-out or revocation', async () => {
    const support = await staffMember('support');
    const signIn = await fetch(`${stack.baseUrl}/dashboard/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: stack.baseUrl },
      body: JSON.stringify({ token: support.token }),
    });
    expect(signIn.status).toBe(200);
    expect(await signIn.json()).toMatchObject({ name: support.name, role: 'support' });
    const setCookie = signIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(
      /^kp_dashboard_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Strict$/,
    );
    const cookie = setCookie.split(';')[0]!;
    const withCookie = (method: string, path: string, origin?: string) =>
      fetch(`${stack.baseUrl}${path}`, {
        method,
        headers: { cookie, 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        ...(method === 'GET' ? {} : { body: JSON.stringify({ reason: 'checking' }) }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

    expect((await withCookie('GET', '/staff/v1/me')).body).toMatchObject({ name: support.name });
    // Another site's page (or no Origin at all) cannot act with the cookie; the dashboard's own can.
    const unknownPayment = '/staff/v1/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa/requery';
    expect((await withCookie('POST', unknownPayment, 'https://evil.example')).body.error.code).toBe(
      'staff_token_missing',
    );
    expect((await withCookie('POST', unknownPayment)).body.error.code).toBe('staff_token_missing');
    expect((await withCookie('POST', unknownPayment, stack.baseUrl)).body.error.code).toBe('payment_not_found');
    // Nor sign anyone in from elsewhere.
    const forged = await fetch(`${stack.baseUrl}/dashboard/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: `token=${support.token}`,
    });
    expect(forged.status).toBe(403);
    // A token that is not valid sends the form back, saying so, and sets no cookie.
    const refused = await fetch(`${stack.baseUrl}/dashboard/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.baseUrl },
      body: `token=kpstaff_${'x'.repeat(43)}`,
      redirect: 'manual',
    });
    expect([refused.status, refused.headers.get('location'), refused.headers.get('set-cookie')]).toEqual([
      303,
      '/dashboard?signIn=invalid',
      null,
    ]);
    expect(await (await fetch(`${stack.baseUrl}/dashboard?signIn=invalid`)).text()).toContain(
      'That staff token is not valid',
    );

    // Revoking the staff member ends the session at once.
    await revokeStaff(stack.database.models, support.name, { reason: 'dashboard test' });
    expect((await withCookie('GET', '/staff/v1/me')).body.error.code).toBe('staff_token_invalid');

    // Sign-out deletes the session; both are audited.
    const admin = await staffMember('admin');
    const again = await fetch(`${stack.baseUrl}/dashboard/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: admin.token }),
    });
    const adminCookie = (again.headers.get('set-cookie') ?? '').split(';')[0]!;
    const out = await fetch(`${stack.baseUrl}/dashboard/session`, {
      method: 'DELETE',
      headers: { cookie: adminCookie, origin: stack.baseUrl },
    });
    expect(await out.json()).toEqual({ signedOut: true });
    const after = await fetch(`${stack.baseUrl}/staff/v1/me`, { headers: { cookie: adminCookie } });
    expect(after.status).toBe(401);
    const audit = await asStaff(admin.token, 'GET', `/staff/v1/audit?operator=${admin.name}`);
    expect(audit.body.entries.map((e: any) => e.action)).toEqual(
      expect.arrayContaining(['dashboard.sign_in', 'dashboard.sign_out']),
    );
  });
});
