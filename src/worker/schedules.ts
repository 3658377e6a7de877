import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export const LEDGER_SCHEDULE_ID = 'voucher-ledger';

/**
 * Makes sure the schedule that seals the voucher ledger exists (created once, by whichever worker
 * starts first). It runs every period; an overlapping run is skipped.
 */
export async function ensureLedgerSchedule(
  client: Client,
  options: { taskQueue: string; periodSeconds: number; graceSeconds: number },
): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId: LEDGER_SCHEDULE_ID,
      spec: { intervals: [{ every: `${options.periodSeconds} seconds` }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      action: {
        type: 'startWorkflow',
        workflowType: 'voucherLedgerWorkflow',
        taskQueue: options.taskQueue,
        args: [{ periodSeconds: options.periodSeconds, graceSeconds: options.graceSeconds }],
      },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}
