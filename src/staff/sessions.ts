import { createHash, randomBytes } from 'node:crypto';
import type { Models } from '../db/connect.js';
import { recordAudit } from './audit.js';
import { isStaffRole } from './roles.js';
import { authenticateStaff, type StaffIdentity } from './store.js';
import { hashStaffToken } from './tokens.js';

/** A dashboard session id: 32 random bytes in base64url, held only by the browser's cookie. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The stored key of a session: hex SHA-256 of its id (256 random bits need no salt). */
function sessionKey(sessionId: string): string {
  return createHash('sha256').update(sessionId, 'utf8').digest('hex');
}

export interface StartedSession {
  sessionId: string;
  expiresAt: Date;
  staff: StaffIdentity;
}

/**
 * Signs a staff member in to the dashboard with their staff token: null when the token is not a
 * valid, active one (see {@link authenticateStaff}). The session lasts `minutes`; the sign-in is
 * audited (`dashboard.sign_in`).
 */
export async function startDashboardSession(
  models: Models,
  token: string,
  minutes: number,
  now = new Date(),
): Promise<StartedSession | null> {
  const staff = await authenticateStaff(models, token);
  if (!staff) return null;
  const sessionId = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + minutes * 60_000);
  await models.dashboardSessions.create({
    _id: sessionKey(sessionId),
    staffName: staff.name,
    tokenHash: hashStaffToken(token),
    createdAt: now,
    expiresAt,
  });
  await recordAudit(models, {
    operator: staff.name,
    role: staff.role,
    via: 'dashboard',
    action: 'dashboard.sign_in',
    target: `staff:${staff.name}`,
    reason: 'signed in to the dashboard',
    after: { expiresAt: expiresAt.toISOString() },
  });
  return { sessionId, expiresAt, staff };
}

/**
 * Who a dashboard session belongs to, or null when the id is malformed or unknown, the session
 * has expired, or its staff member was revoked or given a new token since it started. Two reads by
 * `_id` (the session, then the staff member), on every request: a revocation counts at once.
 */
export async function dashboardSessionIdentity(
  models: Models,
  sessionId: string,
  now = new Date(),
): Promise<StaffIdentity | null> {
  if (!SESSION_ID_PATTERN.test(sessionId)) return null;
  const session = await models.dashboardSessions.findById(sessionKey(sessionId)).lean();
  if (!session || session.expiresAt.getTime() <= now.getTime()) return null;
  const member = await models.staffMembers.findById(session.staffName).lean();
  if (!member || member.revokedAt || member.tokenHash !== session.tokenHash || !isStaffRole(member.role)) return null;
  return { name: member._id, role: member.role };
}

/** Ends a dashboard session (sign-out), audited as `dashboard.sign_out` when there was one. */
export async function endDashboardSession(models: Models, sessionId: string): Promise<boolean> {
  if (!SESSION_ID_PATTERN.test(sessionId)) return false;
  const staff = await dashboardSessionIdentity(models, sessionId);
  const { deletedCount } = await models.dashboardSessions.deleteOne({ _id: sessionKey(sessionId) });
  if (deletedCount === 0 || !staff) return deletedCount > 0;
  await recordAudit(models, {
    operator: staff.name,
    role: staff.role,
    via: 'dashboard',
    action: 'dashboard.sign_out',
    target: `staff:${staff.name}`,
    reason: 'signed out of the dashboard',
  });
  return true;
}
