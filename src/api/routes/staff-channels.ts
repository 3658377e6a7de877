import { Router } from 'express';
import { z } from 'zod';
import { CHANNEL_OPERATIONS, type ChannelHealth, type ChannelHealthView } from '../../channels/health.js';
import type { Models } from '../../db/connect.js';
import { recordAudit } from '../../staff/audit.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../../domain/payment.js';
import { ApiError, methodNotAllowed } from '../errors.js';
import { requireStaffPermission, staffOf } from '../staff-auth.js';
import { parseOrThrow } from '../validation.js';
import { createStaffReasonSchema } from '../schemas.js';

export const breakerRequestSchema = createStaffReasonSchema().extend({
  operation: z.enum(CHANNEL_OPERATIONS as [string, ...string[]]).default('create'),
  state: z.enum(['open', 'closed']),
});

/** A channel's health as staff see it (the routing score stays inside). */
export function channelHealthBody({ score: _score, ...view }: ChannelHealthView) {
  return view;
}

export interface StaffChannelRouteDeps {
  models: Models;
  health: Pick<ChannelHealth, 'view' | 'setBreaker'>;
  enabled: readonly PaymentChannel[];
}

/**
 * `GET /channels` (`channels.read`): every enabled channel's health over the window, shared by
 * every process: `{ channel, state: healthy | degraded | open, successRate, p95Ms, errorRate,
 * window, since, calls, breakers }`. `POST /channels/:channel/breaker` (`channels.manage`):
 * opens a channel operation's breaker by hand (routing skips the channel until it is closed) or
 * closes it, with a reason; audited.
 */
export function staffChannelRoutes({ models, health, enabled }: StaffChannelRouteDeps): Router {
  const router = Router();
  const channelOf = (name: unknown): PaymentChannel => {
    const channel = PAYMENT_CHANNELS.find((c) => c === name);
    if (channel === undefined || !enabled.includes(channel)) {
      throw new ApiError(404, 'not_found_error', 'unknown_channel', `No enabled channel ${String(name)}.`, 'channel');
    }
    return channel;
  };
  router
    .route('/channels')
    .get(requireStaffPermission('channels.read'), async (_req, res) => {
      res.json({ channels: (await health.view()).map(channelHealthBody) });
    })
    .all(methodNotAllowed(['GET']));
  router
    .route('/channels/:channel/breaker')
    .post(requireStaffPermission('channels.manage'), async (req, res) => {
      const channel = channelOf(req.params.channel);
      const { operation, state, reason } = parseOrThrow(breakerRequestSchema, req.body ?? {});
      const staff = staffOf(res);
      const before = (await health.view()).find((v) => v.channel === channel)?.breakers[operation as never];
      await health.setBreaker(channel, operation as never, state, reason, staff.name);
      const view = (await health.view()).find((v) => v.channel === channel);
      await recordAudit(models, {
        operator: staff.name,
        role: staff.role,
        via: 'api',
        action: `channel.breaker_${state}`,
        target: `channel:${channel}:${operation}`,
        reason,
        before: before ?? null,
        after: view?.breakers[operation as never] ?? null,
      });
      res.json(view ? channelHealthBody(view) : null);
    })
    .all(methodNotAllowed(['POST']));
  return router;
}
