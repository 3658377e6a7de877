export { paymentWorkflow } from './payment.js';
export { latePaymentWorkflow } from './late-payment.js';
