import { once } from 'node:events';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthRoutes } from '../../../src/api/routes/health.js';
import { createLogger } from '../../../src/logger.js';
import { addStaff } from '../../../src/staff/store.js';
import { buildPaymentRequest, uniqueId } from '../../support/builders.js';
import { payAtChannel, pollUntil, waitForStatus } from '../../support/payments.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * What the API must not give away: dependency errors to anonymous callers, payment data to
 * caches between the platform and us, and free text from outside to anyone who reads MongoDB.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function createPayment(overrides: Record<string, unknown> = {}) {
  const body = buildPaymentRequest(overrides);
  const res = await stack.request('POST', '/v1/payments', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { orderId: body.orderId as string, paymentId: res.body.paymentId as string };
}

/** Waits until the payment's workflow has closed, so reads come from the read model. */
async function workflowClosed(paymentId: string) {
  await pollUntil(
    async () => (await stack.temporal.client.workflow.getHandle(paymentId).describe()).status.name,
    (status) => status !== 'RUNNING',
  );
}

/** The collections of the stack's database whose raw documents contain `text`. */
async function collectionsHolding(text: string): Promise<string[]> {
  const db = stack.database.connection.db!;
  const names = (await db.listCollections().toArray()).map((c) => c.name);
  const holding: string[] = [];
  for (const name of names) {
    const docs = await db.collection(name).find({}).toArray();
    if (JSON.stringify(docs).includes(text)) holding.push(name);
  }
  return holding;
}

/** The payments collection as stored, without the model's casting. */
const rawPayments = () =>
  stack.database.connection.db!.collection<{
    _id: string;
    timeline: { event: string; detail?: string }[];
    failureReason: string | null;
  }>('payments');

async function staffToken(): Promise<string> {
  const { token } = await addStaff(stack.database.models, uniqueId('support').toLowerCase(), 'support');
  return token;
}

describe('GET /readyz', () => {
  it('names the dependency that is down, and keeps why (an internal address) for the log', async () => {
    const lines: string[] = [];
    const logger = createLogger({ LOG_LEVEL: 'debug' }, 'test', { write: (line) => lines.push(line) });
    const app = express().use(
      healthRoutes(
        [
          { name: 'temporal', ping: () => Promise.resolve() },
          { name: 'mongodb', ping: () => Promise.reject(new Error('connect ECONNREFUSED 10.20.30.40:27017')) },
        ],
        1_000,
        logger,
      ),
    );
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toEqual({
        status: 'not_ready',
        dependencies: { temporal: { status: 'ok' }, mongodb: { status: 'unavailable' } },
      });
      expect(text).not.toContain('10.20.30.40');
      expect(text).not.toContain('ECONNREFUSED');
      expect(lines.join('\n')).toContain('10.20.30.40:27017');
    } finally {
      server.close();
    }
  });
});

describe('caches', () => {
  it('may keep no answer of a signed platform request, found or not, nor an unsigned one', async () => {
    const { paymentId } = await createPayment();
    const found = await stack.request('GET', `/v1/payments/${paymentId}`);
    expect(found.status).toBe(200);
    expect(found.headers.get('etag')).not.toBeNull();
    expect(found.headers.get('cache-control')).toBe('no-store');
    const missing = await stack.request('GET', `/v1/payments/${paymentId.slice(0, -1)}x`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    const unsigned = await fetch(`${stack.baseUrl}/v1/payments/${paymentId}`);
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get('cache-control')).toBe('no-store');
  });

  it('may keep no answer of the staff API, and no error anywhere', async () => {
    const token = await staffToken();
    const me = await fetch(`${stack.baseUrl}/staff/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    const anonymous = await fetch(`${stack.baseUrl}/staff/v1/me`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    const nowhere = await fetch(`${stack.baseUrl}/nowhere`);
    expect(nowhere.status).toBe(404);
    expect(nowhere.headers.get('cache-control')).toBe('no-store');
  });

  it('still lets anyone cache the public voucher keys', async () => {
    const keys = await fetch(`${stack.baseUrl}/v1/vouchers/keys`);
    expect(keys.status).toBe(200);
    expect(keys.headers.get('cache-control')).toBe('public, max-age=300');
  });
});

describe('free text from outside, at rest', () => {
  it('keeps a cancel reason encrypted, and still shows it to the platform and to staff', async () => {
    const reason = `moved abroad, call ${uniqueId('tel')}`;
    const { paymentId } = await createPayment();
    const canceled = await stack.request('POST', `/v1/payments/${paymentId}/cancel`, { reason });
    expect(canceled.status).toBe(200);
    await workflowClosed(paymentId);

    expect(await collectionsHolding(reason)).toEqual([]);
    const doc = await rawPayments().findOne({ _id: paymentId });
    const detail = doc?.timeline.find((t) => t.event === 'payment.canceled')?.detail;
    expect(detail).toMatch(/^enc:v1:/);

    const read = await stack.request('GET', `/v1/payments/${paymentId}`);
    expect(read.body.timeline).toContainEqual(expect.objectContaining({ event: 'payment.canceled', detail: reason }));
    const staff = await fetch(`${stack.baseUrl}/staff/v1/payments/${paymentId}`, {
      headers: { authorization: `Bearer ${await staffToken()}` },
    });
    const detailed = (await staff.json()) as { payment: { timeline: unknown[] } };
    expect(detailed.payment.timeline).toContainEqual(
      expect.objectContaining({ event: 'payment.canceled', detail: reason }),
    );
  });

  it("keeps the platform's answer to a webhook encrypted, quotes only its error code, and the stub keeps no body", async () => {
    const { orderId, paymentId } = await createPayment();
    await stack.request('POST', '/sandbox/v1/platform/refuse', { orderId });
    await payAtChannel(stack, paymentId);
    const done = await waitForStatus(stack, paymentId, 'refunded');
    expect(done.failureReason).toBe('the platform refused to fulfil the order: HTTP 409 course_withdrawn');

    // The stub answers `{ error: 'course_withdrawn', message: 'The course was withdrawn; ...' }`.
    expect(await collectionsHolding('The course was withdrawn')).toEqual([]);
    const deliveries = await stack.database.connection
      .db!.collection('webhook_deliveries')
      .find({ paymentId, outcome: 'refused' })
      .toArray();
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]?.error).toMatch(/^enc:v1:/);
    const payment = await rawPayments().findOne({ _id: paymentId });
    expect(payment?.failureReason).toMatch(/^enc:v1:/);

    const events = await stack.sandboxDatabase.connection
      .db!.collection('sandbox_platform_events')
      .find({ orderId })
      .toArray();
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event).not.toHaveProperty('body');
      expect(event.bodySha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
