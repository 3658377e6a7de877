import { proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import { activityPresets } from './activity-presets.js';

const { sealVoucherLedger } = proxyActivities<PaymentActivities>(activityPresets.voucher);

export interface VoucherLedgerInput {
  periodSeconds: number;
  graceSeconds: number;
}

/**
 * Started by the `voucher-ledger` schedule: seals every finished ledger period (a signed Merkle
 * root over the vouchers issued in it, chained to the previous seal). Vouchers are issued without
 * waiting for it, so the ledger is never a bottleneck of issuance.
 */
export async function voucherLedgerWorkflow(input: VoucherLedgerInput): Promise<number> {
  return sealVoucherLedger(input);
}
