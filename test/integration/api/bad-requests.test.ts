import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaders } from '../../../src/client/index.js';
import { buildItem, buildPaymentRequest, testPaymentId } from '../../support/builders.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * Bad requests, one row each: the right status, error `type` and `code` (and `param` for a field),
 * the one error shape with the request id, no 5xx, nothing stored, no workflow started, and no
 * secret or customer id in any log line.
 */
let stack: TestStack;
const logLines: string[] = [];
beforeAll(async () => {
  // The channels of mainland China only: only Alipay's cross-border mode takes foreign currencies.
  stack = await startStack({
    logSink: (line) => logLines.push(line),
    env: { CHANNELS_ENABLED: 'alipay,wechatpay,unionpay' },
  });
});
afterAll(async () => {
  await stack?.stop();
});

type Headers = Record<string, string>;
interface Row {
  /** Body: a value sent as JSON, or a string / bytes sent as they are. */
  body?: unknown;
  method?: string;
  path?: string;
  headers?: Headers;
  /** How the request is signed; by default correctly, with the stack's key, over what is sent. */
  sign?: (signed: { method: string; path: string; body: Buffer }) => Headers;
  status: number;
  type: string;
  code: string;
  param?: string;
}

const CUSTOMER = 'cust-must-not-be-logged';
const request = (overrides: Record<string, unknown> = {}) =>
  buildPaymentRequest({ customerId: CUSTOMER, ...overrides });
const withItem = (item: Record<string, unknown>) => {
  const items = [{ ...buildItem(), ...item }];
  return request({ items, amount: 19_900 });
};
const now = () => Math.floor(Date.now() / 1000);
const signedBy =
  (
    keyId: string,
    secret: string,
    change: { timestamp?: () => number; nonce?: string; body?: string; path?: string } = {},
  ) =>
  (sent: { method: string; path: string; body: Buffer }) =>
    signatureHeaders(
      { keyId, secret },
      {
        method: sent.method,
        pathWithQuery: change.path ?? sent.path,
        body: change.body ?? sent.body,
        ...(change.timestamp ? { timestamp: change.timestamp() } : {}),
        ...(change.nonce ? { nonce: change.nonce } : {}),
      },
    );
const ownKey = () => stack.platformKey;
const invalid = (param: string, code = 'invalid_parameter') =>
  ({ status: 422, type: 'validation_error', code, param }) as const;
const unauthenticated = (code: string) => ({ status: 401, type: 'authentication_error', code }) as const;

const rows: [string, Row][] = [
  // Authentication (401): no hint beyond the code.
  ['no signature headers', { sign: () => ({}), ...unauthenticated('authentication_required') }],
  [
    'a signature without its nonce',
    {
      sign: (s) => ({ ...signedBy(ownKey().keyId, ownKey().secret)(s), 'x-nonce': '' }),
      ...unauthenticated('authentication_required'),
    },
  ],
  [
    'an unknown key id',
    { sign: (s) => signedBy('nobody', ownKey().secret)(s), ...unauthenticated('signature_invalid') },
  ],
  [
    'the wrong secret',
    { sign: (s) => signedBy(ownKey().keyId, 'x'.repeat(64))(s), ...unauthenticated('signature_invalid') },
  ],
  [
    'a signature of another body',
    {
      sign: (s) => signedBy(ownKey().keyId, ownKey().secret, { body: '{}' })(s),
      ...unauthenticated('signature_invalid'),
    },
  ],
  [
    'a signature of another path',
    {
      sign: (s) => signedBy(ownKey().keyId, ownKey().secret, { path: '/v1/payments?a=1' })(s),
      ...unauthenticated('signature_invalid'),
    },
  ],
  [
    'a signature without the v1= prefix',
    {
      sign: (s) => {
        const h = signedBy(ownKey().keyId, ownKey().secret)(s);
        return { ...h, 'x-signature': h['x-signature']!.slice(3) };
      },
      ...unauthenticated('signature_invalid'),
    },
  ],
  [
    'a signature that is not hex',
    {
      sign: (s) => ({ ...signedBy(ownKey().keyId, ownKey().secret)(s), 'x-signature': `v1=${'zz'.repeat(32)}` }),
      ...unauthenticated('signature_invalid'),
    },
  ],
  [
    'a nonce shorter than 16 characters',
    {
      sign: (s) => signedBy(ownKey().keyId, ownKey().secret, { nonce: 'short' })(s),
      ...unauthenticated('signature_invalid'),
    },
  ],
  [
    'a timestamp that is not a number',
    {
      sign: (s) => ({ ...signedBy(ownKey().keyId, ownKey().secret)(s), 'x-timestamp': 'yesterday' }),
      ...unauthenticated('signature_invalid'),
    },
  ],
  [
    'a timestamp 10 minutes old',
    {
      sign: (s) => signedBy(ownKey().keyId, ownKey().secret, { timestamp: () => now() - 600 })(s),
      ...unauthenticated('timestamp_out_of_range'),
    },
  ],
  [
    'a timestamp 10 minutes ahead',
    {
      sign: (s) => signedBy(ownKey().keyId, ownKey().secret, { timestamp: () => now() + 600 })(s),
      ...unauthenticated('timestamp_out_of_range'),
    },
  ],

  // The body as bytes (400, 413, 415).
  ['malformed JSON', { body: '{"orderId":', status: 400, type: 'invalid_request_error', code: 'malformed_json' }],
  [
    'bytes that are not UTF-8',
    { body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), status: 400, type: 'invalid_request_error', code: 'malformed_json' },
  ],
  [
    'a form body',
    {
      body: 'orderId=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      type: 'invalid_request_error',
      code: 'unsupported_media_type',
    },
  ],
  [
    'plain text',
    {
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      type: 'invalid_request_error',
      code: 'unsupported_media_type',
    },
  ],
  [
    'JSON in Latin-1',
    {
      body: request(),
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
      status: 415,
      type: 'invalid_request_error',
      code: 'unsupported_encoding',
    },
  ],
  [
    'a body over the limit',
    {
      body: request({ description: 'x'.repeat(70_000) }),
      status: 413,
      type: 'invalid_request_error',
      code: 'body_too_large',
    },
  ],

  // Routes and methods (404, 405).
  ['an unknown route', { path: '/v1/refunds', status: 404, type: 'not_found_error', code: 'route_not_found' }],
  [
    'DELETE on payments',
    {
      method: 'DELETE',
      path: '/v1/payments',
      body: undefined,
      status: 405,
      type: 'method_not_allowed_error',
      code: 'method_not_allowed',
    },
  ],
  [
    'PUT on a payment',
    {
      method: 'PUT',
      path: '/v1/payments/pay_x',
      status: 405,
      type: 'method_not_allowed_error',
      code: 'method_not_allowed',
    },
  ],
  [
    'GET of an unknown payment',
    {
      method: 'GET',
      path: `/v1/payments/${testPaymentId('never-made')}`,
      body: undefined,
      status: 404,
      type: 'not_found_error',
      code: 'payment_not_found',
      param: 'paymentId',
    },
  ],
  [
    'GET of a malformed payment id',
    {
      method: 'GET',
      path: '/v1/payments/%00%01',
      body: undefined,
      status: 404,
      type: 'not_found_error',
      code: 'payment_not_found',
      param: 'paymentId',
    },
  ],
  [
    'cancel of an unknown payment',
    {
      path: `/v1/payments/${testPaymentId('never-made')}/cancel`,
      body: {},
      status: 404,
      type: 'not_found_error',
      code: 'payment_not_found',
      param: 'paymentId',
    },
  ],

  // Validation (422), with the field in `param`.
  ['an empty object', { body: {}, ...invalid('orderId', 'missing_parameter') }],
  ['a JSON array', { body: [request()], status: 422, type: 'validation_error', code: 'invalid_parameter' }],
  ['JSON null', { body: 'null', status: 422, type: 'validation_error', code: 'invalid_parameter' }],
  ['an unknown field', { body: request({ coupon: 'FREE' }), ...invalid('coupon', 'unknown_parameter') }],
  ['an unknown item field', { body: withItem({ discount: 5 }), ...invalid('items.0.discount', 'unknown_parameter') }],
  [
    'a missing customer id',
    { body: request({ customerId: undefined }), ...invalid('customerId', 'missing_parameter') },
  ],
  ['an amount as a string', { body: request({ amount: '199.00' }), ...invalid('amount') }],
  ['an amount with a fraction', { body: request({ amount: 199.5 }), ...invalid('amount') }],
  ['a negative amount', { body: request({ amount: -19_900 }), ...invalid('amount') }],
  ['a zero amount', { body: request({ amount: 0, items: [buildItem({ unitAmount: 0 })] }), ...invalid('amount') }],
  ['an amount above the maximum', { body: withItem({ unitAmount: 100_000_001 }), ...invalid('items.0.unitAmount') }],
  [
    'an amount beyond the safe integers',
    {
      body: `{"orderId":"o-big","customerId":"c","currency":"CNY","amount":9007199254740993,"items":[]}`,
      ...invalid('amount'),
    },
  ],
  [
    'an amount that overflows to infinity',
    { body: `{"orderId":"o-inf","customerId":"c","currency":"CNY","amount":1e400,"items":[]}`, ...invalid('amount') },
  ],
  ['items that do not add up', { body: request({ amount: 19_901 }), ...invalid('amount') }],
  ['no items', { body: request({ items: [], amount: 19_900 }), ...invalid('items') }],
  ['a zero quantity', { body: withItem({ quantity: 0 }), ...invalid('items.0.quantity') }],
  ['an unknown currency', { body: request({ currency: 'XYZ' }), ...invalid('currency') }],
  ['a lower-case currency', { body: request({ currency: 'cny' }), ...invalid('currency') }],
  ['a control character in the order id', { body: request({ orderId: 'ord\u0000-1' }), ...invalid('orderId') }],
  ['a space in the order id', { body: request({ orderId: 'ord 1' }), ...invalid('orderId') }],
  ['an order id of 65 characters', { body: request({ orderId: 'o'.repeat(65) }), ...invalid('orderId') }],
  [
    'a control character in the description',
    { body: request({ description: 'ring\u0007' }), ...invalid('description') },
  ],
  [
    'a C1 control character in an item title',
    { body: withItem({ title: 'Course\u0085' }), ...invalid('items.0.title') },
  ],
  ['an unknown channel', { body: request({ channel: 'applepay' }), ...invalid('channel') }],
  ['a payment window under a minute', { body: request({ expiresInSeconds: 10 }), ...invalid('expiresInSeconds') }],
  [
    'a currency no enabled channel takes (Kuwaiti dinars: neither the domestic channels nor Alipay abroad)',
    {
      body: request({ currency: 'KWD' }),
      status: 422,
      type: 'validation_error',
      code: 'no_channel_available',
      param: 'currency',
    },
  ],
  [
    'a cancel with an unknown field',
    {
      path: `/v1/payments/${testPaymentId('never-made')}/cancel`,
      body: { why: 'x' },
      ...invalid('why', 'unknown_parameter'),
    },
  ],
  [
    'a cancel reason with a control character',
    {
      path: `/v1/payments/${testPaymentId('never-made')}/cancel`,
      body: { reason: 'a\u001bb' },
      ...invalid('reason'),
    },
  ],

  [
    'a body nested 10 000 levels deep',
    {
      body: `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      headers: { 'idempotency-key': 'deep-1' },
      status: 400,
      type: 'invalid_request_error',
      code: 'body_too_deep',
    },
  ],

  // Idempotency-Key (400), and keys sent with bad input: nothing is kept for them.
  [
    'a bad field under a valid Idempotency-Key',
    { body: request({ amount: -1 }), headers: { 'idempotency-key': 'bad-field-1' }, ...invalid('amount') },
  ],
  [
    'an unknown field under a valid Idempotency-Key',
    {
      body: request({ coupon: 'x' }),
      headers: { 'idempotency-key': 'bad-field-2' },
      ...invalid('coupon', 'unknown_parameter'),
    },
  ],
  [
    'malformed JSON under a valid Idempotency-Key',
    {
      body: '{',
      headers: { 'idempotency-key': 'bad-json-1' },
      status: 400,
      type: 'invalid_request_error',
      code: 'malformed_json',
    },
  ],
  [
    'an Idempotency-Key over 255 characters',
    {
      body: request(),
      headers: { 'idempotency-key': 'k'.repeat(256) },
      status: 400,
      type: 'invalid_request_error',
      code: 'idempotency_key_invalid',
      param: 'Idempotency-Key',
    },
  ],
];

describe('bad requests', () => {
  it('has at least 40 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
  });

  it.each(rows)('%s', async (_name, row) => {
    const method = row.method ?? 'POST';
    const path = row.path ?? '/v1/payments';
    const value = 'body' in row ? row.body : request();
    const bytes =
      value === undefined
        ? Buffer.alloc(0)
        : Buffer.isBuffer(value)
          ? value
          : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
    const sign = row.sign ?? signedBy(stack.platformKey.keyId, stack.platformKey.secret);
    const res = await fetch(`${stack.baseUrl}${path}`, {
      method,
      headers: {
        ...(bytes.length > 0 ? { 'content-type': 'application/json' } : {}),
        ...sign({ method, path, body: bytes }),
        ...row.headers,
      },
      ...(bytes.length > 0 ? { body: bytes } : {}),
    });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(res.status).toBe(row.status);
    expect(body.error).toMatchObject({
      type: row.type,
      code: row.code,
      message: expect.any(String),
      requestId: res.headers.get('x-request-id'),
    });
    if (row.param !== undefined) expect(body.error.param).toBe(row.param);
    // A refused currency is answered with what would work instead.
    if (row.code === 'no_channel_available') {
      expect(body.error.message).toMatch(/At this amount: CNY by alipay, wechatpay, unionpay; .*USD by alipay/);
    }

    // Nothing stored (no payment, no idempotent answer), nothing started.
    expect(await stack.database.models.payments.countDocuments({})).toBe(0);
    expect(await stack.database.models.idempotencyRecords.countDocuments({})).toBe(0);
    const orderId = (value as { orderId?: unknown } | undefined)?.orderId;
    if (typeof orderId === 'string') {
      await expect(stack.temporal.client.workflow.getHandle(testPaymentId(orderId)).describe()).rejects.toThrow(
        /not found/i,
      );
    }
  });

  it('started no workflow on the task queue, and logged no secret or customer id', async () => {
    const { executions } = await stack.temporal.client.workflowService.listWorkflowExecutions({
      namespace: stack.config.TEMPORAL_NAMESPACE,
      query: `TaskQueue = "${stack.config.TEMPORAL_TASK_QUEUE}"`,
    });
    expect(executions).toHaveLength(0);
    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThanOrEqual(rows.length); // one line per answer at least
    expect(log).not.toContain(stack.platformKey.secret);
    expect(log).not.toContain(CUSTOMER);
    expect(log).not.toMatch(/"level":50/); // no unhandled error
  });
});
