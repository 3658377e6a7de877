import { z } from 'zod';
import { PAYMENT_STATUSES } from '../../workflows/contracts.js';
import {
  createCancelRequestSchema,
  createPaymentRequestSchema,
  createVoucherVerifySchema,
  type PaymentSchemaLimits,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

/** The JSON Schema of a request schema: the very schema that validates the requests. */
function requestSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['type', 'code', 'message', 'requestId'],
      properties: {
        type: { type: 'string' },
        code: { type: 'string' },
        message: { type: 'string' },
        param: { type: 'string', description: 'The offending field, as a dotted path.' },
        requestId: { type: 'string' },
      },
    },
  },
};

const paymentSchema: JsonSchema = {
  type: 'object',
  required: ['paymentId', 'orderId', 'status', 'amount', 'currency', 'expiresAt'],
  properties: {
    paymentId: { type: 'string', pattern: '^pay_[a-z2-7]{28}$' },
    orderId: { type: 'string' },
    status: { type: 'string', enum: [...PAYMENT_STATUSES] },
    amount: { type: 'integer', description: 'Integer minor units of `currency`.' },
    currency: { type: 'string' },
    channel: { type: ['string', 'null'] },
    channelTradeNo: { type: ['string', 'null'] },
    payUrl: { type: ['string', 'null'], description: 'The cashier link while the payment awaits payment.' },
    expiresAt: { type: 'string', format: 'date-time' },
    voucher: {
      type: ['object', 'null'],
      properties: { voucherId: { type: 'string' }, digest: { type: 'string' } },
    },
    refunds: { type: 'array', items: { type: 'object' } },
    failureReason: { type: ['string', 'null'] },
    timeline: { type: 'array', items: { type: 'object' } },
  },
};

const voucherSchema: JsonSchema = {
  type: 'object',
  required: ['voucherId', 'paymentId', 'payload', 'digest', 'signature', 'keyId', 'algorithm'],
  properties: {
    voucherId: { type: 'string' },
    paymentId: { type: 'string' },
    payload: { type: 'string', description: 'Canonical JSON of the payment facts.' },
    digest: { type: 'string', description: 'Hex SHA-256 of `payload`.' },
    signature: { type: 'string', description: 'Base64 Ed25519 signature over `payload`.' },
    keyId: { type: 'string', description: 'The `kid` of the key in `/v1/vouchers/keys`.' },
    algorithm: { type: 'string', enum: ['Ed25519'] },
    status: { type: 'string', enum: ['valid', 'void'] },
  },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { description: 'Error', content: json(ref('Error')) }]));
const paymentIdParam = { name: 'paymentId', in: 'path', required: true, schema: { type: 'string' } };

/** The OpenAPI 3.1 document of the API, built from the same schemas that validate requests. */
export function buildOpenApiDocument(limits: PaymentSchemaLimits): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Knowledge Pay API',
      version: '1',
      description:
        'Payments for knowledge-payment platforms. Amounts are integer minor units of the currency. ' +
        'Every error is `{ error: { type, code, message, param?, requestId } }`.',
    },
    paths: {
      '/v1/payments': {
        post: {
          summary: 'Start a payment (or get the one already started for this order)',
          operationId: 'createPayment',
          requestBody: { required: true, content: json(ref('PaymentRequest')) },
          responses: {
            '201': { description: 'Created; the channel order exists', content: json(ref('Payment')) },
            '200': { description: 'The same request again: the same payment', content: json(ref('Payment')) },
            ...errors(400, 409, 413, 415, 422, 503),
          },
        },
      },
      '/v1/payments/{paymentId}': {
        get: {
          summary: 'Read a payment',
          operationId: 'getPayment',
          parameters: [paymentIdParam],
          responses: { '200': { description: 'The payment', content: json(ref('Payment')) }, ...errors(404) },
        },
      },
      '/v1/payments/{paymentId}/cancel': {
        post: {
          summary: 'Cancel an unpaid payment',
          operationId: 'cancelPayment',
          parameters: [paymentIdParam],
          requestBody: { required: false, content: json(ref('CancelRequest')) },
          responses: { '200': { description: 'Canceled', content: json(ref('Payment')) }, ...errors(404, 409, 422) },
        },
      },
      '/v1/vouchers/keys': {
        get: {
          summary: 'The voucher public keys (JWKS)',
          operationId: 'getVoucherKeys',
          responses: { '200': { description: 'JWKS', content: json({ type: 'object' }) } },
        },
      },
      '/v1/vouchers/{voucherId}': {
        get: {
          summary: 'Read a voucher',
          operationId: 'getVoucher',
          parameters: [{ name: 'voucherId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'The voucher', content: json(ref('Voucher')) }, ...errors(404) },
        },
      },
      '/v1/vouchers/verify': {
        post: {
          summary: 'Check a voucher: authentic, on record, refunded',
          operationId: 'verifyVoucher',
          requestBody: { required: true, content: json(ref('VoucherToVerify')) },
          responses: { '200': { description: 'The verdict', content: json({ type: 'object' }) }, ...errors(422) },
        },
      },
      '/healthz': { get: { summary: 'The process is alive', responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Temporal and MongoDB answer',
          responses: { '200': { description: 'Ready' }, '503': { description: 'A dependency does not answer' } },
        },
      },
    },
    components: {
      schemas: {
        PaymentRequest: requestSchema(createPaymentRequestSchema(limits)),
        CancelRequest: requestSchema(createCancelRequestSchema()),
        Payment: paymentSchema,
        Voucher: voucherSchema,
        VoucherToVerify: requestSchema(createVoucherVerifySchema()),
        Error: errorSchema,
      },
    },
  };
}
