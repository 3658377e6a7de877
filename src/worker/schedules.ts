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
 * The daily `reconciliation-<channel>` schedule of each channel, at `time` (`HH:MM` Beijing; `off`:
 * none): each run reconciles the day before. China keeps no daylight saving, so Beijing is always
 * UTC+8 and the calendar is kept in UTC.
 */
export async function ensureReconciliationSchedules(
  client: Client,
  options: { taskQueue: string; channels: readonly string[]; time: string },
): Promise<Record<string, 'created' | 'exists'>> {
  const created: Record<string, 'created' | 'exists'> = {};
  if (options.time === 'off') return created;
  const [hour = 0, minute = 0] = options.time.split(':').map(Number);
  for (const channel of options.channels) {
    created[reconciliationScheduleId(channel)] = await ensureSchedule(
      client,
      reconciliationScheduleId(channel),
      { hour: (hour + 16) % 24, minute },
      { workflowType: 'reconciliationWorkflow', taskQueue: options.taskQueue, args: [{ channel }] },
    );
  }
  return created;
}

/**
 * Makes sure the worker's schedules exist (created once, by whichever worker starts first; an
 * overlapping run is skipped): `voucher-ledger` seals every ledger period, `api-housekeeping`
 * sweeps expired nonces, idempotent answers and rate-limit windows every 5 minutes,
 * `stuck-update-recovery` frees workflows stuck on the SDK's update replay fault every minute,
 * `channel-probe` asks every enabled channel about a made-up order every minute (channel health),
 * and `reconciliation-<channel>` reconciles each billed channel's previous day once a day.
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
  const reconciliations =
    options.reconciliation === undefined
      ? {}
      : await ensureReconciliationSchedules(client, { taskQueue: options.taskQueue, ...options.reconciliation });
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
