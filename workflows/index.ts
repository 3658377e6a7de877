export { paymentWorkflow } from './payment.js';
export { latePaymentWorkflow } from './late-payment.js';
export { voucherLedgerWorkflow } from './voucher-ledger.js';
export { apiHousekeepingWorkflow } from './housekeeping.js';
export { paymentRefundsWorkflow } from './refunds.js';
export { webhookResendWorkflow } from './webhook-resend.js';
export { stuckUpdateRecoveryWorkflow } from './stuck-update-recovery.js';
export { channelProbeWorkflow } from './channel-probe.js';
