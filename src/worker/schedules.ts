import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export const LEDGER_SCHEDULE_ID = 'voucher-ledger';
export const HOUSEKEEPING_SCHEDULE_ID = 'api-housekeeping';
const HOUSEKEEPING_EVERY = '5 minutes';
export const STUCK_UPDATE_RECOVERY_SCHEDULE_ID = 'stuck-update-recovery';
const STUCK_UPDATE_RECOVERY_EVERY = '1 minute';
export const CHANNEL_PROBE_SCHEDULE_ID = 'channel-probe';
const CHANNEL_PROBE_EVERY = '1 minute';

/** The daily reconciliation schedule of a channel. */
export const reconciliationScheduleId = (channel: string) => `reconciliation-${channel}`;

async function ensureSchedule(
  client: Client,
  scheduleId: string,
  every: string | { hour: number; minute: number },
  action: { workflowType: string; taskQueue: string; args: unknown[] },
): Promise<'created' | 'exists'> {
  try {
    await client.schedule.create({
      scheduleId,
      spec: typeof every === 'string' ? { intervals: [{ every }] } : { calendars: [every] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      action: { type: 'startWorkflow', ...action },
    });
    return 'created';
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return 'exists';
    throw err;
  }
}

/**
 * Makes sure the worker's schedules exist (created once, by whichever worker starts first; an
 * overlapping run is skipped): `voucher-ledger` seals every ledger period, `api-housekeeping`
 * sweeps expired nonces, idempotent answers and rate-limit windows every 5 minutes,
 * `stuck-update-recovery` frees workflows stuck on the SDK's update replay fault every minute,
 * `channel-probe` asks every enabled channel about a made-up order every minute (channel health).
 */
export async function ensureSchedules(
  client: Client,
  options: {
    taskQueue: string;
    periodSeconds: number;
    graceSeconds: number;
    /** Channels reconciled every day at `time` (`HH:MM` Beijing, or `off`). */
    reconciliation?: { channels: readonly string[]; time: string };
  },
): Promise<Record<string, 'created' | 'exists'>> {
  const reconciliations: Record<string, 'created' | 'exists'> = {};
  const { reconciliation } = options;
  if (reconciliation !== undefined && reconciliation.time !== 'off') {
    // China keeps no daylight saving: Beijing is always UTC+8, so the calendar is kept in UTC.
    const [hour = 0, minute = 0] = reconciliation.time.split(':').map(Number);
    for (const channel of reconciliation.channels) {
      reconciliations[reconciliationScheduleId(channel)] = await ensureSchedule(
        client,
        reconciliationScheduleId(channel),
        { hour: (hour + 16) % 24, minute },
        { workflowType: 'reconciliationWorkflow', taskQueue: options.taskQueue, args: [{ channel }] },
      );
    }
  }
  return {
    ...reconciliations,
    [LEDGER_SCHEDULE_ID]: await ensureSchedule(client, LEDGER_SCHEDULE_ID, `${options.periodSeconds} seconds`, {
      workflowType: 'voucherLedgerWorkflow',
      taskQueue: options.taskQueue,
      args: [{ periodSeconds: options.periodSeconds, graceSeconds: options.graceSeconds }],
    }),
    [HOUSEKEEPING_SCHEDULE_ID]: await ensureSchedule(client, HOUSEKEEPING_SCHEDULE_ID, HOUSEKEEPING_EVERY, {
      workflowType: 'apiHousekeepingWorkflow',
      taskQueue: options.taskQueue,
      args: [],
    }),
    [STUCK_UPDATE_RECOVERY_SCHEDULE_ID]: await ensureSchedule(
      client,
      STUCK_UPDATE_RECOVERY_SCHEDULE_ID,
      STUCK_UPDATE_RECOVERY_EVERY,
      { workflowType: 'stuckUpdateRecoveryWorkflow', taskQueue: options.taskQueue, args: [] },
    ),
    [CHANNEL_PROBE_SCHEDULE_ID]: await ensureSchedule(client, CHANNEL_PROBE_SCHEDULE_ID, CHANNEL_PROBE_EVERY, {
      workflowType: 'channelProbeWorkflow',
      taskQueue: options.taskQueue,
      args: [],
    }),
  };
}
