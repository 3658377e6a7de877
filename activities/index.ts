import type { Models } from '../src/db/connect.js';
import { createPersistenceActivities } from './persistence.js';

export interface ActivityDeps {
  models: Models;
}

/** Every activity the payment worker registers, built from the process's shared dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPersistenceActivities(deps),
  };
}

export type PaymentActivities = ReturnType<typeof createActivities>;
