import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateStaffToken, hashStaffToken, STAFF_TOKEN_PATTERN } from '../../src/staff/tokens.js';

/** Staff bearer tokens (src/staff/tokens.ts): their shape, and the hash that is stored instead. */
describe('staff tokens', () => {
  it('is kpstaff_ and 32 random bytes in base64url', () => {
    const token = generateStaffToken();
    expect(token).toMatch(STAFF_TOKEN_PATTERN);
    expect(token).toMatch(/^kpstaff_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice('kpstaff_'.length), 'base64url')).toHaveLength(32);
  });

  it('never repeats', () => {
    const tokens = new Set(Array.from({ length: 1_000 }, generateStaffToken));
    expect(tokens.size).toBe(1_000);
  });

  it('is stored as the hex SHA-256 of the whole token', () => {
    const token = generateStaffToken();
    expect(hashStaffToken(token)).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hashStaffToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashStaffToken(token)).not.toBe(hashStaffToken(generateStaffToken()));
  });
});
