import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { WECHATPAY_AUTHORIZATION_MAX_LENGTH, WECHATPAY_HEADER_MAX_LENGTH } from '../../channels/wechatpay/protocol.js';
import type { ChannelAck } from '../../channels/types.js';
import type { Models } from '../../db/connect.js';
import type { PaymentService } from '../../payments/service.js';
import { PAYMENT_CHANNELS, type PaymentChannel } from '../../../domain/payment.js';
import { parseAddressRanges } from '../address-ranges.js';
import { ApiError } from '../errors.js';
import { rateLimit } from '../rate-limit.js';

export interface CallbackRoutesDeps {
  payments: PaymentService;
  models: Models;
  bodyLimitBytes: number;
  /** Callbacks one client address may post a minute, across every API process (`CALLBACK_RATE_LIMIT_PER_MINUTE`). */
  rateLimitPerMinute: number;
  /** Addresses and CIDR ranges callbacks may come from (`CALLBACK_ALLOWED_CIDRS`); unset: any. */
  allowedSources: string | undefined;
}

const clientAddress = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

const channelOf = (req: Request): PaymentChannel => req.params.channel as PaymentChannel;

function send(res: Response, ack: ChannelAck): void {
  res.status(ack.status).type(ack.contentType).send(ack.body);
}

/** Whether a signature header is longer than any genuine one: it is refused before anything parses it. */
function hasOverlongHeader(req: Request): boolean {
  return Object.entries(req.headers).some(([name, value]) => {
    const length = Array.isArray(value) ? value.join(',').length : (value?.length ?? 0);
    if (name === 'authorization') return length > WECHATPAY_AUTHORIZATION_MAX_LENGTH;
    return name.startsWith('wechatpay-') && length > WECHATPAY_HEADER_MAX_LENGTH;
  });
}

/**
 * `POST /v1/callbacks/:channel`: a channel's asynchronous notification, in the channel's own
 * format, taken as raw bytes (its signature is over them). Nobody authenticates here, so before
 * the body is even read a callback must come from the allowed ranges (403), stay within its
 * address's rate limit (429) and carry no over-long signature header (400), each refused in the
 * channel's own failure format and not recorded. The payment service then verifies, records and
 * delivers it (see src/payments/notifications.ts); the answer is the channel's own ack.
 */
export function callbackRoutes({
  payments,
  models,
  bodyLimitBytes,
  rateLimitPerMinute,
  allowedSources,
}: CallbackRoutesDeps): Router {
  const router = Router();
  const sources = parseAddressRanges(allowedSources);
  const knownChannel: RequestHandler = (req, _res, next) => {
    if (!PAYMENT_CHANNELS.includes(channelOf(req))) {
      throw new ApiError(
        404,
        'not_found_error',
        'unknown_channel',
        `No channel ${String(req.params.channel)}.`,
        'channel',
      );
    }
    next();
  };
  const fromAllowedSource: RequestHandler = (req, res, next) => {
    if (sources && !sources.has(clientAddress(req))) return send(res, payments.callbackRefusal(channelOf(req), 403));
    next();
  };
  const withinRateLimit = rateLimit({
    models,
    scope: 'callback',
    limitPerMinute: rateLimitPerMinute,
    callerOf: clientAddress,
    onLimited: (req, res) => send(res, payments.callbackRefusal(channelOf(req), 429)),
  });
  const boundedHeaders: RequestHandler = (req, res, next) => {
    if (hasOverlongHeader(req)) return send(res, payments.callbackRefusal(channelOf(req), 400));
    next();
  };
  router.post(
    '/:channel',
    knownChannel,
    fromAllowedSource,
    withinRateLimit,
    boundedHeaders,
    express.raw({ type: () => true, limit: bodyLimitBytes }),
    async (req, res) => {
      const headers: Record<string, string | undefined> = {};
      for (const [key, value] of Object.entries(req.headers))
        headers[key] = Array.isArray(value) ? value.join(',') : value;
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      send(res, await payments.receiveCallback(channelOf(req), { body, headers }));
    },
  );
  return router;
}
