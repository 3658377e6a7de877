import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connectDatabase, type Database, type Models } from '../../../src/db/connect.js';
import { listAudit, recordAudit, type AuditEntryInput } from '../../../src/staff/audit.js';
import { DEV_ADMIN_NAME, devAdminTokenPath, ensureDevAdmin } from '../../../src/staff/dev-admin.js';
import { addStaff, authenticateStaff, listStaff, revokeStaff } from '../../../src/staff/store.js';
import { generateStaffToken } from '../../../src/staff/tokens.js';
import { uniqueId } from '../../support/builders.js';
import { withDatabase } from '../../support/stack.js';

/** Staff identities and the audit trail (src/staff) against a real MongoDB-wire server. */
let database: Database;
let models: Models;

/** A database of the test's own, so parallel tests never see each other's staff. */
async function openDatabase(): Promise<Database> {
  const name = uniqueId('kp_staff').replace(/-/g, '_');
  return connectDatabase(withDatabase(inject('mongoUri'), name), { timeoutMs: 10_000 });
}

beforeAll(async () => {
  database = await openDatabase();
  models = database.models;
});
afterAll(async () => {
  await database?.connection.dropDatabase();
  await database?.close();
});

const staffName = () => uniqueId('staff').toLowerCase();

function buildAuditEntry(overrides: Partial<AuditEntryInput> = {}): AuditEntryInput {
  return {
    operator: 'alice',
    role: 'support',
    action: 'payments.requery',
    target: 'payment:pay_x',
    paymentId: 'pay_x',
    reason: 'customer says they paid',
    via: 'api',
    ...overrides,
  };
}

describe('staff store', () => {
  it('adds a member whose token authenticates as them, and lists them without the token', async () => {
    const name = staffName();
    const { member, token } = await addStaff(models, name, 'support');
    expect(member).toMatchObject({ name, role: 'support', revokedAt: null });
    expect(await authenticateStaff(models, token)).toEqual({ name, role: 'support' });

    const listed = (await listStaff(models)).find((m) => m.name === name);
    expect(listed).toEqual({ name, role: 'support', createdAt: member.createdAt, revokedAt: null });
    expect(JSON.stringify(await listStaff(models))).not.toContain('tokenHash');
    const stored = await models.staffMembers.findById(name).lean();
    expect(stored?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('refuses a name already taken by an active member, and the member keeps their token', async () => {
    const name = staffName();
    const { token } = await addStaff(models, name, 'support');
    await expect(addStaff(models, name, 'admin')).rejects.toMatchObject({
      code: 'staff_exists',
      message: expect.stringMatching(/revoke/),
    });
    expect(await authenticateStaff(models, token)).toEqual({ name, role: 'support' });
  });

  it('when the same name is added five times at once, exactly one add wins', async () => {
    const name = staffName();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => addStaff(models, name, 'finance')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await models.auditEntries.countDocuments({ action: 'staff.add', target: `staff:${name}` })).toBe(1);
  });

  it('refuses names outside a-z 0-9 . _ - and longer than 64', async () => {
    for (const name of ['', 'Alice', 'al ice', 'a/b', 'x'.repeat(65), '$where']) {
      await expect(addStaff(models, name, 'support'), name).rejects.toMatchObject({ code: 'invalid_name' });
    }
    await expect(addStaff(models, staffName(), 'root' as never)).rejects.toMatchObject({ code: 'invalid_role' });
  });

  it('revokes a member: their token stops working, and a second revoke or an unknown name is refused', async () => {
    const name = staffName();
    const { token } = await addStaff(models, name, 'finance');
    const revoked = await revokeStaff(models, name);
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(await authenticateStaff(models, token)).toBeNull();
    await expect(revokeStaff(models, name)).rejects.toMatchObject({ code: 'already_revoked' });
    await expect(revokeStaff(models, staffName())).rejects.toMatchObject({ code: 'staff_not_found' });
  });

  it('re-adding a revoked name issues a new token with the new role; the old token stays dead', async () => {
    const name = staffName();
    const first = await addStaff(models, name, 'support');
    await revokeStaff(models, name);
    const second = await addStaff(models, name, 'finance');
    expect(second.token).not.toBe(first.token);
    expect(second.member).toMatchObject({ name, role: 'finance', revokedAt: null });
    expect(await authenticateStaff(models, second.token)).toEqual({ name, role: 'finance' });
    expect(await authenticateStaff(models, first.token)).toBeNull();
  });

  it('authenticates nothing from a token it never issued, malformed or not', async () => {
    for (const token of [generateStaffToken(), '', 'kpstaff_', 'Bearer x', 'x'.repeat(10_000)]) {
      expect(await authenticateStaff(models, token)).toBeNull();
    }
  });

  it('audits every add and revoke as done on the command line, with before and after', async () => {
    const name = staffName();
    await addStaff(models, name, 'support');
    await revokeStaff(models, name, { reason: 'left the company' });
    await addStaff(models, name, 'admin');
    const entries = (await listAudit(models, { limit: 200 })).filter((e) => e.target === `staff:${name}`);
    expect(entries.map((e) => e.action)).toEqual(['staff.add', 'staff.revoke', 'staff.add']);
    for (const entry of entries) {
      expect(entry).toMatchObject({ via: 'cli', role: 'operator', paymentId: null, refundId: null });
      expect(entry.operator).toMatch(/\S/);
      expect(JSON.stringify(entry)).not.toMatch(/tokenHash|kpstaff_/);
    }
    const [reAdd, revoke, add] = entries;
    expect(add).toMatchObject({ before: null, after: { name, role: 'support', revokedAt: null } });
    expect(revoke).toMatchObject({ reason: 'left the company', before: { revokedAt: null } });
    expect((revoke?.after as { revokedAt: string }).revokedAt).toMatch(/^\d{4}-/);
    expect(reAdd).toMatchObject({ before: { role: 'support' }, after: { role: 'admin', revokedAt: null } });
  });
});

describe('audit trail', () => {
  it('when a retried activity records the same entry id five times, one entry is written', async () => {
    const id = uniqueId('aud');
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, attempt) =>
        recordAudit(models, buildAuditEntry({ id, reason: `attempt ${attempt}` })),
      ),
    );
    expect(results.filter((r) => r.recorded)).toHaveLength(1);
    expect(results.every((r) => r.id === id)).toBe(true);
    expect(await models.auditEntries.countDocuments({ _id: id })).toBe(1);
  });

  it('lists entries newest first, for one payment or one operator, at most limit of them', async () => {
    const paymentId = uniqueId('pay');
    const operator = uniqueId('op').toLowerCase();
    const start = Date.now();
    for (let i = 0; i < 4; i += 1) {
      await recordAudit(
        models,
        buildAuditEntry({ paymentId, operator, at: new Date(start + i * 1000), reason: `step ${i}` }),
      );
    }
    await recordAudit(models, buildAuditEntry({ paymentId, operator: 'someone-else', at: new Date(start + 9000) }));

    const forPayment = await listAudit(models, { paymentId, limit: 50 });
    expect(forPayment.map((e) => e.operator)).toEqual(['someone-else', operator, operator, operator, operator]);
    const byOperator = await listAudit(models, { operator, limit: 2 });
    expect(byOperator.map((e) => e.reason)).toEqual(['step 3', 'step 2']);
    expect(byOperator[0]?.at).toEqual(new Date(start + 3000));
  });

  it('keeps before and after as recorded, and refuses to update or delete an entry', async () => {
    const { id } = await recordAudit(
      models,
      buildAuditEntry({ before: { status: 'failed', attempts: 2 }, after: { status: 'pending', tags: [] } }),
    );
    const [entry] = await listAudit(models, { operator: 'alice', limit: 200 }).then((all) =>
      all.filter((e) => e.id === id),
    );
    expect(entry).toMatchObject({ before: { status: 'failed', attempts: 2 }, after: { status: 'pending', tags: [] } });

    await expect(models.auditEntries.updateOne({ _id: id }, { $set: { reason: 'rewritten' } })).rejects.toThrow(
      /append-only/,
    );
    await expect(models.auditEntries.deleteOne({ _id: id })).rejects.toThrow(/append-only/);
    await expect(models.auditEntries.findOneAndDelete({ _id: id })).rejects.toThrow(/append-only/);
    const doc = await models.auditEntries.findById(id);
    doc!.reason = 'rewritten';
    await expect(doc!.save()).rejects.toThrow(/append-only/);
    expect((await models.auditEntries.findById(id).lean())?.reason).toBe('customer says they paid');
  });
});

describe('development admin (npm start)', () => {
  it('creates dev-admin on an empty database, writes its token 0600, then reuses it', async () => {
    const own = await openDatabase();
    const keysDir = join(mkdtempSync(join(tmpdir(), 'kp-staff-keys-')), 'keys');
    try {
      expect(await ensureDevAdmin(own.models, keysDir)).toEqual({
        state: 'created',
        tokenPath: devAdminTokenPath(keysDir),
      });
      const path = devAdminTokenPath(keysDir);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const token = readFileSync(path, 'utf8').trim();
      expect(await authenticateStaff(own.models, token)).toEqual({ name: DEV_ADMIN_NAME, role: 'admin' });

      expect((await ensureDevAdmin(own.models, keysDir)).state).toBe('reused');
      expect(readFileSync(path, 'utf8').trim()).toBe(token);
      expect(await own.models.staffMembers.countDocuments({})).toBe(1);
    } finally {
      await own.connection.dropDatabase();
      await own.close();
      rmSync(join(keysDir, '..'), { recursive: true, force: true });
    }
  });

  it('mints no token when staff exist already, nor for a stale token file', async () => {
    const own = await openDatabase();
    const keysDir = mkdtempSync(join(tmpdir(), 'kp-staff-keys-'));
    try {
      await addStaff(own.models, 'alice', 'admin');
      writeFileSync(devAdminTokenPath(keysDir), `${generateStaffToken()}\n`);
      expect((await ensureDevAdmin(own.models, keysDir)).state).toBe('skipped');
      expect(await own.models.staffMembers.exists({ _id: DEV_ADMIN_NAME })).toBeNull();
    } finally {
      await own.connection.dropDatabase();
      await own.close();
      rmSync(keysDir, { recursive: true, force: true });
    }
  });
});
