import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../../activities/index.js';
import { activityPresets, localActivityPresets } from '../activity-presets.js';

/**
 * The payment workflow's activities, each with its preset. Calls go through `executeWithOptions`
 * where a summary helps staff read the Web UI's timeline as a story.
 */
export const activity = {
  presets: activityPresets,
  localPresets: localActivityPresets,
  ...pick(proxyActivities<PaymentActivities>(activityPresets.persistence), 'savePayment', 'recordStaffAction'),
  ...pick(
    proxyLocalActivities<PaymentActivities>(localActivityPresets.routing),
    'planChannelRoute',
    'planChannelRouteExplained',
  ),
  ...pick(proxyActivities<PaymentActivities>(activityPresets.channelCreate), 'openChannelOrder'),
  ...pick(proxyActivities<PaymentActivities>(activityPresets.channelCall), 'captureChannelOrder'),
  ...pick(proxyActivities<PaymentActivities>(activityPresets.channelCall), 'queryChannelOrder', 'closeChannelOrder'),
  ...pick(proxyActivities<PaymentActivities>(activityPresets.refund), 'refundPayment'),
  ...pick(proxyActivities<PaymentActivities>(activityPresets.voucher), 'issueVoucher', 'voidVoucher'),
  ...pick(proxyActivities<PaymentActivities>(activityPresets.webhook), 'notifyPlatform'),
  ...pick(proxyLocalActivities<PaymentActivities>(localActivityPresets.messageCheck), 'verifyMessageSeal'),
  /** The same steps as local activities, for payments that started after `PATCHES.localSteps`. */
  local: pick(
    proxyLocalActivities<PaymentActivities>(localActivityPresets.persistence),
    'savePayment',
    'issueVoucher',
    'voidVoucher',
    'assessPaymentRisk',
  ),
};

/** Named activities of a proxy (a proxy has no keys of its own to spread). */
function pick<T extends object, K extends keyof T>(proxy: T, ...names: K[]): Pick<T, K> {
  return Object.fromEntries(names.map((name) => [name, proxy[name]])) as Pick<T, K>;
}
