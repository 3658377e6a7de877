import express, { Router } from 'express';
import type { PaymentService } from '../../payments/service.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../../domain/payment.js';
import { ApiError } from '../errors.js';

export interface CallbackRoutesDeps {
  payments: PaymentService;
  bodyLimitBytes: number;
}

/**
 * `POST /v1/callbacks/:channel`: a channel's asynchronous notification, in the channel's own
 * format, taken as raw bytes (its signature is over them). The payment service verifies, records
 * and delivers it (see src/payments/notifications.ts); the answer is the channel's own ack.
 */
export function callbackRoutes({ payments, bodyLimitBytes }: CallbackRoutesDeps): Router {
  const router = Router();
  router.post('/:channel', express.raw({ type: () => true, limit: bodyLimitBytes }), async (req, res) => {
    const channel = req.params.channel as PaymentChannel;
    if (!PAYMENT_CHANNELS.includes(channel)) {
      throw new ApiError(404, 'not_found_error', 'unknown_channel', `No channel ${req.params.channel}.`, 'channel');
    }
    const headers: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(req.headers))
      headers[key] = Array.isArray(value) ? value.join(',') : value;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const ack = await payments.receiveCallback(channel, { body, headers });
    res.status(ack.status).type(ack.contentType).send(ack.body);
  });
  return router;
}
