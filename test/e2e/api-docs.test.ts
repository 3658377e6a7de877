import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { openApiSchemas } from '../../src/api/openapi.js';
import { addStaff } from '../../src/staff/store.js';
import { launchBrowser } from '../support/browser.js';
import { buildItem, buildPaymentRequest, uniqueId } from '../support/builders.js';
import { payAtChannel, pollUntil, waitForStatus } from '../support/payments.js';
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

interface Answer {
  status: number;
  body: any;
}

/** The document's operation (or path item) for a concrete request path: literal segments win over parameters. */
function pathItem(document: any, path: string): { template: string; item: any } | undefined {
  const bare = path.split('?')[0] as string;
  const candidates = Object.keys(document.paths).filter((template) =>
    new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`).test(bare),
  );
  const template = candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))[0];
  return template === undefined ? undefined : { template, item: document.paths[template] };
}

/** Where the document says what `method path` answers with `status`, and the codes it names there. */
function documentedCodes(document: any, method: string, path: string, status: number): string[] | undefined {
  const found = pathItem(document, path);
  const response = !found
    ? document['x-other-paths'][status]
    : found.item[method.toLowerCase()]
      ? found.item[method.toLowerCase()].responses[status]
      : found.item['x-other-methods'][status];
  return response?.['x-error-codes'];
}

describe('the API document', () => {
  it('describes the create request with the very schema that validates it', async () => {
    const res = await stack.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const schema = res.body.components.schemas.PaymentRequest;
    expect(schema.required).toEqual(expect.arrayContaining(['orderId', 'customerId', 'currency', 'amount', 'items']));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.amount.maximum).toBe(stack.config.PAYMENT_MAX_AMOUNT);
    expect(schema.properties.amount.minimum).toBe(1);
    expect(schema.properties.orderId.pattern).toBe('^[A-Za-z0-9_-]{1,64}$');

    // What the document says is refused, the API refuses.
    const tooBig = stack.config.PAYMENT_MAX_AMOUNT + 1;
    const refused = await stack.request(
      'POST',
      '/v1/payments',
      buildPaymentRequest({ amount: tooBig, items: [{ courseId: 'c', title: 't', unitAmount: tooBig, quantity: 1 }] }),
    );
    expect(refused.status).toBe(422);
    const zero = await stack.request(
      'POST',
      '/v1/payments',
      buildPaymentRequest({ amount: 0, items: [buildItem({ unitAmount: 0 })] }),
    );
    expect(zero.status).toBe(422);
    expect(zero.body.error).toMatchObject({ code: 'invalid_parameter', param: 'amount' });
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/payments',
        '/v1/payments/{paymentId}',
        '/v1/payments/{paymentId}/cancel',
        '/v1/payments/{paymentId}/refunds',
        '/v1/payments/{paymentId}/refunds/{refundId}',
        '/v1/vouchers/verify',
        '/v1/callbacks/{channel}',
        '/staff/v1/audit',
        '/healthz',
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
      expect(text).toMatch(/amount\s*integer; 1\.\.100000000/);
      expect(text).toContain('refunds[].refundId');
      expect(text).toContain('payment_not_refundable');
      expect(await page.locator('section').count()).toBeGreaterThanOrEqual(28);
    } finally {
      await page.close();
    }
  });

  it('answers in the shapes it documents, and only with the error codes it names for each route', async () => {
    const document = (await stack.request('GET', '/openapi.json')).body;
    const schemas = openApiSchemas({ maxAmount: stack.config.PAYMENT_MAX_AMOUNT }) as Record<string, ZodType>;
    const mismatches: string[] = [];

    /** An answer that is not an error: its status is documented, and its body is what the schema says (no more). */
    const answered = (method: string, path: string, res: Answer, status: number) => {
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
      const found = pathItem(document, path);
      const response = found?.item[method.toLowerCase()]?.responses[status];
      if (!response) {
        mismatches.push(`${method} ${path}: ${status} is not documented`);
        return res.body;
      }
      const name = response.content?.['application/json']?.schema?.$ref?.split('/').at(-1);
      if (name === undefined) return res.body;
      const parsed = schemas[name]!.safeParse(res.body);
      if (!parsed.success) {
        mismatches.push(`${method} ${path}: not a ${name}: ${JSON.stringify(parsed.error.issues)}`);
      }
      return res.body;
    };
    /** An error: its code is one the document names for this route and status. */
    const refused = (method: string, path: string, res: Answer, code: string) => {
      expect(res.body?.error?.code, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`).toBe(code);
      const codes = documentedCodes(document, method, path, res.status);
      if (!codes?.includes(code)) mismatches.push(`${method} ${path}: ${res.status} ${code} is not documented`);
    };
    const signed = async (
      method: string,
      path: string,
      body?: unknown,
      headers?: Record<string, string>,
    ): Promise<Answer> =>
      stack.client.send(method, path, {
        maxRetries: 0,
        ...(body === undefined ? {} : { body }),
        ...(headers ? { headers } : {}),
      });
    const call = async (
      method: string,
      path: string,
      init: { headers?: Record<string, string>; body?: string } = {},
    ): Promise<Answer> => {
      const res = await fetch(`${stack.baseUrl}${path}`, { method, ...init });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // the channels' acknowledgements are text
      }
      return { status: res.status, body };
    };
    const staffCall = (token: string, method: string, path: string, body?: unknown) =>
      call(method, path, {
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const staff = async (role: 'support' | 'finance') => {
      const name = uniqueId(role).toLowerCase();
      return { name, token: (await addStaff(stack.database.models, name, role)).token };
    };
    const support = await staff('support');
    const finance = await staff('finance');
    const otherFinance = await staff('finance');

    // A paid payment, refunded in part; its voucher.
    const order = buildPaymentRequest({ channel: 'alipay', items: [buildItem({ unitAmount: 20_000 })] });
    const created = answered('POST', '/v1/payments', await signed('POST', '/v1/payments', order), 201);
    const paymentId = created.paymentId as string;
    answered('POST', '/v1/payments', await signed('POST', '/v1/payments', order), 200);
    answered('GET', `/v1/payments/${paymentId}`, await signed('GET', `/v1/payments/${paymentId}`), 200);
    await payAtChannel(stack, paymentId);
    await waitForStatus(stack, paymentId, 'succeeded');
    const refundPath = `/v1/payments/${paymentId}/refunds`;
    const refund = answered(
      'POST',
      refundPath,
      await signed('POST', refundPath, { amount: 5_000, reason: 'part of the course', metadata: { ticket: 'T-1' } }),
      201,
    );
    await pollUntil(
      async () => (await signed('GET', `${refundPath}/${refund.refundId}`)).body,
      (r) => r?.status === 'succeeded',
    );
    answered('GET', `${refundPath}/${refund.refundId}`, await signed('GET', `${refundPath}/${refund.refundId}`), 200);
    const paid = answered('GET', `/v1/payments/${paymentId}`, await signed('GET', `/v1/payments/${paymentId}`), 200);
    expect(paid.refunds.length).toBeGreaterThan(0);
    const voucherPath = `/v1/vouchers/${paid.voucher.voucherId}`;
    const voucher = answered('GET', voucherPath, await call('GET', voucherPath), 200);
    const verifyInit = { headers: { 'content-type': 'application/json' }, body: JSON.stringify(voucher) };
    answered('POST', '/v1/vouchers/verify', await call('POST', '/v1/vouchers/verify', verifyInit), 200);
    answered('GET', '/v1/vouchers/keys', await call('GET', '/v1/vouchers/keys'), 200);

    // A payment canceled before payment.
    const other = buildPaymentRequest();
    const unpaid = (await signed('POST', '/v1/payments', other)).body;
    const cancelPath = `/v1/payments/${unpaid.paymentId}/cancel`;
    answered('POST', cancelPath, await signed('POST', cancelPath, { reason: 'changed their mind' }), 200);

    answered('GET', '/healthz', await call('GET', '/healthz'), 200);
    answered('GET', '/readyz', await call('GET', '/readyz'), 200);

    // The staff API: a refund requested by support, decided by finance.
    answered('GET', '/staff/v1/me', await staffCall(support.token, 'GET', '/staff/v1/me'), 200);
    answered('GET', '/staff/v1/payments', await staffCall(support.token, 'GET', '/staff/v1/payments?limit=1'), 200);
    const staffPaymentPath = `/staff/v1/payments/${paymentId}`;
    answered('GET', staffPaymentPath, await staffCall(support.token, 'GET', staffPaymentPath), 200);
    const staffRefund = answered(
      'POST',
      `${staffPaymentPath}/refunds`,
      await staffCall(finance.token, 'POST', `${staffPaymentPath}/refunds`, { amount: 1_000, reason: 'goodwill' }),
      201,
    );
    const staffRefundPath = `/staff/v1/refunds/${staffRefund.refundId}`;
    answered('GET', staffRefundPath, await staffCall(support.token, 'GET', staffRefundPath), 200);
    answered(
      'GET',
      '/staff/v1/refunds',
      await staffCall(support.token, 'GET', '/staff/v1/refunds?status=pending_review'),
      200,
    );
    refused(
      'POST',
      `${staffRefundPath}/approve`,
      await staffCall(finance.token, 'POST', `${staffRefundPath}/approve`, { reason: 'mine' }),
      'four_eyes_required',
    );
    refused(
      'POST',
      `${staffRefundPath}/approve`,
      await staffCall(support.token, 'POST', `${staffRefundPath}/approve`, { reason: 'not mine to decide' }),
      'staff_forbidden',
    );
    answered(
      'POST',
      `${staffRefundPath}/ticket`,
      await staffCall(otherFinance.token, 'POST', `${staffRefundPath}/ticket`, { action: 'approveRefund' }),
      201,
    );
    answered(
      'POST',
      `${staffRefundPath}/approve`,
      await staffCall(otherFinance.token, 'POST', `${staffRefundPath}/approve`, { reason: 'goodwill, approved' }),
      200,
    );
    refused(
      'POST',
      `${staffRefundPath}/reject`,
      await staffCall(otherFinance.token, 'POST', `${staffRefundPath}/reject`, { reason: 'too late' }),
      'refund_not_pending_review',
    );
    answered(
      'GET',
      '/staff/v1/audit',
      await staffCall(support.token, 'GET', `/staff/v1/audit?paymentId=${paymentId}`),
      200,
    );
    answered(
      'POST',
      `${staffPaymentPath}/resend-webhook`,
      await staffCall(support.token, 'POST', `${staffPaymentPath}/resend-webhook`, { reason: 'lost at the platform' }),
      202,
    );

    // Errors, route by route.
    const ghost = 'pay_aaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    refused('GET', `/v1/payments/${ghost}`, await call('GET', `/v1/payments/${ghost}`), 'authentication_required');
    refused(
      'GET',
      `/v1/payments/${ghost}`,
      await call('GET', `/v1/payments/${ghost}`, {
        headers: { 'x-key-id': 'nobody', 'x-timestamp': '1', 'x-nonce': 'n'.repeat(16), 'x-signature': 'v1=00' },
      }),
      'signature_invalid',
    );
    refused('GET', `/v1/payments/${ghost}`, await signed('GET', `/v1/payments/${ghost}`), 'payment_not_found');
    refused('GET', '/v1/payments/%E0%A4%A', await signed('GET', '/v1/payments/%E0%A4%A'), 'malformed_path');
    refused('POST', '/v1/payments', await signed('POST', '/v1/payments', {}), 'missing_parameter');
    refused(
      'POST',
      '/v1/payments',
      await signed('POST', '/v1/payments', { ...other, coupon: 'X' }),
      'unknown_parameter',
    );
    refused('POST', '/v1/payments', await signed('POST', '/v1/payments', '{'), 'malformed_json');
    refused(
      'POST',
      '/v1/payments',
      await signed('POST', '/v1/payments', 'orderId=1', { 'content-type': 'text/plain' }),
      'unsupported_media_type',
    );
    refused(
      'POST',
      '/v1/payments',
      await signed('POST', '/v1/payments', other, { 'idempotency-key': 'k'.repeat(256) }),
      'idempotency_key_invalid',
    );
    const key = uniqueId('idem');
    await signed('POST', '/v1/payments', buildPaymentRequest(), { 'idempotency-key': key });
    refused(
      'POST',
      '/v1/payments',
      await signed('POST', '/v1/payments', buildPaymentRequest(), { 'idempotency-key': key }),
      'idempotency_key_reused',
    );
    refused(
      'POST',
      '/v1/payments',
      await call('POST', '/v1/payments', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pad: 'x'.repeat(stack.config.API_BODY_LIMIT_BYTES) }),
      }),
      'body_too_large',
    );
    refused('DELETE', '/v1/payments', await signed('DELETE', '/v1/payments'), 'method_not_allowed');
    refused('GET', '/v1/nothing-here', await signed('GET', '/v1/nothing-here'), 'route_not_found');
    refused(
      'POST',
      `/v1/payments/${paymentId}/cancel`,
      await signed('POST', `/v1/payments/${paymentId}/cancel`, {}),
      'payment_not_cancelable',
    );
    refused(
      'POST',
      `/v1/payments/${unpaid.paymentId}/refunds`,
      await signed('POST', `/v1/payments/${unpaid.paymentId}/refunds`, { amount: 1, reason: 'r' }),
      'payment_not_refundable',
    );
    refused(
      'POST',
      refundPath,
      await signed('POST', refundPath, { amount: 20_000, reason: 'all of it, again' }),
      'refund_exceeds_refundable',
    );
    refused('POST', refundPath, await signed('POST', refundPath, { amount: 0, reason: 'r' }), 'invalid_parameter');
    refused(
      'GET',
      `${refundPath}/rfd_00000000000000000000000000000000`,
      await signed('GET', `${refundPath}/rfd_00000000000000000000000000000000`),
      'refund_not_found',
    );
    refused('GET', '/v1/vouchers/vch_nope', await call('GET', '/v1/vouchers/vch_nope'), 'voucher_not_found');
    refused(
      'POST',
      '/v1/vouchers/verify',
      await call('POST', '/v1/vouchers/verify', { headers: { 'content-type': 'application/json' }, body: '{}' }),
      'missing_parameter',
    );
    refused('POST', '/v1/vouchers/keys', await call('POST', '/v1/vouchers/keys'), 'method_not_allowed');
    refused(
      'POST',
      '/v1/callbacks/applepay',
      await call('POST', '/v1/callbacks/applepay', { body: 'x' }),
      'unknown_channel',
    );
    refused('GET', '/v1/callbacks/alipay', await call('GET', '/v1/callbacks/alipay'), 'route_not_found');
    refused('POST', '/healthz', await call('POST', '/healthz'), 'route_not_found');
    refused('POST', '/docs', await call('POST', '/docs'), 'method_not_allowed');
    refused('GET', '/staff/v1/me', await call('GET', '/staff/v1/me'), 'staff_token_missing');
    refused('GET', '/staff/v1/me', await staffCall('kpstaff_nope', 'GET', '/staff/v1/me'), 'staff_token_invalid');
    refused('PUT', '/staff/v1/me', await staffCall(support.token, 'PUT', '/staff/v1/me'), 'method_not_allowed');
    refused(
      'GET',
      '/staff/v1/audit',
      await staffCall(support.token, 'GET', '/staff/v1/audit?bogus=1'),
      'unknown_parameter',
    );
    refused(
      'GET',
      '/staff/v1/payments',
      await staffCall(support.token, 'GET', '/staff/v1/payments?limit=500'),
      'invalid_parameter',
    );
    refused(
      'GET',
      `/staff/v1/payments/${ghost}`,
      await staffCall(support.token, 'GET', `/staff/v1/payments/${ghost}`),
      'payment_not_found',
    );
    refused(
      'GET',
      '/staff/v1/refunds/rfd_nope',
      await staffCall(support.token, 'GET', '/staff/v1/refunds/rfd_nope'),
      'refund_not_found',
    );
    const awaiting = (await signed('POST', '/v1/payments', buildPaymentRequest())).body;
    refused(
      'POST',
      `/staff/v1/payments/${awaiting.paymentId}/resend-webhook`,
      await staffCall(support.token, 'POST', `/staff/v1/payments/${awaiting.paymentId}/resend-webhook`, {
        reason: 'none yet',
      }),
      'nothing_to_do',
    );
    refused(
      'POST',
      `/staff/v1/payments/${awaiting.paymentId}/requery`,
      await staffCall(support.token, 'POST', `/staff/v1/payments/${awaiting.paymentId}/requery`, {
        reason: 'which refund?',
        refundId: staffRefund.refundId,
      }),
      'refund_not_found',
    );
    refused(
      'POST',
      `${staffPaymentPath}/retry`,
      await staffCall(support.token, 'POST', `${staffPaymentPath}/retry`, {}),
      'missing_parameter',
    );
    const bell = await staffCall(support.token, 'POST', `/staff/v1/payments/${awaiting.paymentId}/requery`, {
      reason: 'ring\u0007the bell',
    });
    refused('POST', `/staff/v1/payments/${awaiting.paymentId}/requery`, bell, 'invalid_parameter');
    expect(bell.body.error.param).toBe('reason');

    expect(mismatches).toEqual([]);
  });
});
