import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformClient } from '../../../src/client/index.js';
import { uniqueId } from '../../support/builders.js';
import { startStack, type TestStack } from '../../support/stack.js';

/** Per-key and per-address rate limits, and the scheduled sweep of expired API records. */
let stack: TestStack;
const LIMIT = 5;
beforeAll(async () => {
  stack = await startStack({
    env: { PLATFORM_RATE_LIMIT_PER_MINUTE: String(LIMIT), PUBLIC_RATE_LIMIT_PER_MINUTE: String(LIMIT) },
  });
});
afterAll(async () => {
  await stack?.stop();
});

/** Waits for a fresh one-minute window when the current one is about to end. */
async function freshWindow(): Promise<void> {
  const left = 60 - (Math.floor(Date.now() / 1000) % 60);
  if (left < 10) await new Promise((r) => setTimeout(r, left * 1000 + 200));
}

describe('rate limits', () => {
  it('answers 429 with Retry-After once a key spends its minute, and counts each key apart', async () => {
    await freshWindow();
    const answers = [];
    for (let i = 0; i <= LIMIT; i++) answers.push(await stack.request('GET', '/v1/payments/pay_none'));
    expect(answers.slice(0, LIMIT).map((a) => a.status)).toEqual(Array(LIMIT).fill(404));
    expect(answers[0]?.headers.get('ratelimit-limit')).toBe(String(LIMIT));
    expect(answers[LIMIT - 1]?.headers.get('ratelimit-remaining')).toBe('0');
    const limited = answers[LIMIT]!;
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('limits the public voucher routes per client address', async () => {
    await freshWindow();
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await fetch(`${stack.baseUrl}/v1/vouchers/keys`)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
  });

  it('does not count requests that fail to authenticate against the key', async () => {
    await freshWindow();
    const impostor = new PlatformClient({
      baseUrl: stack.baseUrl,
      keyId: stack.platformKey.keyId,
      secret: 'not-the-secret-not-the-secret-not-the-secret',
      maxRetries: 0,
    });
    const windowCount = async () =>
      (
        await stack.database.models.rateLimitWindows
          .findOne({ _id: `platform:${stack.platformKey.keyId}:${Math.floor(Date.now() / 60_000) * 60}` })
          .lean()
      )?.count ?? 0;
    const before = await windowCount();
    for (let i = 0; i < LIMIT * 2; i++) expect((await impostor.send('GET', '/v1/payments/pay_none')).status).toBe(401);
    expect(await windowCount()).toBe(before);
    // ...while a genuine request is counted.
    await stack.request('GET', '/v1/payments/pay_none');
    expect(await windowCount()).toBe(before + 1);
  });
});

describe('api-housekeeping', () => {
  it('sweeps expired nonces, idempotent answers and rate-limit windows, and keeps live ones', async () => {
    const { requestNonces, idempotencyRecords, rateLimitWindows } = stack.database.models;
    const past = new Date(Date.now() - 1_000);
    const future = new Date(Date.now() + 3_600_000);
    const tag = uniqueId('hk');
    const record = (expiresAt: Date) => ({
      requestHash: 'h',
      lockId: 'l',
      state: 'done',
      lockedUntil: past,
      status: 200,
      body: 'enc:v1:x',
      createdAt: past,
      expiresAt,
    });
    await requestNonces.create([
      { _id: `${tag}:old`, expiresAt: past },
      { _id: `${tag}:live`, expiresAt: future },
    ]);
    await idempotencyRecords.create([
      { _id: `${tag}:old`, ...record(past) },
      { _id: `${tag}:live`, ...record(future) },
    ]);
    await rateLimitWindows.create([
      { _id: `${tag}:old`, count: 1, expiresAt: past },
      { _id: `${tag}:live`, count: 1, expiresAt: future },
    ]);

    // The workflow the `api-housekeeping` schedule starts, run on the real worker.
    const result = await stack.temporal.client.workflow.execute('apiHousekeepingWorkflow', {
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      workflowId: uniqueId('housekeeping'),
    });
    expect(result).toMatchObject({
      nonces: expect.any(Number),
      idempotencyRecords: expect.any(Number),
      rateLimitWindows: expect.any(Number),
    });
    for (const model of [requestNonces, idempotencyRecords, rateLimitWindows] as const) {
      const left = await (model as typeof requestNonces)
        .find({ _id: { $in: [`${tag}:old`, `${tag}:live`] } }, { _id: 1 })
        .lean();
      expect(left.map((d) => d._id)).toEqual([`${tag}:live`]);
    }
  });
});
