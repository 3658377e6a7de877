import { proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import type { DeliveryResult } from '../activities/fulfilment.js';
import type { WebhookEvent } from '../domain/webhooks.js';
import { activityPresets } from './activity-presets.js';

const { notifyPlatform } = proxyActivities<PaymentActivities>(activityPresets.webhook);

/**
 * Support staff send a payment's latest webhook again (the platform lost it). The event keeps the
 * id it was first sent with, so a platform that did receive it drops the copy.
 */
export async function webhookResendWorkflow({ event }: { event: WebhookEvent }): Promise<DeliveryResult> {
  return notifyPlatform.executeWithOptions({ ...activityPresets.webhook, summary: `webhook ${event.type} again` }, [
    event,
  ]);
}
