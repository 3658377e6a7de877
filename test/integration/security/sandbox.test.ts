import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfig, SANDBOX_IN_PRODUCTION_CONSENT } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { cashierFormTokens } from '../../../src/sandbox/channels/cashier-form.js';
import { createSandbox } from '../../../src/sandbox/index.js';
import { PROJECT_ROOT } from '../../../src/worker/workflow-bundle.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../../domain/payment.js';
import { buildPaymentRequest } from '../../support/builders.js';
import { channelOrderNo } from '../../support/channel-references.js';
import { cashierFormOf } from '../../support/payments.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * The sandbox is never a back door: production refuses it without an explicit override, its
 * control API takes a bearer token, its cashier forms work only with the token their page issued,
 * and malformed input to it is a 4xx in the one error shape, never a 500.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A payment awaiting payment at `channel`, and its cashier page. */
async function openPayment(channel: PaymentChannel) {
  // PayPal takes no yuan here: its payments are in dollars.
  const currency = channel === 'paypal' ? { currency: 'USD' } : {};
  const created = await stack.request(
    'POST',
    '/v1/payments',
    buildPaymentRequest({ channel, checkout: 'channel', ...currency }),
  );
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const { paymentId, orderId, payUrl } = created.body as { paymentId: string; orderId: string; payUrl: string };
  const page = await (await fetch(payUrl)).text();
  const action = /action="([^"]+)\/pay"/.exec(page)?.[1];
  if (action === undefined) throw new Error(`no Pay form on the cashier page:\n${page}`);
  return { paymentId, orderId, cashier: `${stack.baseUrl}${action}`, form: cashierFormOf(page) };
}

/** How the payment's order ended at the channel (paid or closed); null while it is open. */
async function channelOutcome(channel: PaymentChannel, paymentId: string) {
  return stack.sandboxDatabase.connection
    .collection('sandbox_channel_outcomes')
    .findOne({ _id: `${channel}:${channelOrderNo(channel, paymentId)}` as never });
}

async function paymentStatus(paymentId: string): Promise<string> {
  return (await stack.request('GET', `/v1/payments/${paymentId}`)).body.status;
}

function expectErrorShape(body: unknown, status: number, expected: { type: string; code: string }) {
  expect(status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
  expect(status, JSON.stringify(body)).toBeLessThan(500);
  expect(body).toEqual({ error: { ...expected, message: expect.any(String), requestId: expect.any(String) } });
}

describe('the sandbox in production', () => {
  const production = {
    NODE_ENV: 'production',
    SANDBOX_ENABLED: 'true',
    PLATFORM_KEYS: `shop:${'s'.repeat(40)}`,
    SANDBOX_CONTROL_TOKEN: `sct_${'c'.repeat(40)}`,
  };

  it('is refused without the override, and the error says what to set', () => {
    expect(() => loadConfig(production)).toThrow(ConfigError);
    expect(() => loadConfig(production)).toThrow(/SANDBOX_ENABLED=false/);
    expect(() => loadConfig(production)).toThrow(`SANDBOX_IN_PRODUCTION=${SANDBOX_IN_PRODUCTION_CONSENT}`);
    expect(() => loadConfig({ ...production, SANDBOX_IN_PRODUCTION: 'yes' })).toThrow(/SANDBOX_IN_PRODUCTION/);
    expect(() => loadConfig(production)).not.toThrow(production.SANDBOX_CONTROL_TOKEN);
  });

  it('starts with the override, and still takes no generated token or development key there', () => {
    const config = loadConfig({ ...production, SANDBOX_IN_PRODUCTION: SANDBOX_IN_PRODUCTION_CONSENT });
    expect(config.SANDBOX_ENABLED).toBe(true);
    expect(config.SANDBOX_IN_PRODUCTION).toBe(true);

    const { SANDBOX_CONTROL_TOKEN: _token, PLATFORM_KEYS: _keys, ...bare } = production;
    const refused = () => loadConfig({ ...bare, SANDBOX_IN_PRODUCTION: SANDBOX_IN_PRODUCTION_CONSENT });
    expect(refused).toThrow(/SANDBOX_CONTROL_TOKEN: required/);
    expect(refused).toThrow(/PLATFORM_KEYS: required/);
  });

  it('is off by default in production, and on by default elsewhere', () => {
    const { SANDBOX_ENABLED: _on, ...unset } = production;
    expect(() => loadConfig(unset)).toThrow(/ALIPAY_GATEWAY_URL: required when the sandbox is off/);
    expect(loadConfig({ NODE_ENV: 'development' })).toMatchObject({
      SANDBOX_ENABLED: true,
      SANDBOX_IN_PRODUCTION: false,
    });
  });

  it('says so at error level on every start with the override', async () => {
    const lines: string[] = [];
    const logger = createLogger({ LOG_LEVEL: 'debug' }, 'test', { write: (line) => lines.push(line) });
    const sandbox = await createSandbox({
      connection: stack.database.connection,
      keyring: stack.keyring,
      config: { ...stack.config, NODE_ENV: 'production', SANDBOX_IN_PRODUCTION: true },
      logger,
    });
    sandbox.close();

    const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(warnings).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringMatching(/SANDBOX IS ON IN PRODUCTION/) }),
    );
  });

  it('docker-compose.yml starts with the sandbox off and carries no development key', () => {
    const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    for (const name of ['worker', 'api']) {
      const env = compose.services[name]?.environment ?? {};
      expect(env.NODE_ENV, name).toBe('production');
      expect(env.SANDBOX_ENABLED, name).toBe('${SANDBOX_ENABLED:-false}');
      expect(env.SANDBOX_IN_PRODUCTION, name).toBe('${SANDBOX_IN_PRODUCTION:-}');
      expect(env.SANDBOX_CONTROL_TOKEN, name).toBe('${SANDBOX_CONTROL_TOKEN:-}');
      expect(env.PLATFORM_KEYS, name).toBe('${PLATFORM_KEYS:-}');
    }
  });
});

describe('the sandbox control API', () => {
  type Ids = { paymentId: string; orderId: string };
  /** Every control route, with a body that would change something if it were let through. */
  const calls: [method: 'GET' | 'POST', path: (ids: Ids) => string, body?: (ids: Ids) => unknown][] = [
    ['POST', ({ paymentId }) => `/payments/${paymentId}/pay`, () => ({ outcome: 'success' })],
    ['GET', ({ paymentId }) => `/payments/${paymentId}/books`],
    ['POST', () => '/channels/alipay/hold', () => ({ operations: ['query'], enabled: true })],
    ['GET', () => '/channels/alipay/hold'],
    ['POST', () => '/channels/alipay/lost-refund-answers', () => ({ count: 1 })],
    ['POST', () => '/channels/alipay/outage', () => ({ operations: ['create', 'query'], enabled: true })],
    ['POST', () => '/channels/alipay/refund-behaviour', () => ({ outcome: 'closed' })],
    ['GET', () => '/channels/alipay/refund-behaviour'],
    ['POST', () => '/platform/refuse', ({ orderId }) => ({ orderId })],
    ['POST', () => '/platform/outage', ({ orderId }) => ({ orderId, enabled: true })],
    ['GET', ({ orderId }) => `/platform/events?orderId=${orderId}`],
  ];

  it.each<[string, (token: string) => string | undefined]>([
    ['no Authorization header', () => undefined],
    ['a wrong bearer token', () => 'Bearer sct_wrong_token_00000000000000000000000000'],
    ['the token without the Bearer scheme', (token) => token],
    ['the token as Basic credentials', (token) => `Basic ${Buffer.from(`sandbox:${token}`).toString('base64')}`],
  ])('answers 401 to %s and changes nothing', async (_what, authorization) => {
    const ids = await openPayment('alipay');
    const header = authorization(stack.sandbox.controlToken);
    for (const [method, path, body] of calls) {
      const res = await fetch(`${stack.baseUrl}/sandbox/v1${path(ids)}`, {
        method,
        headers: { 'content-type': 'application/json', ...(header === undefined ? {} : { authorization: header }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body(ids)) }),
      });
      expect(res.status, `${method} ${path(ids)}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expectErrorShape(await res.json(), res.status, {
        type: 'authentication_error',
        code: 'authentication_required',
      });
    }

    const db = stack.sandboxDatabase.connection;
    expect(await channelOutcome('alipay', ids.paymentId)).toBeNull();
    expect(await db.collection('sandbox_channel_faults').countDocuments({})).toBe(0);
    expect(await db.collection('sandbox_channel_refund_behaviours').countDocuments({})).toBe(0);
    expect(await db.collection('sandbox_platform_refusals').countDocuments({ orderId: ids.orderId })).toBe(0);
    expect(await db.collection('sandbox_platform_outages').countDocuments({ orderId: ids.orderId })).toBe(0);
    expect((await stack.request('GET', '/sandbox/v1/channels/alipay/hold')).body).toEqual({
      channel: 'alipay',
      operations: [],
      waiting: 0,
    });
    expect(await paymentStatus(ids.paymentId)).toBe('awaiting_payment');
  });

  it('does what it is asked with the token', async () => {
    const ids = await openPayment('wechatpay');
    const res = await fetch(`${stack.baseUrl}/sandbox/v1/payments/${ids.paymentId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.sandbox.controlToken}` },
      body: JSON.stringify({ outcome: 'success' }),
    });
    expect(res.status).toBe(200);
    expect(await channelOutcome('wechatpay', ids.paymentId)).toMatchObject({ state: 'PAID' });
  });
});

describe.each(PAYMENT_CHANNELS)('the %s cashier forms', (channel) => {
  const forms = () => cashierFormTokens(stack.sandbox.controlToken);

  it.each<[string, (ids: { paymentId: string; other: URLSearchParams }) => RequestInit]>([
    ['a cross-site POST with no body', () => ({ headers: { origin: 'https://attacker.example' } })],
    [
      'a cross-site form with no token',
      () => ({
        headers: { origin: 'https://attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'outcome=success',
      }),
    ],
    ['a forged token', () => ({ body: new URLSearchParams({ form_token: `${9_999_999_999}.${'A'.repeat(43)}` }) })],
    ['the token of another order’s page', ({ other }) => ({ body: other })],
    [
      'an expired token',
      ({ paymentId }) => ({
        body: new URLSearchParams({
          form_token: forms().issue(channel, channelOrderNo(channel, paymentId), Date.now() - 16 * 60_000),
        }),
      }),
    ],
    ['a token in JSON', ({ other }) => ({ body: JSON.stringify(Object.fromEntries(other)) })],
  ])('refuses %s and pays nothing', async (_what, request) => {
    const target = await openPayment(channel);
    const other = await openPayment(channel);

    const res = await fetch(`${target.cashier}/pay`, {
      method: 'POST',
      ...request({ paymentId: target.paymentId, other: other.form }),
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Form expired');

    expect(await channelOutcome(channel, target.paymentId)).toBeNull();
    expect(await paymentStatus(target.paymentId)).toBe('awaiting_payment');
  });

  it('pays with the token its page issued', async () => {
    const { paymentId, cashier, form } = await openPayment(channel);
    const res = await fetch(`${cashier}/pay`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    // At PayPal the learner approves and the saga captures.
    expect(await res.text()).toContain(channel === 'paypal' ? 'Payment approved' : 'Payment successful');
    await expect.poll(() => channelOutcome(channel, paymentId)).toMatchObject({ state: 'PAID' });
  });
});

describe('the API forwarding /sandbox to the sandbox process', () => {
  /** One raw HTTP/1.1 exchange with the API, so the request line is exactly as written. */
  function rawRequest(requestLine: string, host: string): Promise<string> {
    const { port } = new URL(stack.baseUrl);
    return new Promise((resolve, reject) => {
      let answer = '';
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(`${requestLine}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
      );
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });
  }

  it('never fetches from the host an absolute request line names, only from the sandbox', async () => {
    const answer = await rawRequest(
      'GET http://169.254.169.254/sandbox/v1/platform/events?orderId=x HTTP/1.1',
      '169.254.169.254',
    );
    // The sandbox itself answered: no token.
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(answer).toContain('authentication_required');
  });

  it('forwards a body sent with Expect: 100-continue (curl sends it on larger bodies)', async () => {
    const body = JSON.stringify({ orderId: 'expect-continue-1' });
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        `${stack.baseUrl}/sandbox/v1/platform/refuse`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${stack.sandbox.controlToken}`,
            expect: '100-continue',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('continue', () => req.end(body));
      req.on('error', reject);
    });
    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ orderId: 'expect-continue-1', refused: true });
  });
});

describe('malformed input to the sandbox', () => {
  const malformedPath = { type: 'invalid_request_error', code: 'malformed_path' };
  const unsupportedEncoding = { type: 'invalid_request_error', code: 'unsupported_encoding' };
  const bogusForm = { 'content-type': 'application/x-www-form-urlencoded; charset=bogus' };

  it.each<[string, string, RequestInit, { type: string; code: string }]>([
    ['GET', '/sandbox/alipay/cashier/%ZZ', {}, malformedPath],
    ['GET', '/sandbox/wechatpay/cashier/%ZZ', {}, malformedPath],
    ['POST', '/sandbox/alipay/cashier/%ZZ/pay', {}, malformedPath],
    ['GET', '/sandbox/wechatpay/v3/pay/transactions/out-trade-no/%ZZ?mchid=1', {}, malformedPath],
    [
      'POST',
      '/sandbox/alipay/gateway.do',
      { headers: bogusForm, body: 'method=alipay.trade.query' },
      unsupportedEncoding,
    ],
    ['POST', '/sandbox/wechatpay/cashier/x/pay', { headers: bogusForm, body: 'form_token=x' }, unsupportedEncoding],
    [
      'POST',
      '/sandbox/alipay/gateway.do',
      { headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'bogus' }, body: 'a=1' },
      { type: 'invalid_request_error', code: 'unsupported_encoding' },
    ],
  ])('%s %s answers 4xx in the one error shape', async (method, path, init, expected) => {
    const res = await fetch(`${stack.baseUrl}${path}`, { method, ...init });
    const text = await res.text();
    expect(res.status, text).toBeLessThan(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectErrorShape(JSON.parse(text), res.status, expected);
  });

  it.each<[string, unknown, string]>([
    ['/channels/alipay/hold', { operations: ['teleport'], enabled: true }, 'operations.0'],
    ['/channels/alipay/hold', { operations: [], enabled: true }, 'operations'],
    ['/channels/wechatpay/hold', { operations: ['refund'] }, 'enabled'],
    ['/channels/wechatpay/lost-refund-answers', { count: -1 }, 'count'],
    ['/channels/wechatpay/lost-refund-answers', { count: 21 }, 'count'],
    ['/channels/alipay/lost-refund-answers', { count: 1, operation: 'query' }, 'operation'],
  ])('refuses the fault injection POST %s %j with 422 naming the field', async (path, body, param) => {
    const res = await stack.request('POST', `/sandbox/v1${path}`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error).toMatchObject({ type: 'validation_error', param });
    expect((await stack.request('GET', '/sandbox/v1/channels/alipay/hold')).body.operations).toEqual([]);
  });

  it('answers the control API’s malformed input 4xx too, once authenticated', async () => {
    const token = { authorization: `Bearer ${stack.sandbox.controlToken}` };
    const escape = await fetch(`${stack.baseUrl}/sandbox/v1/payments/%ZZ/pay`, { method: 'POST', headers: token });
    expectErrorShape(await escape.json(), escape.status, malformedPath);
    const charset = await fetch(`${stack.baseUrl}/sandbox/v1/platform/refuse`, {
      method: 'POST',
      headers: { ...token, 'content-type': 'application/json; charset=bogus' },
      body: '{"orderId":"ord-1"}',
    });
    expectErrorShape(await charset.json(), charset.status, unsupportedEncoding);
  });
});
