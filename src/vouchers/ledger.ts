import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';
import type { Keyring } from '../crypto/keyring.js';
import { checkVoucher } from './voucher.js';

/**
 * The voucher ledger: tamper evidence without a global lock on issuance. Vouchers are issued
 * freely (one insert each); afterwards a single sealer closes each period with a seal: the
 * sorted ids of the vouchers issued in it, the Merkle root of `sha256(voucherId:digest)` over
 * them, the previous seal's hash (a chain, so a seal cannot be dropped either), signed with the
 * voucher key. Verification recomputes every seal from the vouchers on record: a voucher deleted,
 * altered, or slipped into a sealed period afterwards is reported by id.
 */

export interface SealBody {
  /** ISO-8601 start (inclusive) and end (exclusive) of the period. */
  from: string;
  to: string;
  voucherIds: string[];
  /** Hex Merkle root over the period's leaves; the hash of the empty string for an empty period. */
  root: string;
  /** Hash of the previous seal (`sealHash`), or null for the first. */
  previous: string | null;
}

export interface Seal extends SealBody {
  signature: string;
  keyId: string;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();

export function leafOf(voucherId: string, digest: string): Buffer {
  return sha256(`${voucherId}:${digest}`);
}

/** Merkle root of the leaves in order; an odd node is paired with itself. */
export function merkleRoot(leaves: Buffer[]): string {
  if (leaves.length === 0) return sha256('').toString('hex');
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer;
      const right = level[i + 1] ?? left;
      next.push(sha256(Buffer.concat([left, right])));
    }
    level = next;
  }
  return (level[0] as Buffer).toString('hex');
}

/** The hash that the next seal links to. */
export function sealHash(seal: Seal): string {
  return sha256(canonicalJson(seal)).toString('hex');
}

export function signSeal(body: SealBody, keys: Keyring['vouchers']): Seal {
  const key = keys.keys.find((k) => k.keyId === keys.activeKeyId);
  if (!key?.privateKey) throw new Error(`voucher signing key ${keys.activeKeyId} has no private key`);
  const signature = sign(null, Buffer.from(canonicalJson(body)), createPrivateKey(key.privateKey)).toString('base64');
  return { ...body, signature, keyId: key.keyId };
}

export interface LedgerVoucher {
  voucherId: string;
  payload: string;
  digest: string;
  signature: string;
  keyId: string;
}

export type LedgerProblem =
  | { kind: 'bad_seal_signature'; seal: string }
  | { kind: 'broken_chain'; seal: string }
  | { kind: 'voucher_missing'; seal: string; voucherId: string }
  | { kind: 'voucher_altered'; seal: string; voucherId: string }
  | { kind: 'root_mismatch'; seal: string }
  | { kind: 'voucher_unsealed'; voucherId: string };

/**
 * Checks seals (oldest first) against the vouchers on record. `vouchers` maps id to voucher;
 * `issuedBefore` lists ids of vouchers whose issue time falls in a sealed period, to catch ones
 * slipped in after sealing.
 */
export function verifyLedger(
  seals: Seal[],
  vouchers: Map<string, LedgerVoucher>,
  keys: Keyring['vouchers'],
  issuedInSealedPeriods: string[],
): LedgerProblem[] {
  const problems: LedgerProblem[] = [];
  const sealed = new Set<string>();
  let previous: string | null = null;
  for (const seal of seals) {
    const { signature, keyId, ...body } = seal;
    const key = keys.keys.find((k) => k.keyId === keyId);
    const signed =
      key !== undefined &&
      verify(null, Buffer.from(canonicalJson(body)), createPublicKey(key.publicKey), Buffer.from(signature, 'base64'));
    if (!signed) problems.push({ kind: 'bad_seal_signature', seal: seal.from });
    if (seal.previous !== previous) problems.push({ kind: 'broken_chain', seal: seal.from });
    previous = sealHash(seal);
    const leaves: Buffer[] = [];
    for (const voucherId of seal.voucherIds) {
      sealed.add(voucherId);
      const voucher = vouchers.get(voucherId);
      if (!voucher) {
        problems.push({ kind: 'voucher_missing', seal: seal.from, voucherId });
        continue;
      }
      if (!checkVoucher(voucher, keys).authentic)
        problems.push({ kind: 'voucher_altered', seal: seal.from, voucherId });
      leaves.push(leafOf(voucherId, voucher.digest));
    }
    if (leaves.length === seal.voucherIds.length && merkleRoot(leaves) !== seal.root) {
      problems.push({ kind: 'root_mismatch', seal: seal.from });
    }
  }
  for (const voucherId of issuedInSealedPeriods) {
    if (!sealed.has(voucherId)) problems.push({ kind: 'voucher_unsealed', voucherId });
  }
  return problems;
}
