import type { Keyring } from '../src/crypto/keyring.js';
import type { Models } from '../src/db/connect.js';
import { isDuplicateKeyError } from '../src/db/errors.js';
import { sealVoucherPeriods } from '../src/vouchers/ledger-store.js';
import {
  signVoucher,
  toSignedVoucher,
  voucherIdFor,
  type SignedVoucher,
  type VoucherFacts,
} from '../src/vouchers/voucher.js';

export interface VoucherDeps {
  models: Models;
  voucherKeys: Keyring['vouchers'];
}

/**
 * Voucher issuance: one per payment. The voucher id derives from the payment id and both are
 * unique in MongoDB, so a retried or replayed issue returns the voucher issued first.
 */
export function createVoucherActivities({ models, voucherKeys }: VoucherDeps) {
  return {
    async issueVoucher(facts: VoucherFacts): Promise<SignedVoucher> {
      const existing = await models.vouchers.findOne({ _id: voucherIdFor(facts.paymentId) }).lean();
      if (existing) return toSignedVoucher(existing);
      const voucher = signVoucher(facts, voucherKeys);
      try {
        await models.vouchers.create({ ...voucher, _id: voucher.voucherId, orderId: facts.orderId });
        return voucher;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const first = await models.vouchers.findOne({ _id: voucherIdFor(facts.paymentId) }).lean();
        if (!first) throw err;
        return toSignedVoucher(first);
      }
    },

    /** Seals the finished ledger periods (run by the voucher-ledger schedule); see src/vouchers/ledger.ts. */
    async sealVoucherLedger(options: { periodSeconds: number; graceSeconds: number }): Promise<number> {
      return (await sealVoucherPeriods(models, voucherKeys, options)).length;
    },

    /** Marks the payment's voucher void (refunded payment). Idempotent; a payment without one is fine. */
    async voidVoucher({ paymentId, reason }: { paymentId: string; reason: string }): Promise<void> {
      const _id = voucherIdFor(paymentId);
      const voucher = await models.vouchers.findOne({ _id }, { status: 1 }).lean();
      if (voucher?.status !== 'valid') return;
      await models.vouchers.updateOne({ _id }, { $set: { status: 'void', voidReason: reason, voidedAt: new Date() } });
    },
  };
}
