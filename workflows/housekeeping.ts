import { proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import type { PurgeResult } from '../activities/housekeeping.js';
import { activityPresets } from './activity-presets.js';

const { purgeExpiredRequestRecords } = proxyActivities<PaymentActivities>(activityPresets.persistence);

/**
 * Started by the `api-housekeeping` schedule: sweeps expired request nonces, idempotent answers,
 * rate-limit windows and rejected callbacks out of MongoDB, in the one activity it has always
 * called (so its history keeps the same commands). Its result, in the Web UI, says how many went.
 */
export async function apiHousekeepingWorkflow(): Promise<PurgeResult> {
  return purgeExpiredRequestRecords();
}
