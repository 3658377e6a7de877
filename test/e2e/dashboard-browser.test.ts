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

/**
 * Has the channel's bill show `amount` for a paid payment, reconciles that bill's day through the
 * staff API and answers the exception the run found.
 */
async function billedAs(token: string, channel: 'alipay' | 'wechatpay', paymentId: string, amount: number) {
  const injected = await stack.request('POST', `/sandbox/v1/channels/${channel}/bill-discrepancy`, {
    kind: 'amount_mismatch',
    paymentId,
    amount,
  });
  expect(injected.status, JSON.stringify(injected.body)).toBe(200);
  const started = await asStaff(token, 'POST', '/staff/v1/reconciliations', { channel, date: injected.body.date });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  const run = await pollUntil(
    () => asStaff(token, 'GET', `/staff/v1/reconciliations/${started.body.reconciliationId}`),
    (answer) => answer.body?.status !== 'running',
    60_000,
  );
  expect(run.body).toMatchObject({ status: 'completed', exceptionCount: 1 });
  return run.body.exceptions[0] as { exceptionId: string };
}

const textOf = (page: Page, testid: string) => page.textContent(`[data-testid="${testid}"]`);

describe('the staff dashboard, in a real browser', () => {
  it('shows the numbers of the payments made, and a refund approved and a reconciliation exception resolved from the page go through (desktop and phone, English and Chinese)', async () => {
    const finance = await staffMember('finance');
    const misbilled = await paid('alipay', 19_900);
    const refunded = await paid('wechatpay', 29_900);
    const unpaid = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
    expect(unpaid.status).toBe(201);
    const refund = await stack.client.send('POST', `/v1/payments/${refunded}/refunds`, {
      body: { amount: 15_000, reason: 'the course was not what was described' },
      idempotencyKey: uniqueId('idem'),
    });
    expect(refund.body).toMatchObject({ status: 'pending_review' });
    const refundId = (refund.body as { refundId: string }).refundId;
    // Alipay's bill shows 198.00 for the 199.00 payment: the day's reconciliation finds it.
    const { exceptionId } = await billedAs(finance.token, 'alipay', misbilled, 19_800);

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
      // The reconciliation exception, with both sides: 199.00 here, 198.00 in Alipay's bill.
      const exceptionCells = page.locator(`[data-testid="exception-${exceptionId}"] td`);
      expect((await exceptionCells.allTextContents()).slice(1, 6)).toEqual([
        'Alipay',
        'Amount differs',
        misbilled,
        'succeeded · 199.00 CNY',
        '交易 · 198.00 CNY',
      ]);
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
    } finally {
      await desktop.close();
    }

    // A phone, in Chinese (from Accept-Language): one column, nothing wider than the screen; the
    // reconciliation exception is resolved from there.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN', isMobile: true });
    try {
      const page = await signIn(phone, finance.token);
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      expect(await page.textContent('h1')).toContain('员工看板');
      expect(await page.textContent('body')).toContain('各币种合计');
      await expect.poll(() => textOf(page, 'total-CNY-refunded')).toBe('150.00');
      expect(await textOf(page, `exception-${exceptionId}`)).toContain('金额不符');
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

      // Resolve the reconciliation exception from the page: explained, with the reason, audited as
      // this person through the dashboard; nothing moves.
      const exception = page.locator(`[data-testid="exception-${exceptionId}"]`);
      await exception.locator('select[name="action"]').selectOption('explain');
      await exception.locator('input[name="reason"]').fill('the channel rounded a fee');
      await exception.locator(`[data-testid="resolve-${exceptionId}"]`).click();
      await expect.poll(() => exception.count()).toBe(0);
      const resolved = await asStaff(finance.token, 'GET', '/staff/v1/reconciliation-exceptions?state=resolved');
      expect(resolved.body.exceptions.find((e: any) => e.exceptionId === exceptionId)).toMatchObject({
        state: 'resolved',
        actions: [],
        resolution: { action: 'explain', reason: 'the channel rounded a fee', by: finance.name, effect: null },
      });
      const audit = await asStaff(finance.token, 'GET', `/staff/v1/audit?paymentId=${misbilled}`);
      expect(audit.body.entries).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ action: 'reconciliation.explain', operator: finance.name, via: 'dashboard' }),
        ]),
      );
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
