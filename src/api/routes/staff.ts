import { Router } from 'express';
import { z } from 'zod';
import type { Models } from '../../db/connect.js';
import { listAudit, type AuditEntry } from '../../staff/audit.js';
import { permissionsOf } from '../../staff/roles.js';
import { methodNotAllowed } from '../errors.js';
import { requireStaffPermission, staffOf } from '../staff-auth.js';
import { parseOrThrow } from '../validation.js';

/** Entries `GET /audit` answers with when no `limit` is given, and the most it answers with. */
export const AUDIT_DEFAULT_LIMIT = 50;
export const AUDIT_MAX_LIMIT = 200;

/** `?limit=`: a page size of 1 to 200, for every staff list. */
export const limitQuery = z
  .string()
  .regex(/^[1-9][0-9]{0,2}$/, `expected a whole number from 1 to ${AUDIT_MAX_LIMIT}`)
  .transform(Number)
  .pipe(z.number().max(AUDIT_MAX_LIMIT, `expected a whole number from 1 to ${AUDIT_MAX_LIMIT}`))
  .optional()
  .describe(`A whole number from 1 to ${AUDIT_MAX_LIMIT}; ${AUDIT_DEFAULT_LIMIT} when left out.`);

export const auditQuerySchema = z.strictObject({
  paymentId: z.string().min(1).max(128).optional(),
  operator: z.string().min(1).max(128).optional(),
  limit: limitQuery,
});

function auditEntryView(entry: AuditEntry) {
  return { ...entry, at: entry.at.toISOString() };
}

export interface StaffRouteDeps {
  models: Models;
}

/**
 * The staff API, mounted at `/staff/v1` behind `staffAuth` (every route has `res.locals.staff`).
 * `GET /me`: who the token belongs to and what their role may do. `GET /audit`: the audit trail,
 * newest first, optionally for one `paymentId` or `operator`, at most `limit` entries
 * (default 50, at most 200); needs `audit.read`.
 */
export function staffRoutes({ models }: StaffRouteDeps): Router {
  const router = Router();
  router
    .route('/me')
    .get((_req, res) => {
      const { name, role } = staffOf(res);
      res.json({ name, role, permissions: permissionsOf(role) });
    })
    .all(methodNotAllowed(['GET']));
  router
    .route('/audit')
    .get(requireStaffPermission('audit.read'), async (req, res) => {
      const query = parseOrThrow(auditQuerySchema, req.query);
      const entries = await listAudit(models, {
        ...(query.paymentId === undefined ? {} : { paymentId: query.paymentId }),
        ...(query.operator === undefined ? {} : { operator: query.operator }),
        limit: query.limit ?? AUDIT_DEFAULT_LIMIT,
      });
      res.json({ entries: entries.map(auditEntryView) });
    })
    .all(methodNotAllowed(['GET']));
  return router;
}
