import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Named timeout and retry presets: every activity call picks one, none relies on defaults.
 * Non-retryable error types sit next to the preset that honours them.
 */
export const activityPresets = {
  /** Read-model writes: quick, idempotent upserts; retried until MongoDB is back. */
  persistence: {
    startToCloseTimeout: '10 seconds',
    retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  },
} satisfies Record<string, ActivityOptions>;
