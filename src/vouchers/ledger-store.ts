import type { Keyring } from '../crypto/keyring.js';
import type { Models } from '../db/connect.js';
import { isDuplicateKeyError } from '../db/errors.js';
import {
  leafOf,
  merkleRoot,
  sealHash,
  signSeal,
  verifyLedger,
  type LedgerProblem,
  type LedgerVoucher,
  type Seal,
} from './ledger.js';

export interface SealingOptions {
  /** Length of a ledger period. */
  periodSeconds: number;
  /** How long after a period ends before it is sealed, so in-flight issues land first. */
  graceSeconds: number;
  /** At most this many periods per call (catching up after downtime). */
  maxPeriods?: number;
  now?: Date;
}

const toSeal = (doc: Seal & { _id?: unknown }): Seal => ({
  from: doc.from,
  to: doc.to,
  voucherIds: [...doc.voucherIds],
  root: doc.root,
  previous: doc.previous ?? null,
  signature: doc.signature,
  keyId: doc.keyId,
});

async function allSeals(models: Models): Promise<Seal[]> {
  const docs = await models.voucherSeals.find({}).lean<(Seal & { _id: string })[]>();
  return docs.map(toSeal).sort((a, b) => (a.from < b.from ? -1 : 1));
}

/**
 * Seals every finished period not sealed yet, oldest first. Idempotent and safe to run from
 * several workers: a seal is an insert keyed by its period, so a second sealer of the same period
 * loses and stops. Returns the seals written.
 */
export async function sealVoucherPeriods(
  models: Models,
  keys: Keyring['vouchers'],
  options: SealingOptions,
): Promise<Seal[]> {
  const periodMs = options.periodSeconds * 1000;
  const now = (options.now ?? new Date()).getTime();
  const seals = await allSeals(models);
  let last = seals.at(-1);
  let from: number;
  if (last) {
    from = Date.parse(last.to);
  } else {
    const first = await models.vouchers.find({}, { createdAt: 1 }).sort({ createdAt: 1 }).limit(1).lean();
    const firstAt = first[0]?.createdAt?.getTime();
    if (firstAt === undefined) return [];
    from = Math.floor(firstAt / periodMs) * periodMs;
  }
  const written: Seal[] = [];
  for (let n = 0; n < (options.maxPeriods ?? 288); n += 1) {
    const to = from + periodMs;
    if (to + options.graceSeconds * 1000 > now) break;
    const issued = await models.vouchers
      .find({ createdAt: { $gte: new Date(from), $lt: new Date(to) } }, { voucherId: 1, digest: 1 })
      .lean();
    issued.sort((a, b) => (a.voucherId < b.voucherId ? -1 : 1));
    const seal = signSeal(
      {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        voucherIds: issued.map((v) => v.voucherId),
        root: merkleRoot(issued.map((v) => leafOf(v.voucherId, v.digest))),
        previous: last ? sealHash(last) : null,
      },
      keys,
    );
    try {
      await models.voucherSeals.create({ _id: seal.from, ...seal, sealedAt: new Date() });
    } catch (err) {
      if (isDuplicateKeyError(err)) break;
      throw err;
    }
    written.push(seal);
    last = seal;
    from = to;
  }
  return written;
}

/** Verifies every seal against the vouchers on record; an empty list means the ledger is intact. */
export async function verifyStoredLedger(
  models: Models,
  keys: Keyring['vouchers'],
): Promise<{ seals: number; vouchers: number; problems: LedgerProblem[] }> {
  const seals = await allSeals(models);
  const docs = await models.vouchers
    .find({}, { voucherId: 1, payload: 1, digest: 1, signature: 1, keyId: 1, createdAt: 1 })
    .lean();
  const vouchers = new Map<string, LedgerVoucher>(docs.map((d) => [d.voucherId, d]));
  const sealedUntil = seals.at(-1)?.to;
  const issuedInSealed = sealedUntil
    ? docs.filter((d) => d.createdAt && d.createdAt.toISOString() < sealedUntil).map((d) => d.voucherId)
    : [];
  return { seals: seals.length, vouchers: docs.length, problems: verifyLedger(seals, vouchers, keys, issuedInSealed) };
}
