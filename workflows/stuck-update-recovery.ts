import { proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import { activityPresets } from './activity-presets.js';

const { recoverStuckUpdateWorkflows } = proxyActivities<PaymentActivities>(activityPresets.stuckUpdateRecovery);

/**
 * Started every minute by the `stuck-update-recovery` schedule (one at a time): resets any
 * workflow stuck on the SDK's update replay fault to before the update (src/temporal/stuck-updates.ts).
 * Its result, in the Web UI, names each workflow it reset.
 */
export async function stuckUpdateRecoveryWorkflow(): ReturnType<PaymentActivities['recoverStuckUpdateWorkflows']> {
  return recoverStuckUpdateWorkflows();
}
