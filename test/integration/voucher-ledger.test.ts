import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createVoucherActivities } from '../../activities/vouchers.js';
import { generateKeyring, type Keyring } from '../../src/crypto/keyring.js';
import { connectDatabase, type Database } from '../../src/db/connect.js';
import { sealVoucherPeriods, verifyStoredLedger } from '../../src/vouchers/ledger-store.js';
import { signVoucher, type VoucherFacts } from '../../src/vouchers/voucher.js';
import { testPaymentId, uniqueId } from '../support/builders.js';
import { withDatabase } from '../support/stack.js';

let database: Database;
let keys: Keyring['vouchers'];

beforeEach(async () => {
  database = await connectDatabase(withDatabase(inject('mongoUri'), `kp_ledger_${uniqueId('l').replace(/-/g, '_')}`), {
    timeoutMs: 5_000,
  });
  keys = generateKeyring().vouchers;
});
afterEach(async () => {
  await database.connection.dropDatabase();
  await database.close();
});

function facts(): VoucherFacts {
  const orderId = uniqueId('ord');
  return {
    paymentId: testPaymentId(orderId),
    orderId,
    amount: 19_900,
    currency: 'CNY',
    channel: 'alipay',
    channelTradeNo: '2026112522001400000000000001',
    items: [{ courseId: 'ts-101', title: 'TypeScript 101', unitAmount: 19_900, quantity: 1 }],
    paidAt: new Date().toISOString(),
    issuedAt: new Date().toISOString(),
  };
}

/** Issues `n` vouchers the way the saga does, then lets their one-second period end and seals it. */
async function issueAndSeal(n: number) {
  const activities = createVoucherActivities({ models: database.models, voucherKeys: keys });
  const issued = [];
  for (let i = 0; i < n; i += 1) issued.push(await activities.issueVoucher(facts()));
  await new Promise((r) => setTimeout(r, 1_100));
  const now = new Date();
  const seals = await sealVoucherPeriods(database.models, keys, { periodSeconds: 1, graceSeconds: 0, now });
  return { issued, seals, now };
}

describe('the voucher ledger', () => {
  it('seals the vouchers of each finished period and verifies intact', async () => {
    const { issued, seals, now } = await issueAndSeal(3);
    expect(seals.flatMap((s) => s.voucherIds).sort()).toEqual(issued.map((v) => v.voucherId).sort());
    expect(await verifyStoredLedger(database.models, keys)).toMatchObject({ vouchers: 3, problems: [] });
    // Sealing again at the same moment writes nothing new for periods already sealed (a later
    // moment may have finished another, empty period on a slow machine).
    expect(await sealVoucherPeriods(database.models, keys, { periodSeconds: 1, graceSeconds: 0, now })).toEqual([]);
  });

  it('detects a deleted voucher', async () => {
    const { issued } = await issueAndSeal(3);
    const victim = issued[1]!.voucherId;
    await database.models.vouchers.deleteOne({ _id: victim });
    const { problems } = await verifyStoredLedger(database.models, keys);
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'voucher_missing', voucherId: victim }));
  });

  it('detects an altered voucher', async () => {
    const { issued } = await issueAndSeal(2);
    const victim = issued[0]!;
    await database.models.vouchers.updateOne(
      { _id: victim.voucherId },
      { $set: { payload: victim.payload.replace('"amount":19900', '"amount":1') } },
    );
    const { problems } = await verifyStoredLedger(database.models, keys);
    expect(problems).toContainEqual(expect.objectContaining({ kind: 'voucher_altered', voucherId: victim.voucherId }));
  });

  it('detects a voucher slipped into a sealed period, even one signed with the real key', async () => {
    const { seals } = await issueAndSeal(1);
    const forged = signVoucher(facts(), keys);
    await database.models.vouchers.create({
      ...forged,
      _id: forged.voucherId,
      orderId: 'ord-forged',
      createdAt: new Date(Date.parse(seals[0]!.from) + 10),
    });
    const { problems } = await verifyStoredLedger(database.models, keys);
    expect(problems).toContainEqual({ kind: 'voucher_unsealed', voucherId: forged.voucherId });
  });

  it('detects a deleted seal by the broken chain', async () => {
    await issueAndSeal(1);
    await new Promise((r) => setTimeout(r, 1_100));
    await sealVoucherPeriods(database.models, keys, { periodSeconds: 1, graceSeconds: 0 });
    const seals = await database.models.voucherSeals.find({}).sort({ from: 1 }).lean();
    expect(seals.length).toBeGreaterThanOrEqual(2);
    await database.models.voucherSeals.deleteOne({ _id: seals[0]!._id });
    const { problems } = await verifyStoredLedger(database.models, keys);
    expect(problems.map((p) => p.kind)).toContain('broken_chain');
  });
});
