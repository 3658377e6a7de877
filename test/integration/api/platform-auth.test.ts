import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformClient, signatureHeaders, type PlatformKey } from '../../../src/client/index.js';
import { PROJECT_ROOT } from '../../../src/worker/workflow-bundle.js';
import { buildPaymentRequest, testPaymentId, uniqueId } from '../../support/builders.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * Signed platform requests (src/api/platform-auth.ts) against the real API and MongoDB: what is
 * accepted, and every way a request can fail to authenticate.
 */
let stack: TestStack;
const oldKey: PlatformKey = { keyId: 'shop-2025', secret: randomBytes(32).toString('hex') };
const newKey: PlatformKey = { keyId: 'shop-2026', secret: randomBytes(32).toString('hex') };

beforeAll(async () => {
  // Two keys at once: the platform is part-way through rotating from the old one to the new one.
  stack = await startStack({
    env: { PLATFORM_KEYS: [oldKey, newKey].map((k) => `${k.keyId}:${k.secret}`).join(',') },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const now = () => Math.floor(Date.now() / 1000);

/** Sends `body` to `path` with headers signed over `signed` (what the signer believed it sent). */
async function send(
  key: PlatformKey,
  options: {
    method?: string;
    path?: string;
    body?: string;
    signed?: { method?: string; path?: string; body?: string; timestamp?: number; nonce?: string };
    headers?: Record<string, string>;
  } = {},
) {
  const method = options.method ?? 'POST';
  const path = options.path ?? '/v1/payments';
  const body = options.body ?? JSON.stringify(buildPaymentRequest());
  const signed = options.signed ?? {};
  const headers = {
    ...signatureHeaders(key, {
      method: signed.method ?? method,
      pathWithQuery: signed.path ?? path,
      body: signed.body ?? body,
      ...(signed.timestamp === undefined ? {} : { timestamp: signed.timestamp }),
      ...(signed.nonce === undefined ? {} : { nonce: signed.nonce }),
    }),
    'content-type': 'application/json',
    ...options.headers,
  };
  const res = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers,
    ...(method === 'GET' ? {} : { body }),
  });
  return { status: res.status, body: (await res.json()) as { error?: { type: string; code: string } } };
}

async function nothingStarted(orderId: string) {
  expect(await stack.database.models.payments.countDocuments({ _id: testPaymentId(orderId) })).toBe(0);
  await expect(stack.temporal.client.workflow.getHandle(testPaymentId(orderId)).describe()).rejects.toThrow(
    /not found/i,
  );
}

describe('signed platform requests', () => {
  it('accepts a request signed with either key of a rotation, through the shipped client', async () => {
    for (const key of [oldKey, newKey]) {
      const client = new PlatformClient({ baseUrl: stack.baseUrl, ...key, maxRetries: 0 });
      const created = await client.createPayment(buildPaymentRequest() as never);
      expect(created.status).toBe('awaiting_payment');
      expect((await client.getPayment(created.paymentId)).paymentId).toBe(created.paymentId);
    }
  });

  it('runs the five-line example of the README as written', async () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const example = /<!-- prettier-ignore -->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(example.trim().split('\n')).toHaveLength(5);
    const orderId = uniqueId('readme');
    const runnable = example
      .replace('./src/client/index.js', pathToFileURL(join(PROJECT_ROOT, 'src/client/index.ts')).href)
      .replace("'https://pay.example.com'", JSON.stringify(stack.baseUrl))
      .replace("'shop-2026'", JSON.stringify(newKey.keyId))
      .replace('process.env.KP_SECRET!', JSON.stringify(newKey.secret))
      .replace("'ord-1001'", JSON.stringify(orderId))
      .replace('redirect(', '(globalThis as any).redirect(');
    const file = join(mkdtempSync(join(tmpdir(), 'kp-readme-')), 'example.ts');
    writeFileSync(file, `${runnable}\nexport {};\n`);
    const redirected: string[] = [];
    (globalThis as { redirect?: (url: string) => void }).redirect = (url) => redirected.push(url);
    await import(pathToFileURL(file).href);
    expect(redirected).toHaveLength(1);
    expect(redirected[0]).toMatch(/^http/);
    expect(await stack.database.models.payments.countDocuments({ _id: testPaymentId(orderId) })).toBe(1);
  });

  it('accepts a timestamp inside the 300 s tolerance, either way', async () => {
    expect((await send(newKey, { signed: { timestamp: now() - 250 } })).status).toBe(201);
    expect((await send(newKey, { signed: { timestamp: now() + 250 } })).status).toBe(201);
  });

  it('refuses a request with no signature, and says how to sign', async () => {
    const request = buildPaymentRequest();
    const res = await fetch(`${stack.baseUrl}/v1/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      error: { type: 'authentication_error', code: 'authentication_required', message: /README/ },
    });
    await nothingStarted(request.orderId as string);
  });

  it.each([
    ['an expired timestamp', -310, 'timestamp_out_of_range'],
    ['a timestamp from the future', +310, 'timestamp_out_of_range'],
  ])('refuses %s', async (_what, offset, code) => {
    const body = JSON.stringify(buildPaymentRequest());
    const res = await send(newKey, { body, signed: { timestamp: now() + offset } });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ type: 'authentication_error', code });
    await nothingStarted((JSON.parse(body) as { orderId: string }).orderId);
  });

  it('refuses a replayed request: the same nonce twice', async () => {
    const nonce = randomBytes(16).toString('hex');
    const timestamp = now();
    const body = JSON.stringify(buildPaymentRequest());
    const first = await send(newKey, { body, signed: { nonce, timestamp } });
    expect(first.status).toBe(201);
    const replay = await send(newKey, { body, signed: { nonce, timestamp } });
    expect(replay.status).toBe(401);
    expect(replay.body.error).toMatchObject({ type: 'authentication_error', code: 'nonce_reused' });
    // The nonce is held per key: the same nonce under the other key is a different request.
    expect((await send(oldKey, { signed: { nonce, timestamp } })).status).toBe(201);
  });

  it('refuses a key it does not know and a secret that is not the key’s', async () => {
    const stranger = { keyId: 'someone-else', secret: randomBytes(32).toString('hex') };
    const impostor = { keyId: newKey.keyId, secret: randomBytes(32).toString('hex') };
    for (const key of [stranger, impostor]) {
      const body = JSON.stringify(buildPaymentRequest());
      const res = await send(key, { body });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'signature_invalid' });
      await nothingStarted((JSON.parse(body) as { orderId: string }).orderId);
    }
  });

  it('refuses a request altered after signing: one body byte, the path, the query, the method', async () => {
    const request = buildPaymentRequest();
    const body = JSON.stringify(request);
    const flipped = body.replace('"amount":19900', '"amount":19901');
    expect(flipped).not.toBe(body);
    const altered = [
      { body: flipped, signed: { body } },
      { path: '/v1/payments', signed: { path: '/v1/payments?x=1' } },
      { path: '/v1/payments?x=2', signed: { path: '/v1/payments?x=1' } },
      { method: 'GET', path: '/v1/payments/pay_x', body: '', signed: { method: 'POST', body: '' } },
    ];
    for (const variant of altered) {
      const res = await send(newKey, { body, ...variant });
      expect(res.status, JSON.stringify(variant.signed)).toBe(401);
      expect(res.body.error?.code).toBe('signature_invalid');
    }
    await nothingStarted(request.orderId as string);
  });

  it('signs the path as it goes on the wire, however the caller wrote it', async () => {
    const client = new PlatformClient({ baseUrl: stack.baseUrl, ...newKey, maxRetries: 0 });
    for (const path of ['/v1/payments/a b', '/v1/payments/über', '/v1/payments/./pay_x?q="1"']) {
      expect((await client.send('GET', path)).status, path).toBe(404);
    }
  });

  it('keeps no nonce for a request that failed to authenticate, so refusals cannot fill the store', async () => {
    const nonce = randomBytes(16).toString('hex');
    const impostor = { keyId: newKey.keyId, secret: randomBytes(32).toString('hex') };
    expect((await send(impostor, { signed: { nonce } })).status).toBe(401);
    expect(await stack.database.models.requestNonces.countDocuments({ _id: `${newKey.keyId}:${nonce}` })).toBe(0);
    // ...and the genuine holder of the key may still use that nonce.
    expect((await send(newKey, { signed: { nonce } })).status).toBe(201);
  });

  it('once the old key is dropped from PLATFORM_KEYS, it is refused', async () => {
    const rotated = await startStack({ env: { PLATFORM_KEYS: `${newKey.keyId}:${newKey.secret}` } });
    try {
      const old = new PlatformClient({ baseUrl: rotated.baseUrl, ...oldKey, maxRetries: 0 });
      const current = new PlatformClient({ baseUrl: rotated.baseUrl, ...newKey, maxRetries: 0 });
      expect((await old.send('POST', '/v1/payments', { body: buildPaymentRequest() })).status).toBe(401);
      expect((await current.send('POST', '/v1/payments', { body: buildPaymentRequest() })).status).toBe(201);
    } finally {
      await rotated.stop();
    }
  });

  it('leaves voucher reads, callbacks and health open: they carry no platform signature', async () => {
    expect((await fetch(`${stack.baseUrl}/v1/vouchers/keys`)).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/healthz`)).status).toBe(200);
    const callback = await fetch(`${stack.baseUrl}/v1/callbacks/alipay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'out_trade_no=x',
    });
    // Heard and refused in Alipay's own format (the body is no notification), not asked to sign.
    expect([callback.status, await callback.text()]).toEqual([400, 'fail']);
    // What those public routes do not serve is a 404, not a demand for a signature.
    for (const path of ['/v1/vouchers/a/b', '/v1/callbacks/alipay/extra']) {
      const res = await fetch(`${stack.baseUrl}${path}`);
      expect(res.status, path).toBe(404);
    }
  });
});
