import { createHash, randomBytes } from 'node:crypto';

/** What every staff token starts with, so a leaked one is recognisable (and scannable) as ours. */
export const STAFF_TOKEN_PREFIX = 'kpstaff_';
/** A staff token: the prefix and 32 random bytes in base64url (43 characters, no padding). */
export const STAFF_TOKEN_PATTERN = /^kpstaff_[A-Za-z0-9_-]{43}$/;

/** A new bearer token for a staff member. Shown once; only its hash is stored. */
export function generateStaffToken(): string {
  return `${STAFF_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * The stored form of a staff token: hex SHA-256. The token is 256 random bits, so a plain hash
 * (no salt, no stretching) is enough to make a leaked `staffMembers` collection useless.
 */
export function hashStaffToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
