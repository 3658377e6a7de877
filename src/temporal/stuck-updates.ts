import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import Long from 'long';

const EventType = proto.temporal.api.enums.v1.EventType;

/**
 * What the Temporal SDK's core (1.24) says when it replays a workflow task after a lost one and
 * completes an update whose request that task does not carry; every attempt after fails the same.
 */
export const STUCK_UPDATE_SIGNATURE = 'BadUpdateWorkflowExecutionMessage';
/**
 * The same fault's other face: a task that scheduled an activity and accepted an update, recorded
 * command first, fails every replay with a nondeterminism error naming the command's event.
 */
export const UPDATE_MACHINE_SIGNATURE = 'Update machine does not handle this event';
const NAMED_EVENT = /Update machine does not handle this event: HistoryEvent\(id: (\d+)/;

/** A workflow task on this attempt or later is failing over and over: its history is read. */
export const STUCK_AFTER_ATTEMPTS = 3;

export interface StuckUpdateRecovery {
  /** Running workflows whose workflow task kept failing, looked at. */
  checked: number;
  /** The ones reset: each to the workflow task before the update it could not complete. */
  reset: { workflowId: string; fromRunId: string; toRunId: string; toEventId: number }[];
  /** The ones the server refused to reset, with its answer (the next pass tries again). */
  failed: { workflowId: string; error: string }[];
}

/**
 * Frees workflows stuck on the SDK's update replay fault: a workflow task that accepted an update
 * (a channel notification, say) was lost (a worker killed or stalled past the task timeout), and
 * every retry fails with {@link STUCK_UPDATE_SIGNATURE} or {@link UPDATE_MACHINE_SIGNATURE}. Such a workflow is reset to the workflow
 * task before that update was accepted: the server re-admits the update (and the signals after
 * it) to the new run, whose code applies it as the first time; the effects already made stay
 * exactly-once by their own keys (channel order, voucher, refund and webhook ids). Only this fault
 * is touched: any other failing workflow task waits for people.
 */
export async function recoverStuckUpdates(client: Client, reason: string): Promise<StuckUpdateRecovery> {
  const result: StuckUpdateRecovery = { checked: 0, reset: [], failed: [] };
  // Every running workflow's pending task: the server's own problem flag (TemporalReportedProblems)
  // comes late or never on some servers, a task on its third attempt says as much.
  for await (const execution of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
    const { pendingWorkflowTask } = await client.workflowService.describeWorkflowExecution({
      namespace: client.options.namespace,
      execution: { workflowId: execution.workflowId, runId: execution.runId },
    });
    if ((pendingWorkflowTask?.attempt ?? 0) < STUCK_AFTER_ATTEMPTS) continue;
    result.checked += 1;
    const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
    const events = (await handle.fetchHistory()).events ?? [];
    // The history ends with the failed task, then the retry in flight (scheduled, started).
    const last = lastOf(
      events,
      (e) =>
        e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED &&
        e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    );
    const failure = last?.workflowTaskFailedEventAttributes?.failure?.message ?? '';
    if (last?.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) continue;
    const signature = [STUCK_UPDATE_SIGNATURE, UPDATE_MACHINE_SIGNATURE].find((s) => failure.includes(s));
    if (signature === undefined) continue;
    const completed = new Set(
      events.flatMap((e) => e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId ?? []),
    );
    const pending = lastOf(events, (e) => {
      const id = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId;
      return typeof id === 'string' && !completed.has(id);
    });
    // Where the replay breaks: the accepted update never completed, or the event the error names.
    const breaksAt = Number(pending?.eventId ?? NAMED_EVENT.exec(failure)?.[1] ?? 0);
    // The workflow task that recorded it: the last one completed before it.
    const recording =
      breaksAt > 0
        ? lastOf(events, (e) => Number(e.eventId) < breaksAt && !!e.workflowTaskCompletedEventAttributes)
        : undefined;
    // Reset to that task's completion: the task is done again, without what it recorded.
    const finishEventId = Number(recording?.eventId ?? 0);
    if (!finishEventId) continue;
    try {
      const { runId } = await client.workflowService.resetWorkflowExecution({
        namespace: client.options.namespace,
        workflowExecution: { workflowId: execution.workflowId, runId: execution.runId },
        workflowTaskFinishEventId: Long.fromNumber(finishEventId),
        reason: `${reason}: ${signature} after a lost workflow task; reset to before the update`,
        requestId: randomUUID(),
      });
      result.reset.push({
        workflowId: execution.workflowId,
        fromRunId: execution.runId,
        toRunId: runId ?? '',
        toEventId: finishEventId,
      });
    } catch (err) {
      result.failed.push({ workflowId: execution.workflowId, error: (err as Error).message });
    }
  }
  return result;
}

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

function lastOf(events: HistoryEvent[], test: (e: HistoryEvent) => boolean): HistoryEvent | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) if (test(events[i]!)) return events[i];
  return undefined;
}
