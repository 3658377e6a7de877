import type { FieldCipher } from '../src/crypto/field-cipher.js';
import type { WorkerMetrics } from '../src/worker/metrics.js';
import { createChannelActivities, type ChannelDeps } from './channels.js';
import { createHousekeepingActivities } from './housekeeping.js';
import { createFulfilmentActivities, type FulfilmentDeps } from './fulfilment.js';
import { createPersistenceActivities } from './persistence.js';
import { createReconciliationActivities } from './reconciliation.js';
import { createRecoveryActivities } from './recovery.js';
import { createRefundActivities, type RefundDeps } from './refunds.js';
import { createRiskActivities, type RiskDeps } from './risk.js';
import { createVoucherActivities, type VoucherDeps } from './vouchers.js';

export type ActivityDeps = ChannelDeps &
  VoucherDeps &
  FulfilmentDeps &
  RefundDeps & { fieldCipher: FieldCipher; riskRules: RiskDeps['rules']; metrics: WorkerMetrics };

/** Every activity the payment worker registers, built from the process's shared dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPersistenceActivities(deps),
    ...createChannelActivities(deps),
    ...createVoucherActivities(deps),
    ...createFulfilmentActivities(deps),
    ...createHousekeepingActivities(deps),
    ...createRefundActivities(deps),
    ...createRecoveryActivities(),
    ...createReconciliationActivities(deps),
    ...createRiskActivities({ models: deps.models, rules: deps.riskRules, logger: deps.logger }),
  };
}

export type PaymentActivities = ReturnType<typeof createActivities>;
