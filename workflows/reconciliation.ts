import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import type { PaymentChannel } from '../domain/payment.js';
import type { ReconciliationSummary } from '../activities/reconciliation.js';
import { BILL_UTC_OFFSET_MINUTES, dayOf } from '../domain/reconciliation.js';
import { activityPresets } from './activity-presets.js';

const { reconcileChannelDay } = proxyActivities<PaymentActivities>(activityPresets.reconciliation);
const { markReconciliationFailed } = proxyActivities<PaymentActivities>(activityPresets.persistence);

export interface ReconciliationInput {
  channel: PaymentChannel;
  /**
   * `YYYY-MM-DD` (Beijing). Absent for the daily schedule's runs: the day before the one the run
   * starts on, in Beijing time.
   */
  date?: string;
  /** `schedule`, or the staff id that asked. */
  requestedBy?: string;
}

/**
 * One reconciliation of a channel's day (workflow id = `reconciliationId`): the channel's bill
 * against what the system recorded, stored for staff with each exception found. Started by staff
 * (`POST /staff/v1/reconciliations`) or every day by the channel's `reconciliation-<channel>`
 * schedule for the day before. A run that cannot get or trust the bill ends `failed` with why.
 */
export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconciliationSummary> {
  const { workflowId } = workflowInfo();
  const date = input.date ?? dayOf(new Date(Date.now() - 86_400_000), BILL_UTC_OFFSET_MINUTES);
  const args = {
    reconciliationId: workflowId,
    channel: input.channel,
    date,
    requestedBy: input.requestedBy ?? 'schedule',
  };
  setCurrentDetails(`Reconciling ${input.channel}'s bill of ${date} against the payments.`);
  try {
    const summary = await reconcileChannelDay.executeWithOptions(
      { ...activityPresets.reconciliation, summary: `download ${input.channel}'s bill of ${date} and match it` },
      [args],
    );
    setCurrentDetails(
      `${input.channel} ${date}: ${summary.billLines} bill lines, ${summary.exceptionCount} exceptions.`,
    );
    return summary;
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
    const error = cause ? `${cause.type ?? 'error'}: ${cause.message}` : String(err);
    await markReconciliationFailed({ reconciliationId: workflowId, error });
    setCurrentDetails(`${input.channel} ${date}: failed (${error}).`);
    throw ApplicationFailure.create({
      type: cause?.type ?? 'reconciliation_failed',
      message: error,
      nonRetryable: true,
    });
  }
}
