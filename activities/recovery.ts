import { Context } from '@temporalio/activity';
import { recoverStuckUpdates, type StuckUpdateRecovery } from '../src/temporal/stuck-updates.js';

/** Frees workflows stuck on the SDK's update replay fault, with the worker's own client. */
export function createRecoveryActivities() {
  return {
    async recoverStuckUpdateWorkflows(): Promise<StuckUpdateRecovery> {
      const { client, log } = Context.current();
      const result = await recoverStuckUpdates(client, 'stuck-update-recovery schedule');
      for (const reset of result.reset) log.warn('reset a workflow stuck on an update it could not complete', reset);
      for (const failed of result.failed) log.error('could not reset a workflow stuck on an update', failed);
      return result;
    },
  };
}
