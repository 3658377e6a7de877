export { paymentWorkflow } from './payment.js';
