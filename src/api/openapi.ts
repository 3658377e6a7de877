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
const idempotencyKeyParam = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Up to 255 printable ASCII characters. The first answer is kept for 24 h and replayed to retries ' +
    '(`Idempotent-Replayed: true`); the same key with other parameters, or while the first request runs, answers 409.',
  schema: { type: 'string', maxLength: 255 },
};
/** The four signature headers, all required together (see "Signing requests" in the README). */
const SIGNED = [{ platformKeyId: [], platformTimestamp: [], platformNonce: [], platformSignature: [] }];
const signatureHeader = (name: string, description: string) => ({ type: 'apiKey', in: 'header', name, description });

/** The OpenAPI 3.1 document of the API, built from the same schemas that validate requests. */
export function buildOpenApiDocument(limits: PaymentSchemaLimits): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Knowledge Pay API',
      version: '1',
      description:
        'Payments for knowledge-payment platforms. Amounts are integer minor units of the currency. ' +
        'Every error is `{ error: { type, code, message, param?, requestId } }`. ' +
        'Platform routes are signed: HMAC-SHA256 with the key secret over ' +
        '`timestamp \\n nonce \\n METHOD \\n path?query \\n hex(sha256(body))`, sent as `X-Signature: v1=<hex>` ' +
        'with `X-Key-Id`, `X-Timestamp` (unix seconds, within 300 s) and `X-Nonce` (16-64 characters, never reused). ' +
        'Each key may make `PLATFORM_RATE_LIMIT_PER_MINUTE` requests a minute (429 beyond, with `Retry-After`).',
    },
    paths: {
      '/v1/payments': {
        post: {
          summary: 'Start a payment (or get the one already started for this order)',
          operationId: 'createPayment',
          security: SIGNED,
          parameters: [idempotencyKeyParam],
          requestBody: { required: true, content: json(ref('PaymentRequest')) },
          responses: {
            '201': { description: 'Created; the channel order exists', content: json(ref('Payment')) },
            '200': { description: 'The same request again: the same payment', content: json(ref('Payment')) },
            ...errors(400, 401, 409, 413, 415, 422, 429, 503),
          },
        },
      },
      '/v1/payments/{paymentId}': {
        get: {
          summary: 'Read a payment',
          operationId: 'getPayment',
          security: SIGNED,
          parameters: [paymentIdParam],
          responses: {
            '200': { description: 'The payment', content: json(ref('Payment')) },
            ...errors(401, 404, 429),
          },
        },
      },
      '/v1/payments/{paymentId}/cancel': {
        post: {
          summary: 'Cancel an unpaid payment',
          operationId: 'cancelPayment',
          security: SIGNED,
          parameters: [paymentIdParam, idempotencyKeyParam],
          requestBody: { required: false, content: json(ref('CancelRequest')) },
          responses: {
            '200': { description: 'Canceled', content: json(ref('Payment')) },
            ...errors(401, 404, 409, 422, 429),
          },
        },
      },
      '/v1/vouchers/keys': {
        get: {
          summary: 'The voucher public keys (JWKS)',
          operationId: 'getVoucherKeys',
          responses: { '200': { description: 'JWKS', content: json({ type: 'object' }) }, ...errors(429) },
        },
      },
      '/v1/vouchers/{voucherId}': {
        get: {
          summary: 'Read a voucher',
          operationId: 'getVoucher',
          parameters: [{ name: 'voucherId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'The voucher', content: json(ref('Voucher')) }, ...errors(404, 429) },
        },
      },
      '/v1/vouchers/verify': {
        post: {
          summary: 'Check a voucher: authentic, on record, refunded',
          operationId: 'verifyVoucher',
          requestBody: { required: true, content: json(ref('VoucherToVerify')) },
          responses: {
            '200': { description: 'The verdict', content: json({ type: 'object' }) },
            ...errors(422, 429),
          },
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
      securitySchemes: {
        platformKeyId: signatureHeader('X-Key-Id', 'The id of the platform key (one of PLATFORM_KEYS).'),
        platformTimestamp: signatureHeader('X-Timestamp', 'Unix seconds; within 300 s of the API clock.'),
        platformNonce: signatureHeader('X-Nonce', '16-64 printable characters, new for every request.'),
        platformSignature: signatureHeader('X-Signature', '`v1=` and the hex HMAC-SHA256 of the signed string.'),
      },
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
