import { proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import type { PurgeResult } from '../activities/housekeeping.js';
import { activityPresets } from './activity-presets.js';

const { purgeExpiredRequestRecords } = proxyActivities<PaymentActivities>(activityPresets.persistence);

/**
 * Started by the `api-housekeeping` schedule: sweeps expired request nonces, idempotent answers
 * and rate-limit windows out of MongoDB. Its result, in the Web UI, says how many went.
 */
export async function apiHousekeepingWorkflow(): Promise<PurgeResult> {
  return purgeExpiredRequestRecords();
}
