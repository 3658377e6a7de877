import { Router, type Request } from 'express';
import { z } from 'zod';
import { PAYMENT_CHANNELS } from '../../../domain/payment.js';
import { isCalendarDate, RESOLUTION_ACTIONS } from '../../../domain/reconciliation.js';
import type { ReconciliationService } from '../../payments/reconciliation.js';
import type { AuditVia } from '../../staff/audit.js';
import { methodNotAllowed } from '../errors.js';
import { createStaffReasonSchema } from '../schemas.js';
import { requireStaffPermission, staffOf } from '../staff-auth.js';
import { parseOrThrow } from '../validation.js';
import { limitQuery } from './staff.js';

export const reconciliationRunSchema = z.strictObject({
  channel: z.enum(PAYMENT_CHANNELS).describe('A channel that is enabled here (each serves a bill).'),
  date: z
    .string()
    .refine(isCalendarDate, 'expected a day as YYYY-MM-DD')
    .describe('The Beijing day whose bill to reconcile; today reconciles the day so far.'),
});

export const exceptionListSchema = z.strictObject({
  state: z.enum(['open', 'resolved']).optional().describe('open or resolved; both when left out.'),
  limit: limitQuery,
});

export const exceptionResolutionSchema = createStaffReasonSchema().extend({
  action: z.enum(RESOLUTION_ACTIONS).describe('One of the exception’s `actions`: adopt, refund or explain.'),
  amount: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('For a refund on request: minor units to refund; the payment’s amount here when left out.'),
});

/** Who acted: a bearer token is the API, the session cookie the dashboard. */
const viaOf = (req: Request): AuditVia => (req.get('authorization') === undefined ? 'dashboard' : 'api');

/**
 * Daily reconciliation for staff, mounted at `/staff/v1`: run one for a channel and day
 * (`reconciliations.run`), read a run and its exceptions (`reconciliations.read`), list
 * exceptions, and resolve one with an audited action (`reconciliations.resolve`).
 */
export function staffReconciliationRoutes({ reconciliations }: { reconciliations: ReconciliationService }): Router {
  const router = Router();
  router
    .route('/reconciliations')
    .post(requireStaffPermission('reconciliations.run'), async (req, res) => {
      const { channel, date } = parseOrThrow(reconciliationRunSchema, req.body ?? {});
      res.status(202).json(await reconciliations.start(channel, date, staffOf(res), viaOf(req)));
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/reconciliations/:reconciliationId')
    .get(requireStaffPermission('reconciliations.read'), async (req, res) => {
      res.json(await reconciliations.view(String(req.params.reconciliationId)));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/reconciliation-exceptions')
    .get(requireStaffPermission('reconciliations.read'), async (req, res) => {
      const { state, limit } = parseOrThrow(exceptionListSchema, req.query);
      res.json(await reconciliations.listExceptions({ ...(state ? { state } : {}), limit: limit ?? 50 }));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/reconciliation-exceptions/:exceptionId/resolve')
    .post(requireStaffPermission('reconciliations.resolve'), async (req, res) => {
      const request = parseOrThrow(exceptionResolutionSchema, req.body ?? {});
      res.json(await reconciliations.resolve(String(req.params.exceptionId), request, staffOf(res), viaOf(req)));
    })
    .all(methodNotAllowed(['POST']));

  return router;
}
