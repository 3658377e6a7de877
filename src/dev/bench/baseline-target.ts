import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import {
  baselinePaymentWorkflow,
  notifyBaselinePaymentUpdate,
  openBaselinePaymentUpdate,
} from './baseline-workflow.js';
import type { BenchTarget } from './run-pass.js';

/**
 * The bare baseline, driven like the product's flow: update-with-start opens a payment (the
 * workflow answers after its local activity and two activities), one Update pays it, and the
 * workflow runs five activities and completes. A payment completes with its workflow; its time is
 * the workflow's close time.
 */
export function baselineTarget(options: { client: Client; taskQueue: string; runId: string }): BenchTarget {
  const { client, taskQueue, runId } = options;
  const completedQuery = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'`;
  return {
    system: 'baseline',

    async createAndPay(pass, i) {
      const workflowId = `bench-baseline-${runId}-${pass.replace(/\W+/g, '-')}-${i}`;
      const begin = performance.now();
      await client.workflow.executeUpdateWithStart(openBaselinePaymentUpdate, {
        startWorkflowOperation: new WithStartWorkflowOperation(baselinePaymentWorkflow, {
          workflowId,
          taskQueue,
          args: [{ orderId: workflowId, amount: 9_900, currency: 'CNY' }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        }),
      });
      const createMs = performance.now() - begin;
      await client.workflow
        .getHandle(workflowId)
        .executeUpdate(notifyBaselinePaymentUpdate, { updateId: `${workflowId}-paid` });
      return { createMs, id: workflowId, paid: true };
    },

    async completedCount() {
      return (await client.workflow.count(completedQuery)).count;
    },

    async completionTimes(ids) {
      const at = new Map<string, number>();
      for await (const execution of client.workflow.list({ query: completedQuery })) {
        if (ids.has(execution.workflowId) && execution.closeTime) {
          at.set(execution.workflowId, execution.closeTime.getTime());
        }
      }
      return at;
    },
  };
}
