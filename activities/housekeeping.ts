import type { Models } from '../src/db/connect.js';

export interface PurgeResult {
  nonces: number;
  idempotencyRecords: number;
  rateLimitWindows: number;
}

/**
 * Removes the API's short-lived records once they have expired: request nonces, idempotent
 * answers older than 24 h and finished rate-limit windows. A scheduled sweep, because the
 * MongoDB-wire servers this runs on are not all able to expire documents by a TTL index.
 */
export function createHousekeepingActivities({ models }: { models: Models }) {
  return {
    async purgeExpiredRequestRecords(): Promise<PurgeResult> {
      const expired = { expiresAt: { $lt: new Date() } };
      const [nonces, idempotencyRecords, rateLimitWindows] = await Promise.all([
        models.requestNonces.deleteMany(expired),
        models.idempotencyRecords.deleteMany(expired),
        models.rateLimitWindows.deleteMany(expired),
      ]);
      return {
        nonces: nonces.deletedCount,
        idempotencyRecords: idempotencyRecords.deletedCount,
        rateLimitWindows: rateLimitWindows.deletedCount,
      };
    },
  };
}
