import { createHash } from 'node:crypto';
import express, { Router } from 'express';
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError } from '../db/errors.js';
import { WEBHOOK_SIGNATURE_HEADER, verifyWebhook } from '../webhooks/signature.js';
import { modelOn } from '../db/models/model-on.js';

interface PlatformEvent {
  eventId: string;
  type: string;
  orderId: string;
  paymentId: string;
  /** How many times this event arrived (the sender retries; the platform deduplicates by id). */
  deliveries: number;
  receivedAt: Date;
  /** SHA-256 of the body as received (hex): enough to tell deliveries apart, none of their content. */
  bodySha256: string;
}

interface Refusal {
  orderId: string;
  at: Date;
}

const eventSchema = new Schema<PlatformEvent>(
  {
    eventId: { type: String, required: true },
    type: { type: String, required: true },
    orderId: { type: String, required: true },
    paymentId: { type: String, required: true },
    deliveries: { type: Number, required: true },
    receivedAt: { type: Date, required: true },
    bodySha256: { type: String, required: true },
  },
  { collection: 'sandbox_platform_events' },
);
eventSchema.index({ eventId: 1 }, { unique: true });
eventSchema.index({ orderId: 1 });

const refusalSchema = new Schema<Refusal>(
  { orderId: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'sandbox_platform_refusals' },
);
refusalSchema.index({ orderId: 1 }, { unique: true });

/** Orders whose webhooks the stub answers 503, as a platform whose endpoint is down. */
const outageSchema = new Schema<Refusal>(
  { orderId: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'sandbox_platform_outages' },
);
outageSchema.index({ orderId: 1 }, { unique: true });

export interface PlatformStub {
  /** Mounted at `/sandbox/platform`: receives the webhooks at `/webhooks`. */
  router: Router;
  refuse(orderId: string): Promise<void>;
  /** While enabled, every webhook about `orderId` is answered 503 and not recorded. */
  setOutage(orderId: string, enabled: boolean): Promise<void>;
  events(orderId: string): Promise<Omit<PlatformEvent, 'bodySha256'>[]>;
}

/**
 * The built-in stand-in for a course platform (the default `PLATFORM_WEBHOOK_URL` in
 * development). It checks every webhook's signature, keeps each event once by id, and answers
 * `payment.succeeded` with 2xx (course access granted) unless the order was marked refused, in
 * which case it answers 409 as a platform that cannot fulfil would. It keeps what it needs to show
 * (`GET /sandbox/v1/platform/events`) and a digest of each body, never the body: it carries the
 * payment's data.
 */
export async function createPlatformStub(connection: Connection, webhookSecret: string): Promise<PlatformStub> {
  const events = modelOn<Model<PlatformEvent>>(connection, 'SandboxPlatformEvent', eventSchema);
  const refusals = modelOn<Model<Refusal>>(connection, 'SandboxPlatformRefusal', refusalSchema);
  const outages = modelOn<Model<Refusal>>(connection, 'SandboxPlatformOutage', outageSchema);
  await Promise.all([events.createIndexes(), refusals.createIndexes(), outages.createIndexes()]);

  const router = Router();
  router.post('/webhooks', express.raw({ type: 'application/json', limit: 256 * 1024 }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const check = verifyWebhook(req.get(WEBHOOK_SIGNATURE_HEADER), body, [webhookSecret]);
    if (!check.ok) {
      res.status(400).json({ error: `signature ${check.reason}` });
      return;
    }
    const event = JSON.parse(body.toString('utf8')) as {
      id: string;
      type: string;
      data: { orderId: string; paymentId: string };
    };
    if (await outages.exists({ orderId: event.data.orderId })) {
      res.status(503).json({ error: 'unavailable', message: 'The platform is down (sandbox outage).' });
      return;
    }
    try {
      await events.create({
        eventId: event.id,
        type: event.type,
        orderId: event.data.orderId,
        paymentId: event.data.paymentId,
        deliveries: 1,
        receivedAt: new Date(),
        bodySha256: createHash('sha256').update(body).digest('hex'),
      });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const seen = await events.findOne({ eventId: event.id }).lean();
      await events.updateOne({ eventId: event.id }, { $set: { deliveries: (seen?.deliveries ?? 1) + 1 } });
    }
    if (event.type === 'payment.succeeded' && (await refusals.exists({ orderId: event.data.orderId }))) {
      res
        .status(409)
        .json({ error: 'course_withdrawn', message: 'The course was withdrawn; the order cannot be fulfilled.' });
      return;
    }
    res.json({ received: true });
  });

  return {
    router,
    async refuse(orderId) {
      try {
        await refusals.create({ orderId, at: new Date() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    },
    async setOutage(orderId, enabled) {
      if (!enabled) {
        await outages.deleteOne({ orderId });
        return;
      }
      try {
        await outages.create({ orderId, at: new Date() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    },
    async events(orderId) {
      const docs = await events.find({ orderId }, { bodySha256: 0, _id: 0, __v: 0 }).sort({ receivedAt: 1 }).lean();
      return docs.map(({ eventId, type, orderId: o, paymentId, deliveries, receivedAt }) => ({
        eventId,
        type,
        orderId: o,
        paymentId,
        deliveries,
        receivedAt,
      }));
    },
  };
}
