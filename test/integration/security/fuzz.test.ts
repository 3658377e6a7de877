import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import type { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PAYMENT_CHANNELS } from '../../../domain/payment.js';
import { z } from 'zod';
import { API_ERRORS, isApiErrorCode } from '../../../src/api/errors.js';
import { buildOpenApiDocument } from '../../../src/api/openapi.js';
import { signatureHeaders } from '../../../src/client/index.js';
import { addStaff } from '../../../src/staff/store.js';
import { buildPaymentRequest, uniqueId } from '../../support/builders.js';
import { payAtChannel, waitForStatus } from '../../support/payments.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * A fuzz pass over every route: the API document's (so a new route is fuzzed as soon as it is
 * documented), the sandbox's and the codec's. Random methods, paths, query strings, headers and
 * bodies, signed and unsigned, with and without the right bearer token. Whatever arrives: no 5xx,
 * every error of the API in its one shape, and nothing stored for a request the API refused.
 */
// Most of a case's time is spent waiting on MongoDB: more routes at once use it better.
vi.setConfig({ maxConcurrency: 12 });

let stack: TestStack;
let fixtures: Record<string, string[]>;
let staffToken: string;
beforeAll(async () => {
  // Limits high enough that the fuzz reaches past the rate limiters (429 is tested elsewhere).
  const unlimited = '1000000';
  stack = await startStack({
    env: {
      PLATFORM_RATE_LIMIT_PER_MINUTE: unlimited,
      PUBLIC_RATE_LIMIT_PER_MINUTE: unlimited,
      CALLBACK_RATE_LIMIT_PER_MINUTE: unlimited,
      CODEC_RATE_LIMIT_PER_MINUTE: unlimited,
    },
  });
  const open = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'alipay' }));
  const paid = await stack.request('POST', '/v1/payments', buildPaymentRequest({ channel: 'wechatpay' }));
  expect([open.status, paid.status]).toEqual([201, 201]);
  await payAtChannel(stack, paid.body.paymentId);
  const succeeded = await waitForStatus(stack, paid.body.paymentId, 'succeeded');
  ({ token: staffToken } = await addStaff(stack.database.models, uniqueId('admin').toLowerCase(), 'admin'));
  const payments = [open.body.paymentId as string, paid.body.paymentId as string];
  fixtures = {
    paymentId: payments,
    outTradeNo: payments,
    voucherId: [succeeded.voucher.voucherId as string],
    channel: [...PAYMENT_CHANNELS],
    action: ['pay', 'decline'],
  };
}, 120_000);
afterAll(async () => {
  agent.destroy();
  await stack?.stop();
});

/** Who may call a route, which decides how a request is signed and what its errors look like. */
type Door = 'platform' | 'public' | 'callback' | 'staff' | 'codec' | 'service' | 'sandbox-control' | 'sandbox-channel';

interface Route {
  method: string;
  /** The path with `{name}` parameters, as the API document writes it. */
  template: string;
  door: Door;
  queryNames: string[];
  /** Valid bodies to start mutations from: the document's example, or the sandbox's. */
  examples: unknown[];
}

function doorOf(path: string): Door {
  if (path.startsWith('/v1/callbacks/')) return 'callback';
  if (path.startsWith('/v1/vouchers')) return 'public';
  if (path.startsWith('/v1/')) return 'platform';
  if (path.startsWith('/staff/v1/')) return 'staff';
  if (path.startsWith('/codec/')) return 'codec';
  if (path.startsWith('/sandbox/v1/')) return 'sandbox-control';
  if (path.startsWith('/sandbox/')) return 'sandbox-channel';
  return 'service';
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/** Every operation of the API document. */
function documentedRoutes(): Route[] {
  const document = buildOpenApiDocument({ maxAmount: 100_000_000 }) as {
    paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: unknown }>>;
  };
  return Object.entries(document.paths).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, op]) => {
        const content = (op.requestBody as { content?: Record<string, { example?: unknown }> } | undefined)?.content;
        return {
          method: method.toUpperCase(),
          template,
          door: doorOf(template),
          queryNames: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
          examples: Object.values(content ?? {}).flatMap((c) => (c.example === undefined ? [] : [c.example])),
        };
      }),
  );
}

/** The routes an Express router serves, under `mount`, read from the router itself. */
function routerRoutes(mount: string, router: Router): Route[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> } };
  return (router.stack as Layer[]).flatMap((layer) =>
    layer.route
      ? Object.keys(layer.route.methods)
          .filter((m) => HTTP_METHODS.includes(m))
          .map((m) => {
            const template = `${mount}${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`;
            return { method: m.toUpperCase(), template, door: doorOf(template), queryNames: [], examples: [] };
          })
      : [],
  );
}

/** The sandbox control API, whose router the app builds for itself. */
const CONTROL_ROUTES: [string, string, unknown[]][] = [
  ['POST', '/sandbox/v1/payments/{paymentId}/pay', [{ outcome: 'declined' }, { outcome: 'success', notifications: 2 }]],
  ['POST', '/sandbox/v1/channels/{channel}/outage', [{ operations: ['query'], enabled: false }]],
  ['POST', '/sandbox/v1/channels/{channel}/refund-behaviour', [{ mode: 'immediate', outcome: 'success' }]],
  ['GET', '/sandbox/v1/channels/{channel}/refund-behaviour', []],
  ['POST', '/sandbox/v1/platform/refuse', [{ orderId: 'fuzz-order' }]],
  ['POST', '/sandbox/v1/platform/outage', [{ orderId: 'fuzz-order', enabled: false }]],
  ['GET', '/sandbox/v1/platform/events', []],
];

function allRoutes(): Route[] {
  const { simulators, platform } = stack.sandbox;
  return [
    ...documentedRoutes(),
    ...routerRoutes('/sandbox/alipay', simulators.alipay.router),
    ...routerRoutes('/sandbox/wechatpay', simulators.wechatpay.router),
    ...routerRoutes('/sandbox/platform', platform.router),
    ...CONTROL_ROUTES.map(([method, template, examples]) => ({
      method,
      template,
      door: doorOf(template),
      queryNames: template.endsWith('/events') ? ['orderId'] : [],
      examples,
    })),
  ];
}

// ---- What a case is made of ------------------------------------------------------------------

const printable = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

/** Path segments and query values as an attacker writes them: broken escapes, traversals, overlong. */
const HOSTILE = [
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%C0%AF',
  '%FF%FE',
  '%00',
  '..',
  '%2e%2e',
  '%2F',
  '%252F',
  '%u0041',
  '__proto__',
  'constructor',
  '$ne',
  '%24where',
  'x'.repeat(5_000),
];
const hostile = fc.constantFrom(...HOSTILE);

function encoded(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return 'x';
  }
}

const segmentFor = (name: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...(fixtures[name] ?? [`${name}-1`])) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map(encoded) },
    { weight: 1, arbitrary: hostile },
  );

const queryValue = fc.oneof(
  fc.string({ maxLength: 20 }).map(encoded),
  fc.constantFrom('-1', '0', '1e400', '99999999999999999999', 'true', 'null', '', 'succeeded', 'alipay'),
  hostile,
);

function queryFor(names: string[]) {
  const name = fc.oneof(
    ...(names.length > 0 ? [fc.constantFrom(...names)] : []),
    fc.constantFrom('a[b]', 'a[]', 'limit[$gt]', 'status[$ne]', '__proto__[x]'),
    fc.string({ maxLength: 8 }).map(encoded),
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant('') },
    {
      weight: 3,
      arbitrary: fc
        .array(fc.tuple(name, queryValue), { maxLength: 4 })
        .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`)),
    },
  );
}

/** Stands for a number JSON can write but a double cannot hold; spliced into the text as `1e400`. */
const TOO_LARGE = '__number_too_large__';

/** JSON values, with the numbers that break naive code more often than chance would give them. */
const jsonValue = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(TOO_LARGE, 2 ** 53 + 2, -1, 0, 0.5, 1e21, '1e400') },
);

/** A valid example with one field set to any JSON value, removed, or added. */
function mutated(example: unknown) {
  const object = typeof example === 'object' && example !== null ? (example as Record<string, unknown>) : {};
  return fc
    .record({
      field: fc.oneof(fc.constantFrom(...Object.keys(object), 'extra'), fc.string({ maxLength: 8 })),
      action: fc.constantFrom('keep', 'set', 'delete'),
      value: jsonValue,
    })
    .map(({ field, action, value }) => {
      const body: Record<string, unknown> = { ...object };
      if (action === 'set') body[field] = value;
      else if (action === 'delete') delete body[field];
      return JSON.stringify(typeof example === 'string' ? example : body).replaceAll(`"${TOO_LARGE}"`, '1e400');
    });
}

const NASTY_BODIES = [
  '{"amount": 1e400}',
  '{"amount": -1e400, "reason": "x"}',
  `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
  `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`,
  '{"__proto__": {"polluted": true}}',
  '{"constructor": {"prototype": {"polluted": true}}}',
  '{"a":',
  '\u0000',
  '\ufeff{}',
  'null',
  '"just a string"',
  'payloads=1&token=2',
];

function bodyFor(route: Route) {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    ...route.examples.map((example) => ({ weight: 4, arbitrary: mutated(example) })),
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY_BODIES) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=klingon',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=klingon',
  'text/plain',
  'text/html; charset=utf-8',
  'multipart/form-data; boundary=x',
  'application/xml',
  '*/*',
  'application/json, text/plain',
];

/** `arbitrary`'s value now and then (one case in `1 + rarity`), otherwise nothing. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, rarity = 3) =>
  fc.oneof({ weight: rarity, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

/**
 * Headers: mostly what a well-behaved client sends (JSON, so that bodies reach the parsers and the
 * schemas), now and then anything else, and headers the API must not be fooled by.
 */
const headersArbitrary = fc
  .record({
    'content-type': fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/json') },
      { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      { weight: 1, arbitrary: printable(40) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    'content-encoding': sometimes(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'klingon'), 8),
    'idempotency-key': sometimes(fc.oneof(fc.uuid(), printable(300), fc.constant('')), 1),
    'x-request-id': sometimes(printable(140)),
    origin: sometimes(fc.constantFrom('https://evil.example', 'null', 'http://127.0.0.1:8233')),
    host: sometimes(fc.constantFrom('evil.example', 'localhost', '127.0.0.1:1', '[::1]', '')),
    'x-forwarded-for': sometimes(fc.constantFrom('10.0.0.1', '1.2.3.4, 5.6.7.8', 'garbage')),
    accept: sometimes(fc.constantFrom('application/json', 'text/html', '*/*')),
    'x-http-method-override': sometimes(fc.constantFrom('DELETE', 'PUT', 'GET')),
    'wechatpay-serial': sometimes(printable(64)),
    'wechatpay-signature': sometimes(printable(400)),
    'wechatpay-timestamp': sometimes(fc.constantFrom(String(Math.floor(Date.now() / 1000)), '0', '-1', '1e400')),
    'wechatpay-nonce': sometimes(printable(40)),
    cookie: sometimes(printable(200)),
  })
  .map(
    (headers) =>
      Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)) as Record<string, string>,
  );

/** How a case authenticates: not at all, with garbage, or as a legitimate caller of its door. */
const authArbitrary = fc.constantFrom('none', 'garbage', 'valid', 'valid', 'stale');

interface Case {
  method: string;
  path: string;
  body: string | Buffer | undefined;
  headers: Record<string, string>;
  auth: string;
}

function caseFor(route: Route) {
  const names = [...route.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  return fc
    .record({
      method: fc.oneof(
        { weight: 5, arbitrary: fc.constant(route.method) },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
      ),
      segments: fc.tuple(...names.map(segmentFor)),
      query: queryFor(route.queryNames),
      suffix: fc.constantFrom('', '', '', '/', '//', '/extra', '/..', '%2F..', '.json'),
      body: bodyFor(route),
      headers: headersArbitrary,
      auth: authArbitrary,
    })
    .map(({ method, segments, query, suffix, body, headers, auth }): Case => {
      let i = 0;
      const path = `${route.template.replace(/\{\w+\}/g, () => segments[i++] ?? 'x')}${suffix}${query}`;
      return { method, path, body, headers, auth };
    });
}

// ---- Sending ---------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** The bearer token or signature a legitimate caller of `door` sends, or a broken one. */
function credentials(door: Door, c: Case, body: Buffer): Record<string, string> {
  if (c.auth === 'none') return {};
  if (door === 'platform') {
    const key = c.auth === 'garbage' ? { ...stack.platformKey, secret: 'x'.repeat(64) } : stack.platformKey;
    const timestamp = Math.floor(Date.now() / 1000) - (c.auth === 'stale' ? 3_600 : 0);
    return signatureHeaders(key, { method: c.method, pathWithQuery: c.path, body, timestamp });
  }
  const token = {
    staff: staffToken,
    codec: stack.keyring.codecServerToken,
    'sandbox-control': stack.sandbox.controlToken,
  }[door as string];
  if (token === undefined) return {};
  return { authorization: `Bearer ${c.auth === 'valid' ? token : c.auth === 'stale' ? token.slice(1) : 'garbage'}` };
}

async function send(door: Door, c: Case): Promise<Answer> {
  const body = c.body === undefined ? Buffer.alloc(0) : Buffer.from(c.body);
  const { port } = new URL(stack.baseUrl);
  const headers: Record<string, string> = {
    ...c.headers,
    ...credentials(door, c, body),
    ...(c.body === undefined ? {} : { 'content-length': String(body.length) }),
  };
  if (headers.host === '') delete headers.host;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: c.method, path: c.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.end(body);
  });
}

const errorShape = z.strictObject({
  error: z.strictObject({
    type: z.string(),
    code: z.string(),
    message: z.string().min(1),
    param: z.string().optional(),
    requestId: z.string().min(1),
  }),
});

/** The one error shape, with a code the API knows, at the status and type that code comes with. */
function expectOneShape(answer: Answer, label: string) {
  expect(answer.headers['content-type'], label).toMatch(/^application\/json/);
  const parsed = errorShape.safeParse(JSON.parse(answer.text));
  expect(parsed.success, `${label}: ${answer.text.slice(0, 300)}`).toBe(true);
  const { code, type, requestId } = parsed.data?.error ?? { code: '', type: '', requestId: '' };
  expect(isApiErrorCode(code), `${label}: unknown code ${code}`).toBe(true);
  if (isApiErrorCode(code)) {
    expect({ status: answer.status, type }, label).toEqual({
      status: API_ERRORS[code].status,
      type: API_ERRORS[code].type,
    });
  }
  expect(requestId, label).toBe(answer.headers['x-request-id']);
}

/**
 * The hosted checkout answers a browser (one that asks for HTML first) a bad or expired link with
 * a page a learner can read, under the checkout's CSP; other clients get the one error shape.
 */
function isCheckoutPageForBrowser(template: string, headers: Record<string, string | undefined>, answer: Answer) {
  return (
    template.startsWith('/checkout/') &&
    (headers.accept ?? '').startsWith('text/html') &&
    (answer.status === 404 || answer.status === 410) &&
    /^text\/html/.test(String(answer.headers['content-type'] ?? '')) &&
    String(answer.headers['content-security-policy'] ?? '').includes("default-src 'none'")
  );
}

/**
 * A channel's own failure acknowledgement, which callbacks answer in the channel's protocol:
 * Alipay's `fail`, WeChat Pay's `{"code":"FAIL","message":...}`. The same whatever went wrong.
 */
function isChannelFailureAck(answer: Answer): boolean {
  if (answer.text === 'fail') return true;
  try {
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    return body.code === 'FAIL' && typeof body.message === 'string' && Object.keys(body).length === 2;
  } catch {
    return false;
  }
}

/**
 * What may have been stored: what an accepted request stores, and for an `Idempotency-Key` the
 * answer of an endpoint that ran (found nothing, or refused a conflict). A request refused before
 * any endpoint ran (bad input, no or bad credentials, no such route or method) stores nothing.
 */
const tally = { created: 0, answeredWithKey: 0, cases: 0 };
const REFUSED_TYPES = new Set([
  'invalid_request_error',
  'validation_error',
  'authentication_error',
  'permission_error',
  'rate_limit_error',
  'idempotency_error',
]);
const REFUSED_CODES = new Set(['route_not_found', 'method_not_allowed']);

function refusedBeforeAnEndpoint(answer: Answer): boolean {
  if (answer.status < 400) return false;
  try {
    const { type, code } = (JSON.parse(answer.text) as { error: { type: string; code: string } }).error;
    return REFUSED_TYPES.has(type) || REFUSED_CODES.has(code);
  } catch {
    return true;
  }
}

const STATE_COLLECTIONS = ['payments', 'refunds', 'idempotency_records', 'vouchers', 'channel_orders'] as const;
async function counts(): Promise<Record<string, number>> {
  const db = stack.database.connection.db!;
  const entries = await Promise.all(
    STATE_COLLECTIONS.map(async (name) => [name, await db.collection(name).countDocuments({})] as const),
  );
  return Object.fromEntries(entries);
}

const RUNS = Number(process.env.FUZZ_RUNS_PER_ROUTE ?? 200);

describe('a fuzz pass over every route', () => {
  let before: Record<string, number>;

  it('finds every documented route, every sandbox route and the codec', () => {
    const routes = allRoutes();
    const labels = routes.map((r) => `${r.method} ${r.template}`);
    expect(labels).toEqual(
      expect.arrayContaining([
        'POST /v1/payments',
        'POST /v1/callbacks/{channel}',
        'GET /staff/v1/payments',
        'POST /codec/decode',
        'GET /readyz',
        'GET /sandbox/alipay/cashier/{outTradeNo}',
        'POST /sandbox/wechatpay/v3/pay/transactions/native',
        'POST /sandbox/platform/webhooks',
        'POST /sandbox/v1/payments/{paymentId}/pay',
      ]),
    );
    expect(routes.length).toBeGreaterThanOrEqual(40);
  });

  it('answers POST /v1/payments with an amount too large to represent 422, naming it, and stores nothing', async () => {
    const stored = await counts();
    const text = JSON.stringify(buildPaymentRequest()).replace(/"amount":\d+/, '"amount":1e400');
    const answer = await send('platform', {
      method: 'POST',
      path: '/v1/payments',
      body: text,
      headers: { 'content-type': 'application/json', 'idempotency-key': uniqueId('idem') },
      auth: 'valid',
    });
    expect(answer.status, answer.text).toBe(422);
    expect(JSON.parse(answer.text).error).toMatchObject({ code: 'invalid_parameter', param: 'amount' });
    expectOneShape(answer, 'amount 1e400');
    expect(await counts()).toEqual(stored);
  });

  it('starts from a known state', async () => {
    before = await counts();
  });

  // Each route on its own, several at a time; what they stored is checked once they are all done.
  // The sandbox's routers are read from the running stack, so they are named here by their mount.
  const SANDBOX_MOUNTS = ['/sandbox/alipay/', '/sandbox/wechatpay/', '/sandbox/platform/'];
  const fuzzed = [
    ...documentedRoutes().map((r) => `${r.method} ${r.template}`),
    ...SANDBOX_MOUNTS,
    ...CONTROL_ROUTES.map(([method, template]) => `${method} ${template}`),
  ];
  it.concurrent.each(fuzzed)(
    '%s: no 5xx, one error shape',
    async (label) => {
      const routes = SANDBOX_MOUNTS.includes(label)
        ? allRoutes().filter((r) => r.door === 'sandbox-channel' && r.template.startsWith(label))
        : allRoutes().filter((r) => `${r.method} ${r.template}` === label);
      expect(routes.length, label).toBeGreaterThan(0);
      for (const route of routes) {
        await fc.assert(
          fc.asyncProperty(caseFor(route), async (c) => {
            const answer = await send(route.door, c);
            const described = `${route.method} ${route.template} <- ${c.method} ${c.path.slice(0, 200)} (${c.auth})`;
            tally.cases += 1;
            expect(answer.status, `${described}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
            if (answer.status >= 200 && answer.status < 300 && c.method === 'POST') tally.created += 1;
            if (c.method === 'POST' && c.headers['idempotency-key'] !== undefined && !refusedBeforeAnEndpoint(answer)) {
              tally.answeredWithKey += 1;
            }
            if (answer.status < 400 || c.method === 'HEAD' || route.door === 'sandbox-channel') return;
            if (route.door === 'callback' && isChannelFailureAck(answer)) return;
            if (isCheckoutPageForBrowser(route.template, c.headers, answer)) return;
            expectOneShape(answer, described);
          }),
          { numRuns: RUNS, endOnFailure: true },
        );
      }
      // Every route at once, the sandbox's through the API's forwarder, beside the chaos project.
    },
    180_000,
  );

  it('stored nothing for the requests it refused', async () => {
    const after = await counts();
    expect(tally.cases).toBeGreaterThan(RUNS * 20);
    for (const name of ['payments', 'refunds', 'vouchers', 'channel_orders'] as const) {
      expect(after[name]! - before[name]!, name).toBeLessThanOrEqual(tally.created);
    }
    expect(after.idempotency_records! - before.idempotency_records!).toBeLessThanOrEqual(tally.answeredWithKey);
    if (tally.created === 0) {
      expect({ ...after, idempotency_records: 0 }).toEqual({ ...before, idempotency_records: 0 });
    }
  });
});
