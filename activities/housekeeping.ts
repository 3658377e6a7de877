import type { Models } from '../src/db/connect.js';

export interface PurgeResult {
  nonces: number;
  idempotencyRecords: number;
  rateLimitWindows: number;
  /** Callbacks that failed verification, past their retention (`CALLBACK_REJECTED_RETENTION_DAYS`). */
  rejectedCallbacks: number;
  /** Dashboard sessions past their expiry (they no longer count; this only frees the space). */
  dashboardSessions: number;
}

/**
 * Removes the API's short-lived records once they have expired: request nonces, idempotent
 * answers older than 24 h, finished rate-limit windows, dashboard sessions, and callbacks that
 * failed verification once their retention has passed (the API sets each one's `expiresAt` when
 * it records it; verified callbacks have none and stay). A scheduled sweep, because the MongoDB-wire servers
 * this runs on are not all able to expire documents by a TTL index.
 */
export function createHousekeepingActivities({ models }: { models: Models }) {
  return {
    async purgeExpiredRequestRecords(): Promise<PurgeResult> {
      const expired = { expiresAt: { $lt: new Date() } };
      const [nonces, idempotencyRecords, rateLimitWindows, rejectedCallbacks, dashboardSessions] = await Promise.all([
        models.requestNonces.deleteMany(expired),
        models.idempotencyRecords.deleteMany(expired),
        models.rateLimitWindows.deleteMany(expired),
        models.callbacks.deleteMany({ ...expired, verified: false }),
        models.dashboardSessions.deleteMany(expired),
      ]);
      return {
        nonces: nonces.deletedCount,
        idempotencyRecords: idempotencyRecords.deletedCount,
        rateLimitWindows: rateLimitWindows.deletedCount,
        rejectedCallbacks: rejectedCallbacks.deletedCount,
        dashboardSessions: dashboardSessions.deletedCount,
      };
    },
  };
}
