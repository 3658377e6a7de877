import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Models } from '../db/connect.js';
import { isDuplicateKeyError } from '../db/errors.js';
import type { AUDIT_VIA } from '../db/models/audit-entry.js';

export type AuditVia = (typeof AUDIT_VIA)[number];

/** Who acted and how: the staff member (or OS user) and their role when they did. */
export interface AuditActor {
  operator: string;
  role: string;
  via: AuditVia;
}

/** One audited action, as recorded. */
export interface AuditEntry extends AuditActor {
  id: string;
  at: Date;
  action: string;
  /** What the action was done to, as `kind:id` (`staff:alice`, `payment:pay_...`). */
  target: string;
  paymentId: string | null;
  refundId: string | null;
  reason: string;
  /** The state the action changed, before and after, as plain JSON; never a secret. */
  before: unknown;
  after: unknown;
}

/**
 * What to record. `id` makes the write idempotent: give one derived from the action (a workflow
 * id and step, say) and a retried activity records the action once. Without it a fresh id is
 * drawn. `at` defaults to now.
 */
export type AuditEntryInput = Omit<AuditEntry, 'id' | 'at' | 'paymentId' | 'refundId' | 'before' | 'after'> &
  Partial<Pick<AuditEntry, 'id' | 'at' | 'paymentId' | 'refundId' | 'before' | 'after'>>;

/** The role recorded for the command line: whoever runs it has the database, not a staff role. */
export const CLI_OPERATOR_ROLE = 'operator';

/** The actor of a command run on this machine: the OS user (or `cli` when there is none). */
export function cliActor(): AuditActor {
  let operator = 'cli';
  try {
    operator = userInfo().username || 'cli';
  } catch {
    // A container user without a passwd entry has no name: `cli` says where the action came from.
  }
  return { operator, role: CLI_OPERATOR_ROLE, via: 'cli' };
}

/**
 * Appends one entry to the audit trail. With an `id` that is already recorded, nothing is
 * written and `recorded` is false: the first write of a retried action stands. Entries are
 * never updated or deleted.
 */
export async function recordAudit(models: Models, entry: AuditEntryInput): Promise<{ id: string; recorded: boolean }> {
  const id = entry.id ?? `aud_${randomUUID()}`;
  try {
    await models.auditEntries.create({
      _id: id,
      at: entry.at ?? new Date(),
      operator: entry.operator,
      role: entry.role,
      action: entry.action,
      target: entry.target,
      paymentId: entry.paymentId ?? null,
      refundId: entry.refundId ?? null,
      reason: entry.reason,
      before: entry.before ?? null,
      after: entry.after ?? null,
      via: entry.via,
    });
    return { id, recorded: true };
  } catch (err) {
    if (entry.id !== undefined && isDuplicateKeyError(err)) return { id, recorded: false };
    throw err;
  }
}

export interface AuditQuery {
  paymentId?: string;
  operator?: string;
  /** How many entries at most, newest first. */
  limit: number;
}

/** The newest `limit` entries, optionally only those about one payment or by one operator. */
export async function listAudit(models: Models, query: AuditQuery): Promise<AuditEntry[]> {
  const filter: Record<string, string> = {};
  if (query.paymentId !== undefined) filter.paymentId = query.paymentId;
  if (query.operator !== undefined) filter.operator = query.operator;
  const docs = await models.auditEntries.find(filter).sort({ at: -1, _id: -1 }).limit(query.limit).lean();
  return docs.map((doc) => ({
    id: doc._id,
    at: doc.at,
    operator: doc.operator,
    role: doc.role,
    action: doc.action,
    target: doc.target,
    paymentId: doc.paymentId ?? null,
    refundId: doc.refundId ?? null,
    reason: doc.reason,
    before: doc.before as unknown,
    after: doc.after as unknown,
    via: doc.via,
  }));
}
