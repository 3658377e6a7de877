import { generateKeyPairSync } from 'node:crypto';
import { generateAtRestKeys, generateCodecKeys, keyIdOf, type Keyring } from './keyring.js';

/**
 * Key rotation of the keyring's rotatable sections, as pure functions from one keyring to the
 * next (the `keys:rotate` tool does the file I/O, see src/tools/rotate-keys.ts).
 *
 * Rotating adds a fresh key to the section and makes it the active one; every older key stays,
 * so workflow histories, encrypted fields and vouchers written under it still decode or verify.
 * Retiring removes one older key for good.
 */
export const ROTATABLE_SECTIONS = ['codec', 'at-rest', 'vouchers'] as const;
export type RotatableSection = (typeof ROTATABLE_SECTIONS)[number];

export function isRotatableSection(value: string): value is RotatableSection {
  return (ROTATABLE_SECTIONS as readonly string[]).includes(value);
}

/** The keyring property each section lives in, and what its keys protect (for messages). */
export const SECTIONS: Record<RotatableSection, { property: 'temporalCodec' | 'atRest' | 'vouchers'; what: string }> = {
  codec: { property: 'temporalCodec', what: 'Temporal workflow history master key' },
  'at-rest': { property: 'atRest', what: 'MongoDB at-rest field encryption key' },
  vouchers: { property: 'vouchers', what: 'voucher and ledger-seal signing key' },
};

/** The rotation or retirement asked for cannot be done; the message says what to do instead. */
export class KeyRotationError extends Error {
  override readonly name = 'KeyRotationError';
}

export interface RotationResult {
  keyring: Keyring;
  section: RotatableSection;
  newKeyId: string;
  previousActiveKeyId: string;
  /** Key ids the section still holds besides the new one, oldest first as stored. */
  keptKeyIds: string[];
  /** Older voucher keys whose private half was dropped: they still verify, no longer sign. */
  privateKeysDropped: string[];
}

export interface RetirementResult {
  keyring: Keyring;
  section: RotatableSection;
  retiredKeyId: string;
  activeKeyId: string;
  remainingKeyIds: string[];
  /** What stops working once the key is gone; the tool shows it and asks for `--yes`. */
  warning: string;
}

function sectionOf(keyring: Keyring, section: RotatableSection): { activeKeyId: string; keys: { keyId: string }[] } {
  return keyring[SECTIONS[section].property];
}

function generateVoucherKey(now: Date): Keyring['vouchers']['keys'][number] {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pair = {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  return { keyId: keyIdOf('vk', pair.publicKey), createdAt: now.toISOString(), ...pair };
}

/**
 * Returns a copy of `keyring` in which `section` has a freshly generated active key and keeps
 * every older one. For vouchers the older keys lose their private half: only the active key
 * signs, and verifying older vouchers and seals needs nothing but the public key.
 */
export function rotateKeys(keyring: Keyring, section: RotatableSection, now = new Date()): RotationResult {
  const current = sectionOf(keyring, section);
  const previousActiveKeyId = current.activeKeyId;
  const keptKeyIds = current.keys.map((k) => k.keyId);
  let next: Keyring;
  let newKeyId: string;
  let privateKeysDropped: string[] = [];
  switch (section) {
    case 'codec': {
      const fresh = generateCodecKeys(now);
      newKeyId = fresh.activeKeyId;
      next = {
        ...keyring,
        temporalCodec: { activeKeyId: newKeyId, keys: [...keyring.temporalCodec.keys, ...fresh.keys] },
      };
      break;
    }
    case 'at-rest': {
      const fresh = generateAtRestKeys(now);
      newKeyId = fresh.activeKeyId;
      next = { ...keyring, atRest: { activeKeyId: newKeyId, keys: [...keyring.atRest.keys, ...fresh.keys] } };
      break;
    }
    case 'vouchers': {
      const fresh = generateVoucherKey(now);
      newKeyId = fresh.keyId;
      privateKeysDropped = keyring.vouchers.keys.filter((k) => k.privateKey !== undefined).map((k) => k.keyId);
      const older = keyring.vouchers.keys.map(({ keyId, createdAt, publicKey }) => ({ keyId, createdAt, publicKey }));
      next = { ...keyring, vouchers: { activeKeyId: newKeyId, keys: [...older, fresh] } };
      break;
    }
  }
  // Key ids derive from fresh random key material, so a clash means something is badly wrong
  // (a broken random source); writing it would make two keys answer to one id.
  if (keptKeyIds.includes(newKeyId)) {
    throw new KeyRotationError(
      `the new ${section} key id ${newKeyId} is already in the keyring: run the rotation again`,
    );
  }
  return { keyring: next, section, newKeyId, previousActiveKeyId, keptKeyIds, privateKeysDropped };
}

function retirementWarning(section: RotatableSection, keyId: string): string {
  switch (section) {
    case 'codec':
      return (
        `workflow histories encrypted under codec key ${keyId} can no longer be read: workers cannot replay ` +
        'those workflows, and the Temporal Web UI shows their payloads as undecodable. Only retire it once ' +
        'every workflow that ran under it is closed and past the namespace retention period.'
      );
    case 'at-rest':
      return (
        `MongoDB fields encrypted under at-rest key ${keyId} can no longer be read. Only retire it once every ` +
        'document written under it has been re-encrypted under a newer key or deleted.'
      );
    case 'vouchers':
      return (
        `vouchers and ledger seals signed with voucher key ${keyId} no longer verify: the key leaves the ` +
        'published JWKS, and ledger:verify reports those seals and vouchers as tampered with.'
      );
  }
}

/**
 * Returns a copy of `keyring` without the older key `keyId` of `section`. The active key cannot
 * be retired: rotate first, then retire the key that was active before.
 */
export function retireKey(keyring: Keyring, section: RotatableSection, keyId: string): RetirementResult {
  const current = sectionOf(keyring, section);
  const ids = current.keys.map((k) => k.keyId);
  if (!ids.includes(keyId)) {
    throw new KeyRotationError(`the ${section} section has no key ${keyId}; its keys are: ${ids.join(', ')}`);
  }
  if (keyId === current.activeKeyId) {
    throw new KeyRotationError(
      `${keyId} is the active ${section} key and cannot be retired: rotate the ${section} section first, ` +
        'then retire this key once nothing needs it any more',
    );
  }
  const property = SECTIONS[section].property;
  const next: Keyring = { ...keyring };
  switch (property) {
    case 'temporalCodec':
      next.temporalCodec = {
        ...keyring.temporalCodec,
        keys: keyring.temporalCodec.keys.filter((k) => k.keyId !== keyId),
      };
      break;
    case 'atRest':
      next.atRest = { ...keyring.atRest, keys: keyring.atRest.keys.filter((k) => k.keyId !== keyId) };
      break;
    case 'vouchers':
      next.vouchers = { ...keyring.vouchers, keys: keyring.vouchers.keys.filter((k) => k.keyId !== keyId) };
      break;
  }
  return {
    keyring: next,
    section,
    retiredKeyId: keyId,
    activeKeyId: current.activeKeyId,
    remainingKeyIds: ids.filter((id) => id !== keyId),
    warning: retirementWarning(section, keyId),
  };
}
