import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../../src/api/errors.js';
import { requireStaffPermission, staffAuth, staffOf } from '../../../src/api/staff-auth.js';
import { createLogger } from '../../../src/logger.js';
import { recordAudit } from '../../../src/staff/audit.js';
import { STAFF_PERMISSIONS, type StaffRole } from '../../../src/staff/roles.js';
import { addStaff, revokeStaff } from '../../../src/staff/store.js';
import { generateStaffToken } from '../../../src/staff/tokens.js';
import { uniqueId } from '../../support/builders.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * The staff API (`/staff/v1`, src/api/routes/staff.ts) behind bearer-token auth
 * (src/api/staff-auth.ts), over HTTP against the real API and MongoDB.
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ inProcessWorker: false });
});
afterAll(async () => {
  await stack?.stop();
});

async function staffWith(role: StaffRole): Promise<{ name: string; token: string }> {
  const name = uniqueId(role).toLowerCase();
  const { token } = await addStaff(stack.database.models, name, role);
  return { name, token };
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.baseUrl}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('staff authentication', () => {
  it('refuses a request without a bearer token, and says how to send one', async () => {
    const withoutToken: Record<string, string>[] = [
      {},
      { authorization: 'Basic YWxpY2U6c2VjcmV0' },
      { authorization: 'Bearer' },
    ];
    for (const headers of withoutToken) {
      const res = await get('/staff/v1/me', headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(res.body.error).toMatchObject({
        type: 'authentication_error',
        code: 'staff_token_missing',
        message: expect.stringMatching(/Authorization: Bearer/),
      });
    }
  });

  it('refuses a malformed, unknown or revoked token alike', async () => {
    const revoked = await staffWith('admin');
    await revokeStaff(stack.database.models, revoked.name);
    for (const token of ['not-a-token', 'kpstaff_', generateStaffToken(), revoked.token]) {
      const res = await get('/staff/v1/me', bearer(token));
      expect(res.status, token).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*invalid_token/);
      expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'staff_token_invalid' });
    }
  });

  it('refuses a platform signature in place of a staff token', async () => {
    const res = await stack.request('GET', '/staff/v1/me');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('staff_token_missing');
  });

  it('answers who the token belongs to and what their role may do', async () => {
    const support = await staffWith('support');
    const res = await get('/staff/v1/me', { authorization: `bearer  ${support.token}` });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: support.name,
      role: 'support',
      permissions: [
        'payments.read',
        'payments.requery',
        'payments.retry',
        'refunds.request',
        'webhooks.resend',
        'audit.read',
        'channels.read',
        'stats.read',
        'reconciliations.read',
      ],
    });
    const admin = await staffWith('admin');
    expect((await get('/staff/v1/me', bearer(admin.token))).body.permissions).toEqual([...STAFF_PERMISSIONS]);
  });

  it('answers 404 for a staff path that does not exist, once authenticated', async () => {
    const { token } = await staffWith('support');
    const res = await get('/staff/v1/nothing-here', bearer(token));
    expect(res.status).toBe(404);
    expect((await fetch(`${stack.baseUrl}/staff/v1/me`, { method: 'DELETE', headers: bearer(token) })).status).toBe(
      405,
    );
  });
});

describe('staff permissions', () => {
  let server: Server;
  let baseUrl: string;

  // The API has no route yet that a role is refused; this one mounts the real middleware like it.
  beforeAll(async () => {
    const app = express();
    app.get(
      '/decide',
      staffAuth({ models: stack.database.models }),
      requireStaffPermission('refunds.decide'),
      (_req, res) => {
        res.json({ decidedBy: staffOf(res).name });
      },
    );
    app.use(errorHandler(createLogger({ LOG_LEVEL: 'silent' }, 'test')));
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP port');
    baseUrl = `http://127.0.0.1:${address.port}`;
  });
  afterAll(() => {
    server?.close();
  });

  it('refuses a support member a finance permission with 403, naming the role and what it lacks', async () => {
    const { token } = await staffWith('support');
    const res = await fetch(`${baseUrl}/decide`, { headers: bearer(token) });
    expect(res.status).toBe(403);
    const body = (await res.json()) as any;
    expect(body.error).toMatchObject({ type: 'permission_error', code: 'staff_forbidden' });
    expect(body.error.message).toMatch(/support/);
    expect(body.error.message).toMatch(/refunds\.decide/);
  });

  it('lets finance and admin members through', async () => {
    for (const role of ['finance', 'admin'] as const) {
      const { name, token } = await staffWith(role);
      const res = await fetch(`${baseUrl}/decide`, { headers: bearer(token) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ decidedBy: name });
    }
  });
});

describe('GET /staff/v1/audit', () => {
  it('lists the audit trail newest first, for one payment or operator, with times in ISO 8601', async () => {
    const { token } = await staffWith('support');
    const paymentId = uniqueId('pay');
    const models = stack.database.models;
    const start = Date.now();
    for (const [i, operator] of ['alice', 'bob', 'alice'].entries()) {
      await recordAudit(models, {
        operator,
        role: 'support',
        action: 'payments.requery',
        target: `payment:${paymentId}`,
        paymentId,
        reason: `call ${i}`,
        before: { status: 'awaiting_payment' },
        after: { status: 'paid' },
        via: 'api',
        at: new Date(start + i * 1000),
      });
    }
    const all = await get(`/staff/v1/audit?paymentId=${paymentId}`, bearer(token));
    expect(all.status).toBe(200);
    expect(all.body.entries.map((e: any) => e.reason)).toEqual(['call 2', 'call 1', 'call 0']);
    expect(all.body.entries[0]).toMatchObject({
      id: expect.stringMatching(/^aud_/),
      at: new Date(start + 2000).toISOString(),
      operator: 'alice',
      role: 'support',
      action: 'payments.requery',
      target: `payment:${paymentId}`,
      paymentId,
      refundId: null,
      before: { status: 'awaiting_payment' },
      after: { status: 'paid' },
      via: 'api',
    });

    const alice = await get(`/staff/v1/audit?paymentId=${paymentId}&operator=alice&limit=1`, bearer(token));
    expect(alice.body.entries.map((e: any) => e.reason)).toEqual(['call 2']);
  });

  it('shows the staff changes made on the command line', async () => {
    const admin = await staffWith('admin');
    const res = await get(`/staff/v1/audit?limit=200`, bearer(admin.token));
    expect(res.body.entries).toContainEqual(
      expect.objectContaining({ action: 'staff.add', target: `staff:${admin.name}`, via: 'cli' }),
    );
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1e2', 'limit'],
    ['limit=5&limit=6', 'limit'],
    ['paymentId=', 'paymentId'],
    ['operator=a&operator=b', 'operator'],
  ])('refuses %s with 422 naming the parameter', async (query, param) => {
    const { token } = await staffWith('support');
    const res = await get(`/staff/v1/audit?${query}`, bearer(token));
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ type: 'validation_error', code: 'invalid_parameter', param });
  });

  it('refuses a parameter it does not know', async () => {
    const { token } = await staffWith('support');
    const res = await get('/staff/v1/audit?paymentID=pay_x', bearer(token));
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ type: 'validation_error', code: 'unknown_parameter', param: 'paymentID' });
  });

  it('answers 200 with at most 200 entries and 50 by default', async () => {
    const { token } = await staffWith('support');
    const operator = uniqueId('bulk').toLowerCase();
    for (let i = 0; i < 60; i += 1) {
      await recordAudit(stack.database.models, {
        operator,
        role: 'support',
        action: 'payments.read',
        target: 'payment:pay_x',
        reason: 'looked',
        via: 'api',
      });
    }
    expect((await get(`/staff/v1/audit?operator=${operator}`, bearer(token))).body.entries).toHaveLength(50);
    expect((await get(`/staff/v1/audit?operator=${operator}&limit=200`, bearer(token))).body.entries).toHaveLength(60);
  });
});
