import { timingSafeEqual } from 'node:crypto';
import type { Models } from '../db/connect.js';
import { isDuplicateKeyError } from '../db/errors.js';
import { STAFF_NAME_PATTERN } from '../db/models/staff-member.js';
import { cliActor, recordAudit, type AuditActor } from './audit.js';
import { isStaffRole, STAFF_ROLES, type StaffRole } from './roles.js';
import { generateStaffToken, hashStaffToken } from './tokens.js';

/** A staff member as shown to people: never the token or its hash. */
export interface StaffMember {
  name: string;
  role: StaffRole;
  /** When the current token was issued. */
  createdAt: Date;
  revokedAt: Date | null;
}

/** Who a valid staff token belongs to. */
export interface StaffIdentity {
  name: string;
  role: StaffRole;
}

export type StaffErrorCode = 'invalid_name' | 'invalid_role' | 'staff_exists' | 'staff_not_found' | 'already_revoked';

/** A staff-management request the store refuses; the message says what to do instead. */
export class StaffError extends Error {
  constructor(
    readonly code: StaffErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StaffError';
  }
}

/** Who is managing staff and why; by default the OS user on the command line. */
export interface StaffChangeOptions {
  actor?: AuditActor;
  reason?: string;
}

function memberOf(doc: { _id: string; role: string; createdAt: Date; revokedAt?: Date | null }): StaffMember {
  return {
    name: doc._id,
    role: doc.role as StaffRole,
    createdAt: doc.createdAt,
    revokedAt: doc.revokedAt ?? null,
  };
}

function checkName(name: string): void {
  if (!STAFF_NAME_PATTERN.test(name)) {
    throw new StaffError(
      'invalid_name',
      `"${name}" is not a valid staff name: use 1 to 64 of a-z, 0-9, ".", "_" and "-" (for example "alice.wong")`,
    );
  }
}

/**
 * Adds a staff member with a new bearer token, returned once and stored only as its hash. A name
 * that is taken by a member who is not revoked is refused; a revoked name is reinstated with the
 * new role and token. Writes a `staff.add` audit entry.
 */
export async function addStaff(
  models: Models,
  name: string,
  role: StaffRole,
  options: StaffChangeOptions = {},
): Promise<{ member: StaffMember; token: string }> {
  checkName(name);
  if (!isStaffRole(role)) {
    throw new StaffError('invalid_role', `"${String(role)}" is not a staff role: use one of ${STAFF_ROLES.join(', ')}`);
  }
  const token = generateStaffToken();
  const fields = { role, tokenHash: hashStaffToken(token), createdAt: new Date(), revokedAt: null };
  let before: StaffMember | null = null;
  let member: StaffMember;
  try {
    member = memberOf((await models.staffMembers.create({ _id: name, name, ...fields })).toObject());
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const existing = await models.staffMembers.findById(name, { tokenHash: 0 }).lean();
    // Only a revoked member is reinstated, and only once: the filter on the revocation time keeps
    // two concurrent re-adds from both winning.
    const reinstated = existing?.revokedAt
      ? await models.staffMembers
          .findOneAndUpdate({ _id: name, revokedAt: existing.revokedAt }, { $set: fields }, { new: true })
          .lean()
      : null;
    if (!existing || !reinstated) {
      throw new StaffError(
        'staff_exists',
        `staff member "${name}" already exists: revoke it first (\`npm run staff -- revoke ${name}\`) or choose another name`,
      );
    }
    before = memberOf(existing);
    member = memberOf(reinstated);
  }
  const actor = options.actor ?? cliActor();
  await recordAudit(models, {
    ...actor,
    action: 'staff.add',
    target: `staff:${name}`,
    reason: options.reason ?? (before ? 'reinstated a revoked staff member' : 'added a staff member'),
    before: before && auditView(before),
    after: auditView(member),
  });
  return { member, token };
}

/** Every staff member, revoked ones included, by name. */
export async function listStaff(models: Models): Promise<StaffMember[]> {
  const docs = await models.staffMembers.find({}, { tokenHash: 0 }).sort({ _id: 1 }).lean();
  return docs.map(memberOf);
}

/**
 * Revokes a staff member: their token stops working at once. Writes a `staff.revoke` audit
 * entry. Refused for an unknown name and for one revoked already.
 */
export async function revokeStaff(
  models: Models,
  name: string,
  options: StaffChangeOptions = {},
): Promise<StaffMember> {
  checkName(name);
  const revokedAt = new Date();
  // No projection: FerretDB's findAndModify does not take one. memberOf leaves the hash behind.
  const stored = await models.staffMembers
    .findOneAndUpdate({ _id: name, revokedAt: null }, { $set: { revokedAt } }, { new: true })
    .lean();
  if (!stored) {
    const existing = await models.staffMembers.findById(name, { tokenHash: 0 }).lean();
    if (!existing) {
      throw new StaffError(
        'staff_not_found',
        `no staff member "${name}": \`npm run staff -- list\` shows who there is`,
      );
    }
    throw new StaffError(
      'already_revoked',
      `staff member "${name}" was revoked already at ${existing.revokedAt?.toISOString() ?? 'an unknown time'}; nothing to do`,
    );
  }
  const member = memberOf(stored);
  const actor = options.actor ?? cliActor();
  await recordAudit(models, {
    ...actor,
    action: 'staff.revoke',
    target: `staff:${name}`,
    reason: options.reason ?? 'revoked a staff member',
    before: auditView({ ...member, revokedAt: null }),
    after: auditView(member),
  });
  return member;
}

function auditView(member: StaffMember): Record<string, string | null> {
  return {
    name: member.name,
    role: member.role,
    createdAt: member.createdAt.toISOString(),
    revokedAt: member.revokedAt?.toISOString() ?? null,
  };
}

/** Compared against when no active member's hash matches, so every failure costs the same. */
const NO_MATCH = Buffer.alloc(32);

/**
 * The staff member a bearer token belongs to, or null when it is malformed, unknown or revoked.
 * Every token takes the same path: hash it, then compare it in constant time with the hash of
 * every active member (staff are tens of people, so a scan is cheaper than an index FerretDB
 * would not use for this filter anyway).
 */
export async function authenticateStaff(models: Models, token: string): Promise<StaffIdentity | null> {
  const given = Buffer.from(hashStaffToken(token), 'hex');
  const active = await models.staffMembers.find({ revokedAt: null }, { role: 1, tokenHash: 1 }).lean();
  let found: StaffIdentity | null = null;
  for (const member of active) {
    const stored = Buffer.from(member.tokenHash, 'hex');
    const matches = timingSafeEqual(given, stored.length === given.length ? stored : NO_MATCH);
    if (matches && found === null && isStaffRole(member.role)) found = { name: member._id, role: member.role };
  }
  return found;
}
