import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { STATS_GROUP_BY } from '../../../domain/stats.js';
import { dayCount, STATS_MAX_DAYS, type StatsRollups } from '../../stats/rollups.js';
import { ApiError, methodNotAllowed } from '../errors.js';
import { requireStaffPermission } from '../staff-auth.js';
import { parseOrThrow } from '../validation.js';

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a day as YYYY-MM-DD')
  .refine(
    (value) =>
      !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value),
    'expected a day that exists',
  );

export const statsQuerySchema = z.strictObject({
  from: day
    .optional()
    .describe('First day (YYYY-MM-DD in the statistics’ time zone); 6 days before `to` when left out.'),
  to: day.optional().describe('Last day, included; today when left out.'),
  groupBy: z
    .enum(STATS_GROUP_BY)
    .default('day')
    .describe('How to group: day, channel, status (where payments are now) or currency.'),
});

/** What needs people now: every running payment or refunds workflow with `NeedsAttention`. */
export const NEEDS_ATTENTION_QUERY = "NeedsAttention = true AND ExecutionStatus = 'Running'";

export interface StaffStatsRouteDeps {
  stats: StatsRollups;
  client: Client;
}

/**
 * `GET /stats?from=&to=&groupBy=` (`stats.read`): counts and amounts per group from the rollups
 * the saga keeps (domain/stats.ts), amounts per currency, and how many payments need people now.
 */
export function staffStatsRoutes({ stats, client }: StaffStatsRouteDeps): Router {
  const router = Router();
  router
    .route('/stats')
    .get(requireStaffPermission('stats.read'), async (req, res) => {
      const query = parseOrThrow(statsQuerySchema, req.query);
      const to = query.to ?? stats.today();
      const from = query.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 6 * 86_400_000).toISOString().slice(0, 10);
      const span = dayCount(from, to);
      if (span === 0 || span > STATS_MAX_DAYS) {
        throw new ApiError(
          422,
          'validation_error',
          'invalid_parameter',
          `from must be on or before to, at most ${STATS_MAX_DAYS} days apart.`,
          'from',
        );
      }
      const [groups, attention] = await Promise.all([
        stats.groups(from, to, query.groupBy),
        client.workflow.count(NEEDS_ATTENTION_QUERY),
      ]);
      res.json({ from, to, groupBy: query.groupBy, groups, needsAttention: attention.count });
    })
    .all(methodNotAllowed(['GET']));
  return router;
}
