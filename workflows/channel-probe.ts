import { proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import { activityPresets } from './activity-presets.js';

const { probeChannels } = proxyActivities<PaymentActivities>(activityPresets.channelProbe);

/**
 * Started every minute by the `channel-probe` schedule (one at a time): asks every enabled
 * channel about an order it does not hold, so an idle channel's health is still known and an
 * open breaker can cool down. Its result, in the Web UI, is each channel's answer and latency.
 */
export async function channelProbeWorkflow(): ReturnType<PaymentActivities['probeChannels']> {
  return probeChannels();
}
