import { breakerRequestSchema } from './routes/staff-channels.js';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../../domain/webhooks.js';
import { ITEM_KINDS, PAYMENT_CHANNELS, PAYMENT_STATUSES } from '../../domain/payment.js';
import { CURRENCIES } from '../../domain/money.js';
import { REFUND_STATUSES } from '../../domain/refunds.js';
import { AUDIT_VIA } from '../db/models/audit-entry.js';
import { PAYMENT_ID_PATTERN } from '../payments/identity.js';
import { STAFF_PERMISSIONS, STAFF_ROLES, rolesWith, type StaffPermission } from '../staff/roles.js';
import { VOUCHER_ALGORITHM, type VoucherCheck } from '../vouchers/voucher.js';
import { API_ERRORS, API_ERROR_CODES, type ApiErrorCode } from './errors.js';
import { bodySchema as codecRequestSchema } from './routes/codec.js';
import { dashboardSignInSchema } from './routes/dashboard.js';
import { DASHBOARD_ASSET_NAMES } from '../dashboard/assets.js';
import { RECEIPT_ASSET_NAMES } from '../receipts/assets.js';
import { checkoutMethodSchema, METHOD_CHOICES_PER_MINUTE } from './routes/checkout.js';
import { CHECKOUT_ASSET_NAMES } from '../checkout/assets.js';
import { CHECKOUT_RESULT_DAYS } from '../checkout/link.js';
import { auditQuerySchema } from './routes/staff.js';
import { statsQuerySchema } from './routes/staff-stats.js';
import {
  exceptionListSchema,
  exceptionResolutionSchema,
  reconciliationRunSchema,
} from './routes/staff-reconciliations.js';
import {
  RECONCILIATION_EXCEPTION_KINDS,
  RECONCILIATION_STATUSES,
  RESOLUTION_ACTIONS,
} from '../../domain/reconciliation.js';
import { STATS_COUNTS, STATS_GROUP_BY } from '../../domain/stats.js';
import { nudgeSchema, paymentListSchema, refundListSchema, ticketSchema } from './routes/staff-payments.js';
import {
  createCancelRequestSchema,
  createPaymentRequestSchema,
  createRefundRequestSchema,
  createStaffReasonSchema,
  createStaffRefundRequestSchema,
  createVoucherVerifySchema,
  type PaymentSchemaLimits,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

/** The codes the documented routes answer (the sandbox control API is not documented here). */
export type DocumentedErrorCode = {
  [C in ApiErrorCode]: (typeof API_ERRORS)[C] extends { sandbox: true } ? never : C;
}[ApiErrorCode];

export const DOCUMENTED_ERROR_CODES = API_ERROR_CODES.filter(
  (code): code is DocumentedErrorCode => !('sandbox' in API_ERRORS[code]),
);

/** What each code means, as the document and the page say it; every documented code needs one. */
export const ERROR_CODE_MEANINGS: Record<DocumentedErrorCode, string> = {
  malformed_json: 'The request body is not valid JSON.',
  body_too_deep: 'The request body nests deeper than 16 levels.',
  bad_body: 'The request body could not be read (aborted, or its length is wrong).',
  bad_request: 'The request could not be understood.',
  malformed_path: 'The request path is not valid percent-encoding.',
  idempotency_key_invalid: 'Idempotency-Key must be 1 to 255 printable ASCII characters.',
  authentication_required: 'X-Key-Id, X-Timestamp, X-Nonce and X-Signature are required.',
  signature_invalid: 'The request signature is not valid (unknown key, malformed header, or wrong HMAC).',
  timestamp_out_of_range: 'X-Timestamp is more than 300 s from the API clock.',
  nonce_reused: 'This X-Nonce was already used with this key.',
  staff_token_missing: 'No `Authorization: Bearer <staff token>` header.',
  staff_token_invalid: 'The staff token is malformed, unknown or revoked.',
  codec_unauthorized: 'The codec server needs its bearer token, or a Web UI session cookie from `/codec/session`.',
  metrics_unauthorized:
    'Metrics need `Authorization: Bearer <METRICS_TOKEN>`; with no token set, only this machine may read them.',
  staff_forbidden: "The staff member's role lacks the permission this route needs.",
  four_eyes_required: 'Nobody decides a refund they requested themselves.',
  staff_ticket_invalid: 'The staff ticket does not hold for this operator, action and refund.',
  host_not_allowed: 'The Host header names no host this API serves (loopback, PUBLIC_BASE_URL, CODEC_ALLOWED_HOSTS).',
  origin_not_allowed:
    'This Origin may not make the request: the codec server admits CODEC_CORS_ORIGINS; the dashboard sign-in and sign-out only its own.',
  route_not_found: 'No such route.',
  payment_not_found: 'No payment with this id.',
  refund_not_found: 'No refund with this id (of this payment).',
  voucher_not_found: 'No voucher with this id.',
  unknown_channel: 'No such channel.',
  method_not_allowed: 'The path does not serve this method; `Allow` lists those it does.',
  order_conflict: 'The order already has a payment with different parameters.',
  payment_not_cancelable: 'The payment is paid or already ended, so it cannot be canceled.',
  payment_not_refundable: 'Only succeeded or partially refunded payments can be refunded.',
  refund_not_pending_review: 'The refund is not waiting for a decision.',
  nothing_to_do: "The action does not apply to the payment's present state.",
  exception_already_resolved: 'The reconciliation exception was resolved already (by whom, in the message).',
  reconciliation_not_found: 'No reconciliation with this id.',
  exception_not_found: 'No reconciliation exception with this id.',
  checkout_link_invalid:
    'The checkout link is not valid: its token does not hold for this payment and expiry (or there is no such payment).',
  checkout_link_expired: `The checkout link has expired: it shows the result for ${CHECKOUT_RESULT_DAYS} days after the payment window, then nothing.`,
  method_unavailable:
    'The method chosen on the checkout cannot take the payment now: the payment no longer awaits payment (or its window ended), the channel cannot take it, or its order was closed before.',
  idempotency_key_reused: 'This Idempotency-Key was used with different parameters.',
  idempotency_request_in_progress: 'A request with this Idempotency-Key is still being processed.',
  body_too_large: 'The request body is larger than the API accepts.',
  unsupported_media_type: 'Send the body as application/json.',
  unsupported_encoding: 'Send the body as UTF-8, with no or a supported Content-Encoding.',
  invalid_parameter: 'A field (named in `param`) has a value the API refuses.',
  unknown_parameter: 'A field (named in `param`) is not one the route takes.',
  missing_parameter: 'A required field (named in `param`) is missing.',
  no_channel_available:
    'No enabled channel takes this amount and currency (or the preferred channel); the message lists the currencies, and their channels, that take this amount.',
  return_url_not_allowed:
    "The `returnUrl`'s origin is not one of the platform's configured return origins (`PLATFORM_RETURN_ORIGINS`).",
  fx_rate_unavailable:
    'No exchange quote could be locked for a payment outside the settlement currency (the rate source is down or stale); retry the same request later.',
  refund_exceeds_refundable: "The amount is more than the payment's refundable balance.",
  rate_limited: "Over the minute's request budget; retry after `Retry-After` seconds.",
  internal_error: 'Something went wrong on the API side; retry later with the same request.',
  storage_unavailable: 'MongoDB is busy or unreachable; retry in a moment (with the same Idempotency-Key).',
  request_timeout: 'The request took too long; retry it (with the same Idempotency-Key).',
  codec_busy: 'The codec server has too many payloads waiting for decryption; retry after `Retry-After` seconds.',
  channels_unavailable:
    'No channel could open the payment within CHANNEL_OPEN_RETRY_SECONDS; the payment failed: retry later with a new orderId.',
  risk_blocked: 'The risk check refused the payment (a blocklist, or failed payments in a row); nothing was opened.',
  idempotency_record_unreadable: 'The answer kept for this Idempotency-Key cannot be read; use a new key.',
};

// ---------------------------------------------------------------------------------------------
// Which codes each part of the request pipeline (src/api/app.ts) can answer.

type Codes = readonly DocumentedErrorCode[];

/** Every request: the response timeout and the error handler's last resort. */
const EVERY: Codes = ['internal_error', 'request_timeout'];
/** A route with a path parameter: Express decodes it. */
const PATH_PARAM: Codes = ['malformed_path'];
/** Anything that reads or writes MongoDB. */
const STORAGE: Codes = ['storage_unavailable'];
/** Reading the body's bytes (`express.raw`, `express.json`). */
const BODY_BYTES: Codes = ['body_too_large', 'unsupported_encoding', 'bad_body', 'bad_request'];
/** `jsonBody` / `readRawBody` + `requireJson` + `parseJson` (src/api/body.ts). */
const JSON_BODY: Codes = [...BODY_BYTES, 'unsupported_media_type', 'malformed_json', 'body_too_deep'];
/** The signed platform routes: body bytes, signature, nonce store, rate limit, then JSON. */
const SIGNED: Codes = [
  ...EVERY,
  ...JSON_BODY,
  ...STORAGE,
  'authentication_required',
  'signature_invalid',
  'timestamp_out_of_range',
  'nonce_reused',
  'rate_limited',
];
/** POSTs of the signed routes, behind `Idempotency-Key`. */
const IDEMPOTENT: Codes = [
  'idempotency_key_invalid',
  'idempotency_key_reused',
  'idempotency_request_in_progress',
  'idempotency_record_unreadable',
];
/** The public voucher routes: rate limited per client address, JSON. */
const PUBLIC: Codes = [...EVERY, ...STORAGE, 'rate_limited', ...JSON_BODY];
/** The staff routes: JSON, then the bearer token. */
const STAFF: Codes = [...EVERY, ...JSON_BODY, ...STORAGE, 'staff_token_missing', 'staff_token_invalid'];
/** The codec server's own gate: the Host names this API, an Origin is the Web UI's. */
const CODEC_GATE: Codes = ['host_not_allowed', 'origin_not_allowed'];
/** A body or query validated by a strict schema with required fields. */
const VALIDATION: Codes = ['invalid_parameter', 'unknown_parameter', 'missing_parameter'];
/** A strict schema whose fields are all optional (a query, say): nothing can be missing. */
const OPTIONAL_VALIDATION: Codes = ['invalid_parameter', 'unknown_parameter'];

// ---------------------------------------------------------------------------------------------
// Response schemas: what the routes answer, as zod schemas (so the examples below, and the API's
// real answers in the tests, can be checked against them).

const REFUND_ID_PATTERN = /^rfd_[0-9a-f]{32}$/;
const VOUCHER_ID_PATTERN = /^vch_[a-z2-7]{28}$/;

const instant = z.string().meta({ format: 'date-time', description: 'ISO-8601 instant.' });
const minorUnits = z.number().int().min(0).describe('Integer minor units of the currency.');
const paymentId = z.string().regex(PAYMENT_ID_PATTERN);
const refundId = z.string().regex(REFUND_ID_PATTERN);
const voucherId = z.string().regex(VOUCHER_ID_PATTERN);
const digest = z.string().regex(/^[0-9a-f]{64}$/);

const timelineEntry = z.strictObject({
  at: instant,
  event: z.string().describe('What happened: `channel.order_created`, `payment.paid`, `voucher.issued`, ...'),
  detail: z.string().optional(),
});

const refundItems = z
  .array(z.strictObject({ courseId: z.string(), amount: minorUnits }))
  .describe('The items the refund returns, and how much of each.');
const settlementAmount = minorUnits.describe(
  'A cross-border payment’s refund in the settlement currency, at the sale’s locked quote (its cumulative share).',
);

const fxQuote = z
  .strictObject({
    rate: z.string().describe('Settlement major units per presentment major unit, a decimal string.'),
    presentmentAmount: minorUnits,
    presentmentCurrency: z.enum(CURRENCIES),
    settlementAmount: minorUnits.describe('Converted at `rate`, rounded half to even at the minor unit.'),
    settlementCurrency: z.enum(CURRENCIES),
    quotedAt: instant,
    source: z.string().describe('The rate source (`sandbox`, or the provider behind `FX_RATES_URL`).'),
  })
  .nullable()
  .describe('The exchange quote locked at create time, when `currency` is not `SETTLEMENT_CURRENCY`; otherwise null.');

const paymentAttempt = z.strictObject({
  attempt: z.number().int().min(1),
  channel: z.enum(PAYMENT_CHANNELS),
  outcome: z
    .enum(['declined', 'closed', 'succeeded'])
    .describe(
      '`declined`: the channel refused the try, nothing was charged, the payment stays payable; `closed`: the learner chose another method; `succeeded`: the charge.',
    ),
  at: instant,
  reason: z.string().optional().describe('The channel’s words for a decline.'),
});

const refundSummaryFields = {
  refundId: z.string(),
  amount: minorUnits,
  settlementAmount: settlementAmount.optional(),
  items: refundItems.optional(),
  reason: z.string(),
  currency: z.string().optional(),
  requestedAt: instant.optional(),
  decidedAt: instant.optional(),
  completedAt: instant.optional(),
  reviewReason: z.string().optional(),
  failureReason: z.string().optional(),
};

const paymentFields = {
  paymentId,
  orderId: z.string(),
  status: z.enum(PAYMENT_STATUSES),
  amount: minorUnits,
  currency: z.enum(CURRENCIES),
  channel: z.enum(PAYMENT_CHANNELS).nullable(),
  channelTradeNo: z.string().nullable().describe('The trade number at the channel, once it has one.'),
  expiresAt: instant.describe('When the payment window ends.'),
  voucher: z.strictObject({ voucherId, digest }).nullable().describe('The voucher, once the payment succeeded.'),
  payUrl: z
    .string()
    .nullable()
    .describe('While the payment awaits payment: the hosted checkout, or the channel’s page (`checkout: "channel"`).'),
  fx: fxQuote,
  attempts: z.array(paymentAttempt).describe('The learner’s tries that ended: declines, closed orders, the charge.'),
  failureReason: z.string().nullable().describe('Why the payment failed or needs review.'),
  timeline: z.array(timelineEntry),
};

const paymentSchema = z.strictObject({
  ...paymentFields,
  refunds: z.array(
    z.strictObject({
      ...refundSummaryFields,
      status: z.enum(REFUND_STATUSES).describe('A compensation refund in flight reads `processing`.'),
    }),
  ),
  refundedAmount: minorUnits.describe('The sum of the succeeded refunds.'),
  refundableAmount: minorUnits.describe(
    'What may still be refunded: the amount less every refund that holds a share of it (0 unless succeeded or partially refunded).',
  ),
});

/** The payment as its workflow answers it (the cancel route): without the refund sums. */
const paymentViewSchema = z.strictObject({
  ...paymentFields,
  refunds: z.array(z.strictObject({ ...refundSummaryFields, status: z.enum(['pending', ...REFUND_STATUSES]) })),
});

const paymentCreatedSchema = z.strictObject({
  paymentId,
  orderId: z.string(),
  status: z.enum(PAYMENT_STATUSES),
  amount: minorUnits,
  currency: z.enum(CURRENCIES),
  channel: z.enum(PAYMENT_CHANNELS).nullable(),
  payUrl: z
    .string()
    .nullable()
    .describe(
      'Where the learner pays, while awaiting payment: the hosted checkout (a signed link), or the channel’s page with `checkout: "channel"`.',
    ),
  expiresAt: instant.describe('When the payment window ends.'),
  fx: fxQuote,
});

const refundSchema = z.strictObject({
  refundId,
  paymentId,
  amount: minorUnits,
  currency: z.enum(CURRENCIES),
  status: z.enum(REFUND_STATUSES),
  reason: z.string(),
  metadata: z.record(z.string(), z.string()).optional(),
  requestedAt: instant,
  decidedAt: instant.optional(),
  completedAt: instant.optional(),
  requestedBy: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('platform') }),
    z.strictObject({ kind: z.literal('staff'), operator: z.string(), role: z.string() }),
  ]),
  reviewReason: z.string().optional().describe('Why the refund waits (or waited) for a finance decision.'),
  decision: z
    .strictObject({
      operator: z.string(),
      role: z.string(),
      reason: z.string(),
      via: z.enum(['api', 'temporal-ui']),
    })
    .optional(),
  failureReason: z.string().optional(),
  channelRefundId: z.string().optional(),
  items: refundItems.optional(),
  settlementAmount: settlementAmount.optional(),
});

const voucherSchema = z.strictObject({
  voucherId,
  paymentId,
  payload: z.string().describe('Canonical JSON of the payment facts.'),
  digest: digest.describe('Hex SHA-256 of `payload`.'),
  signature: z.string().describe('Base64 Ed25519 signature over `payload`.'),
  keyId: z.string().describe('The `kid` of the key in `/v1/vouchers/keys`.'),
  algorithm: z.literal(VOUCHER_ALGORITHM),
  status: z.enum(['valid', 'void']),
});

const VOUCHER_REFUSALS = ['unknown_key', 'digest_mismatch', 'bad_signature'] as const satisfies readonly Extract<
  VoucherCheck,
  { authentic: false }
>['reason'][];

const voucherVerdictSchema = z.strictObject({
  authentic: z.boolean().describe('Signed by a key of ours, digest intact.'),
  reason: z.enum(VOUCHER_REFUSALS).optional().describe('Why it is not authentic.'),
  voucherId: z.string().nullable(),
  paymentId: z.string().nullable(),
  onRecord: z.boolean().describe('Issued by this system and still on record with exactly this digest.'),
  void: z.boolean(),
  refunded: z.boolean(),
  paymentStatus: z.enum(PAYMENT_STATUSES).nullable(),
});

const voucherKeysSchema = z.strictObject({
  keys: z.array(
    z.strictObject({
      kty: z.literal('OKP'),
      crv: z.literal('Ed25519'),
      x: z.string().describe('The public key, base64url.'),
      kid: z.string(),
      use: z.literal('sig'),
      alg: z.literal('EdDSA'),
    }),
  ),
});

const dependencyReport = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('ok') }),
  z.strictObject({ status: z.literal('unavailable') }),
]);
const healthSchema = z.strictObject({ status: z.literal('ok') });
const readinessSchema = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  dependencies: z.record(z.string(), dependencyReport),
});

const auditEntrySchema = z.strictObject({
  id: z.string(),
  at: instant,
  operator: z.string().describe('The staff member, or the OS user for the command line.'),
  role: z.string().describe('Their role when they acted.'),
  action: z.string().describe('`refund.request`, `refund.approve`, `webhook.resend`, `staff.add`, ...'),
  target: z.string().describe('What the action was done to, as `kind:id`.'),
  paymentId: z.string().nullable(),
  refundId: z.string().nullable(),
  reason: z.string(),
  before: z.unknown().describe('The state the action changed, before (JSON, or null).'),
  after: z.unknown().describe('The state the action changed, after (JSON, or null).'),
  via: z.enum(AUDIT_VIA),
});

const breakerSchema = z.strictObject({
  state: z.enum(['closed', 'open', 'half_open']),
  since: z.string().nullable(),
  manual: z.boolean().describe('Opened or closed by hand: it stays so until staff change it.'),
  reason: z.string().nullable(),
});
const channelHealthSchema = z.strictObject({
  channel: z.enum(PAYMENT_CHANNELS),
  state: z
    .enum(['healthy', 'degraded', 'open'])
    .describe('`open`: its create breaker is open, routing skips it; `degraded`: failing or slow.'),
  successRate: z.number().min(0).max(1),
  p95Ms: z.number().nullable().describe('Upper bound of the latency slot of the 95th percentile call.'),
  errorRate: z.number().min(0).max(1),
  calls: z.number().int(),
  window: z.string().describe('The sliding window, e.g. `5m`.'),
  since: z.string().describe('When its create breaker last changed, or the window’s start.'),
  breakers: z.record(z.enum(['create', 'query', 'close', 'refund']), breakerSchema),
});

const staffMeSchema = z.strictObject({
  name: z.string(),
  role: z.enum(STAFF_ROLES),
  permissions: z.array(z.enum(STAFF_PERMISSIONS)),
});

const needsAttention = z
  .boolean()
  .describe('In manual review, or a refund waits for review or keeps failing: staff should look.');

const staffPaymentSummarySchema = paymentSchema.omit({ timeline: true }).extend({ needsAttention });

const staffPaymentPageSchema = z.strictObject({
  payments: z.array(staffPaymentSummarySchema),
  nextCursor: paymentId.nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
});

const staffPaymentSchema = z.strictObject({
  payment: paymentSchema.extend({
    needsAttention,
    createdByKeyId: z
      .string()
      .nullable()
      .describe(
        'The `X-Key-Id` of the platform key that opened the payment; null for payments from before it was kept.',
      ),
  }),
  audit: z.array(auditEntrySchema).describe("The payment's audit trail, newest first (at most 200)."),
});

const staffNudgeResultSchema = z.strictObject({
  paymentId,
  result: z.string().describe("The workflow's answer: what it will do now."),
});

const webhookResendSchema = z.strictObject({
  paymentId,
  eventId: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  workflowId: z.string().describe('The workflow that delivers it.'),
});

const refundTicketSchema = z.strictObject({
  workflowId: z.string().describe("The payment's refunds workflow."),
  update: z.enum(['approveRefund', 'rejectRefund']),
  expiresAt: instant,
  input: z
    .strictObject({ refundId, operator: z.string(), reason: z.string(), ticket: z.string() })
    .describe("Paste into the Update's input in the Temporal Web UI, with your reason."),
});

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const codecResultSchema = z.strictObject({
  payloads: z.array(z.strictObject({ metadata: z.record(z.string(), base64), data: base64 })),
});

const ERROR_TYPES = [...new Set(Object.values(API_ERRORS).map((e) => e.type))] as [string, ...string[]];

const errorSchema = z.strictObject({
  error: z.strictObject({
    type: z.enum(ERROR_TYPES),
    code: z.enum(DOCUMENTED_ERROR_CODES as [DocumentedErrorCode, ...DocumentedErrorCode[]]),
    message: z.string(),
    param: z.string().optional().describe('The offending field, as a dotted path.'),
    requestId: z.string().describe('Also in the `X-Request-Id` header; quote it to support.'),
  }),
});

/** Request schemas: the very schemas the routes validate with. */
function requestSchemas(limits: PaymentSchemaLimits) {
  return {
    PaymentRequest: createPaymentRequestSchema(limits),
    CancelRequest: createCancelRequestSchema(),
    RefundRequest: createRefundRequestSchema(limits),
    VoucherToVerify: createVoucherVerifySchema(),
    StaffRefundRequest: createStaffRefundRequestSchema(limits),
    StaffReason: createStaffReasonSchema(),
    StaffNudge: nudgeSchema,
    RefundTicketRequest: ticketSchema,
    BreakerRequest: breakerRequestSchema,
    CodecPayloads: codecRequestSchema,
    DashboardSignIn: dashboardSignInSchema,
    CheckoutMethod: checkoutMethodSchema,
    ReconciliationRun: reconciliationRunSchema,
    ExceptionResolution: exceptionResolutionSchema,
  } satisfies Record<string, z.ZodType>;
}

const rate = z.number().min(0).max(1).nullable();
const statsReportSchema = z.strictObject({
  from: z.string().describe('First day counted (YYYY-MM-DD, in `STATS_UTC_OFFSET_MINUTES`).'),
  to: z.string().describe('Last day counted, included.'),
  groupBy: z.enum(STATS_GROUP_BY),
  groups: z.array(
    z.strictObject({
      key: z.string().describe('The day, channel (`none`: never opened at one), current status or currency.'),
      counts: z
        .strictObject(Object.fromEntries(STATS_COUNTS.map((c) => [c, z.number().int().min(0)])))
        .describe(
          'Payments created, and those that reached each milestone (a refunded payment also counts as succeeded).',
        ),
      amounts: z
        .array(z.strictObject({ currency: z.string(), captured: z.number().int(), refunded: z.number().int() }))
        .describe('Minor units per currency, never summed across currencies.'),
      successRate: rate.describe('Succeeded over succeeded, failed, expired and canceled; null when none ended.'),
      refundCount: z.number().int().min(0).describe('Refunds settled at the channel.'),
      refundRate: rate.describe('Payments with a settled refund over those whose money was taken; null when none.'),
      timeToPaidMs: z
        .strictObject({ p50: z.number().int().nullable(), p95: z.number().int().nullable() })
        .describe('From create to paid, from a histogram whose buckets are 25% wide (upper bounds).'),
    }),
  ),
  needsAttention: z.number().int().min(0).describe('Payments and refunds that need people now (`NeedsAttention`).'),
});

const sideSchema = z
  .strictObject({ status: z.string(), amount: z.number().int(), currency: z.string() })
  .nullable()
  .describe('One side’s status word, amount (minor units) and currency; null when that side has no record.');
const matchedSchema = z.strictObject({
  count: z.number().int().min(0),
  amounts: z.array(z.strictObject({ currency: z.string(), amount: z.number().int() })),
});
const reconciliationExceptionSchema = z.strictObject({
  exceptionId: z.string(),
  reconciliationId: z.string(),
  channel: z.enum(PAYMENT_CHANNELS),
  date: z.string(),
  kind: z.enum(RECONCILIATION_EXCEPTION_KINDS),
  transaction: z.enum(['payment', 'refund']),
  paymentId: z.string(),
  refundId: z.string().nullable(),
  refundNo: z.string().nullable().describe('The refund’s number in the channel’s bill.'),
  channelTradeNo: z.string().nullable(),
  here: sideSchema,
  atChannel: sideSchema,
  state: z.enum(['open', 'resolved']),
  actions: z.array(z.enum(RESOLUTION_ACTIONS)).describe('What resolves it now; empty once resolved.'),
  resolution: z
    .strictObject({
      action: z.string(),
      reason: z.string(),
      by: z.string(),
      role: z.string(),
      at: z.string(),
      effect: z.string().nullable().describe('What the action set going (a refund, a requery), if anything.'),
    })
    .nullable(),
});
const reconciliationSchema = z.strictObject({
  reconciliationId: z.string(),
  channel: z.enum(PAYMENT_CHANNELS),
  date: z.string(),
  status: z.enum(RECONCILIATION_STATUSES),
  requestedBy: z.string().describe('`schedule`, or the staff member who ran it.'),
  startedAt: z.string(),
  completedAt: z.string().nullable(),
  error: z.string().nullable().describe('Why a failed run has no result (`bill_not_ready: ...`).'),
  billLines: z.number().int().min(0),
  matched: z.strictObject({ payments: matchedSchema, refunds: matchedSchema }).nullable(),
  exceptionCount: z.number().int().min(0),
  exceptions: z.array(reconciliationExceptionSchema),
});

const discountSchema = z.strictObject({
  code: z.string().optional(),
  description: z.string(),
  amount: minorUnits,
});

/** What the hosted checkout page shows and follows (src/payments/checkout.ts): never the payment id. */
const checkoutStateSchema = z.strictObject({
  merchantName: z.string().describe('PLATFORM_NAME.'),
  orderId: z.string(),
  status: z.enum(PAYMENT_STATUSES),
  amount: minorUnits,
  currency: z.enum(CURRENCIES),
  items: z.array(
    z.strictObject({
      title: z.string(),
      kind: z.enum(ITEM_KINDS),
      quantity: z.number().int().min(1),
      unitAmount: minorUnits,
      discounts: z.array(discountSchema),
      lineAmount: minorUnits.describe("After the line's own discounts."),
      paidAmount: minorUnits.describe("After the line's own discounts and its share of the order's."),
    }),
  ),
  discounts: z.array(discountSchema).describe("The order's own discounts."),
  totalDiscount: minorUnits,
  fx: z
    .strictObject({
      rate: z.string(),
      presentmentAmount: minorUnits,
      presentmentCurrency: z.enum(CURRENCIES),
      settlementAmount: minorUnits,
      settlementCurrency: z.enum(CURRENCIES),
      quotedAt: instant,
      source: z.string(),
    })
    .nullable()
    .describe('The locked quote, when the settlement currency differs.'),
  expiresAt: instant.describe('When the payment window ends (`e`).'),
  attempts: z.array(
    z.strictObject({
      attempt: z.number().int().min(1),
      channel: z.enum(PAYMENT_CHANNELS),
      outcome: z.enum(['declined', 'closed', 'succeeded']),
      at: instant,
      reason: z.string().optional(),
    }),
  ),
  channel: z.enum(PAYMENT_CHANNELS).nullable().describe('The channel whose order is open, or that took the payment.'),
  methods: z
    .array(z.strictObject({ channel: z.enum(PAYMENT_CHANNELS), current: z.boolean() }))
    .describe('The methods that can take the payment, the current one first; empty unless it can be paid now.'),
  pay: z
    .strictObject({ channel: z.enum(PAYMENT_CHANNELS), kind: z.enum(['qr', 'page']), url: z.string() })
    .nullable()
    .describe("How to pay with the current method: the QR code's content (WeChat Pay, Alipay) or the channel's page."),
  returnUrl: z.string().nullable(),
  voucherId: voucherId.nullable().describe('Once paid: the receipt is `/receipts/<voucherId>`.'),
  phase: z.enum(['payable', 'result']).describe('`payable` until `e`, then `result` (the outcome only).'),
  now: instant.describe("The server's clock, for the countdown."),
});

const responseSchemas = {
  PaymentCreated: paymentCreatedSchema,
  Payment: paymentSchema,
  PaymentView: paymentViewSchema,
  Refund: refundSchema,
  Voucher: voucherSchema,
  VoucherVerdict: voucherVerdictSchema,
  VoucherKeys: voucherKeysSchema,
  Health: healthSchema,
  Readiness: readinessSchema,
  StaffMe: staffMeSchema,
  AuditEntry: auditEntrySchema,
  AuditPage: z.strictObject({ entries: z.array(auditEntrySchema) }),
  StaffPaymentSummary: staffPaymentSummarySchema,
  StaffPaymentPage: staffPaymentPageSchema,
  StaffPayment: staffPaymentSchema,
  StaffNudgeResult: staffNudgeResultSchema,
  WebhookResend: webhookResendSchema,
  RefundPage: z.strictObject({ refunds: z.array(refundSchema) }),
  RefundTicket: refundTicketSchema,
  ChannelHealth: channelHealthSchema,
  ChannelHealthList: z.strictObject({ channels: z.array(channelHealthSchema) }),
  StatsReport: statsReportSchema,
  ReconciliationStarted: z.strictObject({ reconciliationId: z.string(), status: z.literal('running') }),
  Reconciliation: reconciliationSchema,
  ReconciliationException: reconciliationExceptionSchema,
  ReconciliationExceptionPage: z.strictObject({ exceptions: z.array(reconciliationExceptionSchema) }),
  CodecPayloadsResult: codecResultSchema,
  CheckoutState: checkoutStateSchema,
  Error: errorSchema,
} satisfies Record<string, z.ZodType>;

/** Every component schema of the document, by name, as the zod schema it is generated from. */
export function openApiSchemas(limits: PaymentSchemaLimits) {
  return { ...requestSchemas(limits), ...responseSchemas };
}

type SchemaName = keyof ReturnType<typeof openApiSchemas>;

/** Drops what JSON Schema needs no telling: the dialect, ids, and the safe-integer bounds of `.int()`. */
function tidy(value: unknown, response: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => tidy(v, response));
  if (typeof value !== 'object' || value === null) return value;
  const out: JsonSchema = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '$schema' || key === '$id') continue;
    if ((key === 'minimum' || key === 'maximum') && Math.abs(v as number) === Number.MAX_SAFE_INTEGER) continue;
    // Answers may gain fields; requests may not (unknown fields answer 422 unknown_parameter).
    if (response && key === 'additionalProperties' && v === false) continue;
    out[key] = tidy(v, response);
  }
  return out;
}

function componentSchemas(limits: PaymentSchemaLimits): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  const schemas = openApiSchemas(limits);
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas;
  const requests = new Set(Object.keys(requestSchemas(limits)));
  return Object.fromEntries(
    Object.entries(generated).map(([id, schema]) => [id, tidy(schema, !requests.has(id)) as JsonSchema]),
  );
}

// ---------------------------------------------------------------------------------------------
// Examples.

const EX = {
  paymentId: 'pay_k3m7q2xv5bz4hw6nd2tc7yr5jlae',
  voucherId: 'vch_k3m7q2xv5bz4hw6nd2tc7yr5jlae',
  refundId: 'rfd_4f9c1d2e8a7b4c3d9e0f1a2b3c4d5e6f',
  orderId: 'order_10023',
  digest: '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8',
  requestId: 'req_7c1e5a38-2f0b-4d7e-9a51-3c2b8e6f4d10',
};

const paymentRequestExample = {
  orderId: EX.orderId,
  customerId: 'learner_4411',
  currency: 'CNY',
  amount: 19_900,
  items: [{ courseId: 'ml-101', title: 'Machine learning, part 1', unitAmount: 19_900, quantity: 1 }],
  channel: 'alipay',
  expiresInSeconds: 900,
  description: 'Machine learning, part 1',
};

const paymentCreatedExample = {
  paymentId: EX.paymentId,
  orderId: EX.orderId,
  status: 'awaiting_payment',
  amount: 19_900,
  currency: 'CNY',
  channel: 'alipay',
  payUrl: `https://pay.example.com/checkout/${EX.paymentId}?e=1796206500&t=Qm9vay1hbmQtbGVhcm4tVHlwZVNjcmlwdC0xMDEtbm93`,
  expiresAt: '2026-12-02T10:15:00.000Z',
  fx: null,
};

const timelineExample = [
  { at: '2026-12-02T10:00:00.120Z', event: 'channel.order_created', detail: 'alipay' },
  { at: '2026-12-02T10:03:41.510Z', event: 'payment.paid', detail: '2026120222001400000000000001' },
  { at: '2026-12-02T10:03:41.700Z', event: 'voucher.issued', detail: EX.voucherId },
  { at: '2026-12-03T09:12:05.000Z', event: 'refund.requested', detail: `${EX.refundId}: 9900 CNY` },
];

const refundExample = {
  refundId: EX.refundId,
  paymentId: EX.paymentId,
  amount: 9_900,
  currency: 'CNY',
  status: 'processing',
  reason: 'The learner dropped part 1 within the trial week',
  metadata: { ticket: 'CS-2211' },
  requestedAt: '2026-12-03T09:12:05.000Z',
  requestedBy: { kind: 'platform' },
};

const paymentViewExample = {
  paymentId: EX.paymentId,
  orderId: EX.orderId,
  status: 'partially_refunded',
  amount: 19_900,
  currency: 'CNY',
  channel: 'alipay',
  channelTradeNo: '2026120222001400000000000001',
  expiresAt: '2026-12-02T10:15:00.000Z',
  voucher: { voucherId: EX.voucherId, digest: EX.digest },
  refunds: [
    {
      refundId: EX.refundId,
      amount: 9_900,
      status: 'succeeded',
      reason: refundExample.reason,
      currency: 'CNY',
      requestedAt: '2026-12-03T09:12:05.000Z',
      completedAt: '2026-12-03T09:12:09.000Z',
    },
  ],
  payUrl: null,
  fx: null,
  attempts: [{ attempt: 1, channel: 'alipay', outcome: 'succeeded', at: '2026-12-02T10:03:41.510Z' }],
  failureReason: null,
  timeline: timelineExample,
};

const paymentExample = { ...paymentViewExample, refundedAmount: 9_900, refundableAmount: 10_000 };

const canceledExample = {
  ...paymentViewExample,
  status: 'canceled',
  channelTradeNo: null,
  voucher: null,
  refunds: [],
  attempts: [],
  timeline: [
    { at: '2026-12-02T10:00:00.120Z', event: 'channel.order_created', detail: 'alipay' },
    { at: '2026-12-02T10:01:30.000Z', event: 'channel.close', detail: 'alipay' },
  ],
};

const auditExample = {
  id: 'aud_0b6f1c3e-57d4-4a8e-9d1a-1f2e3d4c5b6a',
  at: '2026-12-03T11:02:00.000Z',
  operator: 'mei',
  role: 'finance',
  action: 'refund.approve',
  target: `refund:${EX.refundId}`,
  paymentId: EX.paymentId,
  refundId: EX.refundId,
  reason: 'Within the trial week; approved',
  before: { status: 'pending_review' },
  after: { status: 'processing' },
  via: 'api',
};

const { metadata: _metadata, ...platformRefundFields } = refundExample;
const staffRefundExample = {
  ...platformRefundFields,
  amount: 19_900,
  status: 'pending_review',
  reason: 'Charged twice at the channel, per the learner',
  requestedBy: { kind: 'staff', operator: 'li', role: 'support' },
  reviewReason: 'requested by staff (li)',
};

const { timeline: _timeline, ...paymentSummaryFields } = paymentExample;

const decidedRefundExample = {
  ...staffRefundExample,
  status: 'processing',
  decidedAt: '2026-12-03T11:02:00.000Z',
  decision: { operator: 'mei', role: 'finance', reason: 'Within the trial week; approved', via: 'api' },
};

const voucherExample = {
  voucherId: EX.voucherId,
  paymentId: EX.paymentId,
  payload: `{"amount":19900,"channel":"alipay","currency":"CNY","orderId":"${EX.orderId}","paymentId":"${EX.paymentId}","voucherId":"${EX.voucherId}"}`,
  digest: EX.digest,
  signature: 'mQ3i3Lr0m1QkZ2x7c9d1f4a8b6e0c2d4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f==',
  keyId: 'vk-2026-11',
  algorithm: 'Ed25519',
  status: 'valid',
};

function errorExample(code: DocumentedErrorCode) {
  return {
    error: {
      type: API_ERRORS[code].type,
      code,
      message: ERROR_CODE_MEANINGS[code],
      requestId: EX.requestId,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Operations.

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });

interface ResponseSpec {
  description: string;
  schema?: SchemaName;
  example?: unknown;
  /** Content other than one JSON schema (the channels' own acknowledgements). */
  content?: Record<string, unknown>;
  headers?: Record<string, unknown>;
}

type Auth = 'signed' | 'public' | 'staff' | 'codec' | 'none';

interface OperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: Auth;
  permission?: StaffPermission;
  parameters?: JsonSchema[];
  request?: { schema: SchemaName; example: unknown; required: boolean };
  responses: Record<string, ResponseSpec>;
  errors: Codes;
}

const SECURITY: Record<Auth, unknown[] | undefined> = {
  signed: [{ platformKeyId: [], platformTimestamp: [], platformNonce: [], platformSignature: [] }],
  staff: [{ staffToken: [] }],
  codec: [{ codecToken: [] }],
  public: [],
  none: [],
};

function errorResponses(codes: Codes): Record<string, JsonSchema> {
  const wanted = new Set(codes);
  const byStatus = new Map<string, DocumentedErrorCode[]>();
  for (const code of DOCUMENTED_ERROR_CODES.filter((c) => wanted.has(c))) {
    const status = String(API_ERRORS[code].status);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      {
        description: list.map((c) => `\`${c}\`: ${ERROR_CODE_MEANINGS[c]}`).join(' '),
        'x-error-codes': list,
        content: {
          'application/json': {
            schema: { ...ref('Error'), properties: { error: { properties: { code: { enum: list } } } } },
            example: errorExample(list[0] as DocumentedErrorCode),
          },
        },
      },
    ]),
  );
}

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds until the rate limit window resets (on 429).' } };
const RETRY_SOON = {
  'Retry-After': {
    description: 'Seconds to wait before retrying the same request (503; 409 `idempotency_request_in_progress`).',
  },
};

function operation(spec: OperationSpec): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.headers ? { headers: r.headers } : {}),
      ...(r.content
        ? { content: r.content }
        : r.schema
          ? { content: { 'application/json': { schema: ref(r.schema), example: r.example } } }
          : {}),
    };
  }
  for (const [status, errors] of Object.entries(errorResponses(spec.errors))) {
    const ok = responses[status];
    if (!ok) {
      const headers =
        status === '429'
          ? RETRY_AFTER
          : status === '503' || (errors['x-error-codes'] as string[]).includes('idempotency_request_in_progress')
            ? RETRY_SOON
            : undefined;
      responses[status] = headers ? { ...errors, headers } : errors;
      continue;
    }
    // The status also answers something else (a channel acknowledgement, a readiness report).
    const content = (ok.content ?? {}) as Record<string, JsonSchema>;
    const errorContent = (errors.content as Record<string, JsonSchema>)['application/json'] as JsonSchema;
    const existing = content['application/json'];
    responses[status] = {
      ...ok,
      description: `${String(ok.description)}; or an error: ${String(errors.description)}`,
      'x-error-codes': errors['x-error-codes'],
      content: {
        ...content,
        'application/json': existing
          ? { schema: { anyOf: [existing.schema, errorContent.schema] }, example: existing.example }
          : errorContent,
      },
    };
  }
  const permission = spec.permission
    ? `Needs the \`${spec.permission}\` permission (roles: ${rolesWith(spec.permission).join(', ')}). `
    : '';
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description || permission ? { description: `${permission}${spec.description ?? ''}`.trim() } : {}),
    tags: [spec.tag],
    security: SECURITY[spec.auth],
    ...(spec.permission ? { 'x-staff-permission': spec.permission } : {}),
    ...(spec.parameters?.length ? { parameters: spec.parameters } : {}),
    ...(spec.request
      ? {
          requestBody: {
            required: spec.request.required,
            content: { 'application/json': { schema: ref(spec.request.schema), example: spec.request.example } },
          },
        }
      : {}),
    responses,
  };
}

const pathParam = (name: string, pattern: RegExp, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', pattern: pattern.source },
});
const paymentIdParam = pathParam(
  'paymentId',
  PAYMENT_ID_PATTERN,
  'The payment id from the create answer; any other id answers 404 `payment_not_found`.',
);
const channelParam = {
  name: 'channel',
  in: 'path',
  required: true,
  description: 'An enabled channel; any other answers 404 `unknown_channel`.',
  schema: { type: 'string', enum: [...PAYMENT_CHANNELS] },
};
const closedBreaker = { state: 'closed', since: null, manual: false, reason: null } as const;
const channelHealthExample = {
  channel: 'alipay' as const,
  state: 'healthy' as const,
  successRate: 0.996,
  p95Ms: 500,
  errorRate: 0.004,
  calls: 1250,
  window: '5m',
  since: '2026-12-02T09:55:00.000Z',
  breakers: { create: closedBreaker, query: closedBreaker, close: closedBreaker, refund: closedBreaker } as Record<
    'create' | 'query' | 'close' | 'refund',
    { state: 'closed' | 'open'; since: string | null; manual: boolean; reason: string | null }
  >,
};
const refundIdParam = pathParam(
  'refundId',
  REFUND_ID_PATTERN,
  'The refund id from the refund answer; any other id answers 404 `refund_not_found`.',
);
const idempotencyKeyParam = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Up to 255 printable ASCII characters. The first answer is kept for 24 h and replayed to retries ' +
    '(`Idempotent-Replayed: true`); the same key with other parameters, or while the first request runs, answers 409.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e][\\x20-\\x7e]{0,254}$' },
};

/** The query parameters of a strict query schema, generated from it. */
function queryParams(schema: z.ZodType): JsonSchema[] {
  const json = tidy(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), false) as JsonSchema;
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries(json.properties as Record<string, JsonSchema>).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

function platformOperations(): Record<string, Record<string, JsonSchema>> {
  return {
    '/v1/payments': {
      post: operation({
        operationId: 'createPayment',
        summary: 'Start a payment (or get the one already started for this order)',
        description:
          'Opens a channel order and answers once the learner can pay. The same order id with the same ' +
          'parameters answers the same payment (200); with other parameters, 409 `order_conflict`. A payment ' +
          'the risk check holds answers `status: "risk_review"` with no `payUrl` until staff allow it; one it ' +
          'refuses answers 403 `risk_blocked`.',
        tag: 'Payments',
        auth: 'signed',
        parameters: [idempotencyKeyParam],
        request: { schema: 'PaymentRequest', example: paymentRequestExample, required: true },
        responses: {
          '201': {
            description: 'Created; the channel order exists',
            schema: 'PaymentCreated',
            example: paymentCreatedExample,
          },
          '200': {
            description: 'The same request again: the same payment',
            schema: 'PaymentCreated',
            example: paymentCreatedExample,
          },
        },
        errors: [
          ...SIGNED,
          ...IDEMPOTENT,
          ...VALIDATION,
          'no_channel_available',
          'return_url_not_allowed',
          'fx_rate_unavailable',
          'order_conflict',
          'channels_unavailable',
          'risk_blocked',
        ],
      }),
    },
    '/v1/payments/{paymentId}': {
      get: operation({
        operationId: 'getPayment',
        summary: 'Read a payment',
        tag: 'Payments',
        auth: 'signed',
        parameters: [paymentIdParam],
        responses: { '200': { description: 'The payment', schema: 'Payment', example: paymentExample } },
        errors: [...SIGNED, ...PATH_PARAM, 'payment_not_found'],
      }),
    },
    '/v1/payments/{paymentId}/cancel': {
      post: operation({
        operationId: 'cancelPayment',
        summary: 'Cancel an unpaid payment',
        description: 'Closes the channel order. Canceling a canceled payment again answers it as the first time did.',
        tag: 'Payments',
        auth: 'signed',
        parameters: [paymentIdParam, idempotencyKeyParam],
        request: { schema: 'CancelRequest', example: { reason: 'The learner changed their mind' }, required: false },
        responses: {
          '200': {
            description: 'Canceled: the payment as its workflow holds it (without the refund sums)',
            schema: 'PaymentView',
            example: canceledExample,
          },
        },
        errors: [
          ...SIGNED,
          ...IDEMPOTENT,
          ...PATH_PARAM,
          ...OPTIONAL_VALIDATION,
          'payment_not_found',
          'payment_not_cancelable',
        ],
      }),
    },
    '/v1/payments/{paymentId}/refunds': {
      post: operation({
        operationId: 'requestRefund',
        summary: 'Refund part or all of a paid payment',
        description:
          'Refunds above the review threshold, or late ones, wait for a finance decision (`pending_review`). ' +
          'With an Idempotency-Key, a retried request answers the same refund.',
        tag: 'Refunds',
        auth: 'signed',
        parameters: [paymentIdParam, idempotencyKeyParam],
        request: {
          schema: 'RefundRequest',
          example: { amount: 9_900, reason: refundExample.reason, metadata: { ticket: 'CS-2211' } },
          required: true,
        },
        responses: { '201': { description: 'The refund, as requested', schema: 'Refund', example: refundExample } },
        errors: [
          ...SIGNED,
          ...IDEMPOTENT,
          ...PATH_PARAM,
          ...VALIDATION,
          'payment_not_found',
          'payment_not_refundable',
          'refund_exceeds_refundable',
        ],
      }),
    },
    '/v1/payments/{paymentId}/refunds/{refundId}': {
      get: operation({
        operationId: 'getRefund',
        summary: 'Read a refund of a payment',
        tag: 'Refunds',
        auth: 'signed',
        parameters: [paymentIdParam, refundIdParam],
        responses: {
          '200': {
            description: 'The refund',
            schema: 'Refund',
            example: { ...refundExample, status: 'succeeded', completedAt: '2026-12-03T09:12:09.000Z' },
          },
        },
        errors: [...SIGNED, ...PATH_PARAM, 'refund_not_found'],
      }),
    },
    '/v1/vouchers/keys': {
      get: operation({
        operationId: 'getVoucherKeys',
        summary: 'The voucher public keys (JWKS), to verify vouchers offline',
        tag: 'Vouchers',
        auth: 'public',
        responses: {
          '200': {
            description: 'JWKS (cacheable for 300 s)',
            schema: 'VoucherKeys',
            example: {
              keys: [
                {
                  kty: 'OKP',
                  crv: 'Ed25519',
                  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
                  kid: 'vk-2026-11',
                  use: 'sig',
                  alg: 'EdDSA',
                },
              ],
            },
          },
        },
        errors: PUBLIC,
      }),
    },
    '/v1/vouchers/verify': {
      post: operation({
        operationId: 'verifyVoucher',
        summary: 'Check a voucher: authentic, on record, refunded',
        description: 'Takes a voucher as `GET /v1/vouchers/{voucherId}` gives it; other fields are ignored.',
        tag: 'Vouchers',
        auth: 'public',
        request: {
          schema: 'VoucherToVerify',
          example: {
            payload: voucherExample.payload,
            digest: EX.digest,
            signature: voucherExample.signature,
            keyId: voucherExample.keyId,
          },
          required: true,
        },
        responses: {
          '200': {
            description: 'The verdict',
            schema: 'VoucherVerdict',
            example: {
              authentic: true,
              voucherId: EX.voucherId,
              paymentId: EX.paymentId,
              onRecord: true,
              void: false,
              refunded: false,
              paymentStatus: 'succeeded',
            },
          },
        },
        errors: [...PUBLIC, 'invalid_parameter', 'missing_parameter'],
      }),
    },
    '/v1/vouchers/{voucherId}': {
      get: operation({
        operationId: 'getVoucher',
        summary: 'Read a voucher',
        tag: 'Vouchers',
        auth: 'public',
        parameters: [pathParam('voucherId', VOUCHER_ID_PATTERN, 'Any other id answers 404 `voucher_not_found`.')],
        responses: { '200': { description: 'The voucher', schema: 'Voucher', example: voucherExample } },
        errors: [...PUBLIC, ...PATH_PARAM, 'voucher_not_found'],
      }),
    },
    '/v1/callbacks/{channel}': {
      post: operation({
        operationId: 'channelCallback',
        summary: "A channel's asynchronous notification, in the channel's own format",
        description:
          'For Alipay and WeChat Pay only: verified on the raw bytes, recorded, and handed to the payment. ' +
          "Acknowledged in the channel's format only once the payment took it; a notification that fails " +
          'verification or does not match the payment is refused (the channel resends on its schedule).',
        tag: 'Channels',
        auth: 'none',
        parameters: [
          {
            name: 'channel',
            in: 'path',
            required: true,
            description: 'Any other channel answers 404 `unknown_channel`.',
            schema: { type: 'string', enum: [...PAYMENT_CHANNELS] },
          },
        ],
        responses: {
          '200': {
            description: 'Alipay: taken (`success`)',
            content: { 'text/plain': { schema: { type: 'string', const: 'success' }, example: 'success' } },
          },
          '204': { description: 'WeChat Pay: taken' },
          '400': {
            description: 'Refused, so the channel resends: Alipay `fail`, WeChat Pay `{"code":"FAIL","message":...}`',
            content: {
              'text/plain': { schema: { type: 'string', const: 'fail' }, example: 'fail' },
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['code', 'message'],
                  properties: { code: { type: 'string', const: 'FAIL' }, message: { type: 'string' } },
                },
                example: { code: 'FAIL', message: 'try again later' },
              },
            },
          },
        },
        errors: [...EVERY, ...BODY_BYTES, ...STORAGE, ...PATH_PARAM, 'unknown_channel'],
      }),
    },
  };
}

function staffOperations(): Record<string, Record<string, JsonSchema>> {
  const staff = (spec: Omit<OperationSpec, 'auth' | 'tag' | 'errors'> & { errors: Codes }) =>
    operation({
      ...spec,
      tag: 'Staff',
      auth: 'staff',
      errors: [...STAFF, ...(spec.permission ? (['staff_forbidden'] as const) : []), ...spec.errors],
    });
  const nudge = (kind: 'requery' | 'retry', permission: StaffPermission, summary: string, result: string) =>
    staff({
      operationId: kind === 'requery' ? 'staffRequeryChannel' : 'staffRetryNow',
      summary,
      description:
        "Without `refundId`, on the payment's own workflow; with it, on that refund (404 `refund_not_found` " +
        "unless it is this payment's). 409 `nothing_to_do` when nothing waits for it, or the payment's workflow has ended.",
      permission,
      parameters: [paymentIdParam],
      request: {
        schema: 'StaffNudge',
        example: { reason: 'The channel says paid; the learner sent a receipt', refundId: EX.refundId },
        required: true,
      },
      responses: {
        '200': {
          description: "The workflow's answer",
          schema: 'StaffNudgeResult',
          example: { paymentId: EX.paymentId, result },
        },
      },
      errors: [...PATH_PARAM, ...VALIDATION, 'payment_not_found', 'refund_not_found', 'nothing_to_do'],
    });
  const riskDecision = (decision: 'allow' | 'block') =>
    staff({
      operationId: decision === 'allow' ? 'staffAllowPayment' : 'staffBlockPayment',
      summary:
        decision === 'allow'
          ? 'Let a payment the risk check held go on to a channel (audited)'
          : 'Refuse a payment the risk check held: it fails, nothing is opened (audited)',
      description: '409 `nothing_to_do` unless the payment is `risk_review`.',
      permission: 'risk.decide',
      parameters: [paymentIdParam],
      request: {
        schema: 'StaffReason',
        example: { reason: decision === 'allow' ? 'The learner confirmed by phone' : 'Card testing pattern' },
        required: true,
      },
      responses: {
        '200': {
          description: "The workflow's answer",
          schema: 'StaffNudgeResult',
          example: {
            paymentId: EX.paymentId,
            result: decision === 'allow' ? 'allowed: routing the payment' : 'blocked: the payment fails',
          },
        },
      },
      errors: [...PATH_PARAM, ...VALIDATION, 'payment_not_found', 'nothing_to_do'],
    });
  const decide = (decision: 'approve' | 'reject') =>
    staff({
      operationId: decision === 'approve' ? 'staffApproveRefund' : 'staffRejectRefund',
      summary: `${decision === 'approve' ? 'Approve' : 'Reject'} a refund waiting for review`,
      description: 'Nobody decides a refund they requested (403 `four_eyes_required`).',
      permission: 'refunds.decide',
      parameters: [refundIdParam],
      request: { schema: 'StaffReason', example: { reason: 'Within the trial week; approved' }, required: true },
      responses: {
        '200': {
          description: 'The refund after the decision',
          schema: 'Refund',
          example:
            decision === 'approve'
              ? decidedRefundExample
              : {
                  ...decidedRefundExample,
                  status: 'rejected',
                  completedAt: decidedRefundExample.decidedAt,
                  decision: { ...decidedRefundExample.decision, reason: 'Outside the trial week' },
                },
        },
      },
      errors: [
        ...PATH_PARAM,
        ...VALIDATION,
        'refund_not_found',
        'payment_not_found',
        'refund_not_pending_review',
        'four_eyes_required',
        'staff_ticket_invalid',
      ],
    });
  return {
    '/staff/v1/me': {
      get: staff({
        operationId: 'staffMe',
        summary: 'Who the token belongs to, and what their role may do',
        responses: {
          '200': {
            description: 'The staff member',
            schema: 'StaffMe',
            example: {
              name: 'li',
              role: 'support',
              permissions: [
                'payments.read',
                'payments.requery',
                'payments.retry',
                'refunds.request',
                'webhooks.resend',
                'audit.read',
                'channels.read',
              ],
            },
          },
        },
        errors: [],
      }),
    },
    '/staff/v1/audit': {
      get: staff({
        operationId: 'staffAudit',
        summary: 'The audit trail, newest first',
        permission: 'audit.read',
        parameters: queryParams(auditQuerySchema),
        responses: {
          '200': { description: 'Audit entries', schema: 'AuditPage', example: { entries: [auditExample] } },
        },
        errors: OPTIONAL_VALIDATION,
      }),
    },
    '/staff/v1/payments': {
      get: staff({
        operationId: 'staffListPayments',
        summary: 'Payments by payment id, a page at a time',
        permission: 'payments.read',
        parameters: queryParams(paymentListSchema),
        responses: {
          '200': {
            description: 'A page of payments (without their timelines)',
            schema: 'StaffPaymentPage',
            example: {
              payments: [{ ...paymentSummaryFields, needsAttention: false }],
              nextCursor: EX.paymentId,
            },
          },
        },
        errors: OPTIONAL_VALIDATION,
      }),
    },
    '/staff/v1/payments/{paymentId}': {
      get: staff({
        operationId: 'staffGetPayment',
        summary: 'A payment and its audit trail',
        permission: 'payments.read',
        parameters: [paymentIdParam],
        responses: {
          '200': {
            description: 'The payment and what staff did to it',
            schema: 'StaffPayment',
            example: {
              payment: { ...paymentExample, needsAttention: false, createdByKeyId: 'shop-orders' },
              audit: [auditExample],
            },
          },
        },
        errors: [...PATH_PARAM, 'payment_not_found'],
      }),
    },
    '/staff/v1/payments/{paymentId}/refunds': {
      post: staff({
        operationId: 'staffRequestRefund',
        summary: 'Request a refund on behalf of a learner (it waits for a finance decision)',
        permission: 'refunds.request',
        parameters: [paymentIdParam],
        request: {
          schema: 'StaffRefundRequest',
          example: { amount: 19_900, reason: staffRefundExample.reason },
          required: true,
        },
        responses: {
          '201': { description: 'The refund, as requested', schema: 'Refund', example: staffRefundExample },
        },
        errors: [
          ...PATH_PARAM,
          ...VALIDATION,
          'payment_not_found',
          'payment_not_refundable',
          'refund_exceeds_refundable',
        ],
      }),
    },
    '/staff/v1/payments/{paymentId}/requery': {
      post: nudge(
        'requery',
        'payments.requery',
        'Ask the channel now where the payment (or a refund) stands',
        `requeryChannel sent to ${EX.refundId}`,
      ),
    },
    '/staff/v1/payments/{paymentId}/retry': {
      post: nudge(
        'retry',
        'payments.retry',
        'Try a failing step (or refund) again now',
        `retryNow sent to ${EX.refundId}`,
      ),
    },
    '/staff/v1/payments/{paymentId}/allow': { post: riskDecision('allow') },
    '/staff/v1/payments/{paymentId}/block': { post: riskDecision('block') },
    '/staff/v1/payments/{paymentId}/resend-webhook': {
      post: staff({
        operationId: 'staffResendWebhook',
        summary: "Send the payment's last final webhook to the platform again",
        description: '409 `nothing_to_do` while the payment has sent no final webhook.',
        permission: 'webhooks.resend',
        parameters: [paymentIdParam],
        request: {
          schema: 'StaffReason',
          example: { reason: 'The platform lost the event in an outage' },
          required: true,
        },
        responses: {
          '202': {
            description: 'Accepted: a workflow delivers it',
            schema: 'WebhookResend',
            example: {
              paymentId: EX.paymentId,
              eventId: `evt_${EX.paymentId}_succeeded`,
              type: 'payment.succeeded',
              workflowId: `${EX.paymentId}-resend-5b0c2a1e-8d3f-4e6a-9b7c-1d2e3f4a5b6c`,
            },
          },
        },
        errors: [...PATH_PARAM, ...VALIDATION, 'payment_not_found', 'nothing_to_do'],
      }),
    },
    '/staff/v1/reconciliations': {
      post: staff({
        operationId: 'staffRunReconciliation',
        summary: 'Reconcile a channel’s bill of a day against the payments',
        description:
          'Starts a run (a Temporal workflow whose id is the `reconciliationId`) that downloads the channel’s bill of the Beijing day, matches every line to a payment or refund by the channel’s order and refund numbers, and records each difference as an exception. Today reconciles the day so far. Read the result with GET. Each enabled channel is also reconciled every day at `RECONCILIATION_TIME` for the day before.',
        permission: 'reconciliations.run',
        request: { schema: 'ReconciliationRun', example: { channel: 'wechatpay', date: '2026-12-02' }, required: true },
        responses: {
          '202': {
            description: 'The run, started',
            schema: 'ReconciliationStarted',
            example: { reconciliationId: 'rec_wechatpay_20261202_k3v9q2mx', status: 'running' },
          },
        },
        errors: VALIDATION,
      }),
    },
    '/staff/v1/reconciliations/{reconciliationId}': {
      get: staff({
        operationId: 'staffReconciliation',
        summary: 'A reconciliation run: matched counts and amounts, and its exceptions with both sides',
        permission: 'reconciliations.read',
        parameters: [
          {
            name: 'reconciliationId',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: 'rec_wechatpay_20261202_k3v9q2mx',
          },
        ],
        responses: {
          '200': {
            description: 'The run (`running`, `completed` or `failed` with its `error`)',
            schema: 'Reconciliation',
            example: {
              reconciliationId: 'rec_wechatpay_20261202_k3v9q2mx',
              channel: 'wechatpay',
              date: '2026-12-02',
              status: 'completed',
              requestedBy: 'ana',
              startedAt: '2026-12-03T02:30:00.000Z',
              completedAt: '2026-12-03T02:30:02.000Z',
              error: null,
              billLines: 412,
              matched: {
                payments: { count: 401, amounts: [{ currency: 'CNY', amount: 7_941_900 }] },
                refunds: { count: 9, amounts: [{ currency: 'CNY', amount: 120_000 }] },
              },
              exceptionCount: 1,
              exceptions: [
                {
                  exceptionId: 'rec_wechatpay_20261202_k3v9q2mx.1',
                  reconciliationId: 'rec_wechatpay_20261202_k3v9q2mx',
                  channel: 'wechatpay',
                  date: '2026-12-02',
                  kind: 'amount_mismatch',
                  transaction: 'payment',
                  paymentId: EX.paymentId,
                  refundId: null,
                  refundNo: null,
                  channelTradeNo: '4200002026120212345678',
                  here: { status: 'succeeded', amount: 19_900, currency: 'CNY' },
                  atChannel: { status: 'SUCCESS', amount: 20_000, currency: 'CNY' },
                  state: 'open',
                  actions: ['explain', 'refund'],
                  resolution: null,
                },
              ],
            },
          },
        },
        errors: [...PATH_PARAM, 'reconciliation_not_found'],
      }),
    },
    '/staff/v1/reconciliation-exceptions': {
      get: staff({
        operationId: 'staffReconciliationExceptions',
        summary: 'Reconciliation exceptions, newest first (open, resolved, or both)',
        permission: 'reconciliations.read',
        parameters: queryParams(exceptionListSchema),
        responses: {
          '200': {
            description: 'The exceptions',
            schema: 'ReconciliationExceptionPage',
            example: { exceptions: [] },
          },
        },
        errors: OPTIONAL_VALIDATION,
      }),
    },
    '/staff/v1/reconciliation-exceptions/{exceptionId}/resolve': {
      post: staff({
        operationId: 'staffResolveReconciliationException',
        summary: 'Resolve a reconciliation exception with one audited action',
        description:
          '`adopt` (a charge the payment still waits for: the saga asks the channel and takes it), `refund` (a charge after the payment ended: the saga’s late-payment refund; for the other kinds: a refund on request, reviewed like any, of `amount`), or `explain` (nothing moves; the reason says why). Only the exception’s `actions` are accepted. The exception stays listed as resolved.',
        permission: 'reconciliations.resolve',
        parameters: [
          {
            name: 'exceptionId',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: 'rec_wechatpay_20261202_k3v9q2mx.1',
          },
        ],
        request: {
          schema: 'ExceptionResolution',
          example: { action: 'explain', reason: 'WeChat Pay corrected the amount in the next day’s bill' },
          required: true,
        },
        responses: {
          '200': {
            description: 'The exception, resolved',
            schema: 'ReconciliationException',
            example: {
              exceptionId: 'rec_wechatpay_20261202_k3v9q2mx.1',
              reconciliationId: 'rec_wechatpay_20261202_k3v9q2mx',
              channel: 'wechatpay',
              date: '2026-12-02',
              kind: 'amount_mismatch',
              transaction: 'payment',
              paymentId: EX.paymentId,
              refundId: null,
              refundNo: null,
              channelTradeNo: '4200002026120212345678',
              here: { status: 'succeeded', amount: 19_900, currency: 'CNY' },
              atChannel: { status: 'SUCCESS', amount: 20_000, currency: 'CNY' },
              state: 'resolved',
              actions: [],
              resolution: {
                action: 'explain',
                reason: 'WeChat Pay corrected the amount in the next day’s bill',
                by: 'ana',
                role: 'finance',
                at: '2026-12-03T03:00:00.000Z',
                effect: null,
              },
            },
          },
        },
        errors: [
          ...PATH_PARAM,
          ...VALIDATION,
          'exception_not_found',
          'exception_already_resolved',
          'payment_not_found',
          'payment_not_refundable',
          'refund_exceeds_refundable',
          'nothing_to_do',
        ],
      }),
    },
    '/staff/v1/stats': {
      get: staff({
        operationId: 'staffStats',
        summary: 'Payment statistics per day, channel, status or currency',
        description:
          'From rollups the saga keeps at each change of a payment (idempotent: a retried write never counts twice). Days are in `STATS_UTC_OFFSET_MINUTES` (Beijing time by default); at most 366 days.',
        permission: 'stats.read',
        parameters: queryParams(statsQuerySchema),
        responses: {
          '200': {
            description: 'The groups, and what needs people now',
            schema: 'StatsReport',
            example: {
              from: '2026-11-27',
              to: '2026-12-03',
              groupBy: 'channel',
              groups: [
                {
                  key: 'alipay',
                  counts: {
                    created: 120,
                    succeeded: 96,
                    failed: 0,
                    expired: 18,
                    canceled: 4,
                    refunded: 2,
                    partially_refunded: 5,
                  },
                  amounts: [{ currency: 'CNY', captured: 1_910_400, refunded: 61_700 }],
                  successRate: 0.8276,
                  refundCount: 7,
                  refundRate: 0.0729,
                  timeToPaidMs: { p50: 37_253, p95: 181_899 },
                },
              ],
              needsAttention: 1,
            },
          },
        },
        errors: OPTIONAL_VALIDATION,
      }),
    },
    '/staff/v1/channels': {
      get: staff({
        operationId: 'staffChannels',
        summary: 'Every enabled channel’s health over the window, as every process sees it',
        permission: 'channels.read',
        responses: {
          '200': {
            description: 'Channel health',
            schema: 'ChannelHealthList',
            example: { channels: [channelHealthExample] },
          },
        },
        errors: [],
      }),
    },
    '/staff/v1/channels/{channel}/breaker': {
      post: staff({
        operationId: 'staffSetBreaker',
        summary: 'Open a channel operation’s breaker by hand, or close it (audited)',
        description: 'An open `create` breaker makes routing skip the channel until it is closed.',
        permission: 'channels.manage',
        parameters: [channelParam],
        request: {
          schema: 'BreakerRequest',
          example: { operation: 'create', state: 'open', reason: 'Alipay announced maintenance until 02:00' },
          required: true,
        },
        responses: {
          '200': {
            description: 'The channel’s health after the change',
            schema: 'ChannelHealth',
            example: {
              ...channelHealthExample,
              state: 'open',
              breakers: {
                ...channelHealthExample.breakers,
                create: {
                  state: 'open',
                  since: '2026-12-02T10:00:00.000Z',
                  manual: true,
                  reason: 'Alipay announced maintenance until 02:00',
                },
              },
            },
          },
        },
        errors: [...PATH_PARAM, ...VALIDATION, 'unknown_channel'],
      }),
    },
    '/staff/v1/refunds': {
      get: staff({
        operationId: 'staffListRefunds',
        summary: 'Refunds, newest first (the review queue with `status=pending_review`)',
        permission: 'payments.read',
        parameters: queryParams(refundListSchema),
        responses: {
          '200': { description: 'Refunds', schema: 'RefundPage', example: { refunds: [staffRefundExample] } },
        },
        errors: OPTIONAL_VALIDATION,
      }),
    },
    '/staff/v1/refunds/{refundId}': {
      get: staff({
        operationId: 'staffGetRefund',
        summary: 'A refund',
        permission: 'payments.read',
        parameters: [refundIdParam],
        responses: { '200': { description: 'The refund', schema: 'Refund', example: staffRefundExample } },
        errors: [...PATH_PARAM, 'refund_not_found'],
      }),
    },
    '/staff/v1/refunds/{refundId}/approve': { post: decide('approve') },
    '/staff/v1/refunds/{refundId}/reject': { post: decide('reject') },
    '/staff/v1/refunds/{refundId}/ticket': {
      post: staff({
        operationId: 'staffRefundTicket',
        summary: 'A ticket to decide the refund in the Temporal Web UI instead (valid 10 minutes)',
        permission: 'refunds.decide',
        parameters: [refundIdParam],
        request: { schema: 'RefundTicketRequest', example: { action: 'approveRefund' }, required: true },
        responses: {
          '201': {
            description: 'The Update to send, and its input',
            schema: 'RefundTicket',
            example: {
              workflowId: `${EX.paymentId}-refunds`,
              update: 'approveRefund',
              expiresAt: '2026-12-03T11:12:00.000Z',
              input: {
                refundId: EX.refundId,
                operator: 'mei',
                reason: '<your reason>',
                ticket: 'v1.eyJvcGVyYXRvciI6Im1laSJ9.c2ln',
              },
            },
          },
        },
        errors: [...PATH_PARAM, ...VALIDATION, 'refund_not_found'],
      }),
    },
  };
}

/**
 * The staff dashboard's pages (src/api/routes/dashboard.ts). Its data and actions are the staff
 * routes', which take its session cookie in place of the bearer token.
 */
function dashboardOperations(): Record<string, Record<string, JsonSchema>> {
  const html = (example: string) => ({ 'text/html': { schema: { type: 'string' }, example } });
  const cookie =
    '`kp_dashboard_session=<random id>; Path=/; Max-Age=<DASHBOARD_SESSION_MINUTES × 60>; HttpOnly; SameSite=Strict` ' +
    '(and `Secure` when PUBLIC_BASE_URL is https)';
  return {
    '/dashboard': {
      get: operation({
        operationId: 'dashboardPage',
        summary: 'The staff dashboard, or its sign-in page',
        description:
          'With a current session cookie, the dashboard: totals per currency, charts per day and per channel, refunds, ' +
          'channel health, payments that need attention, refunds waiting for review and reconciliation exceptions, ' +
          'refreshed every 10 s from `/staff/v1`; otherwise the sign-in form. English or Chinese by `?lang=en|zh` ' +
          '(remembered in the `kp_lang` cookie), else by Accept-Language. Served with a Content-Security-Policy that ' +
          'allows only its own scripts, style sheet and API.',
        tag: 'Dashboard',
        auth: 'none',
        parameters: [
          {
            name: 'lang',
            in: 'query',
            required: false,
            description: 'The language to show, remembered for the next visit.',
            schema: { type: 'string', enum: ['en', 'zh'] },
          },
          {
            name: 'signIn',
            in: 'query',
            required: false,
            description: 'Where a refused sign-in form lands: the form says the token was not valid.',
            schema: { type: 'string', enum: ['invalid'] },
          },
        ],
        responses: {
          '200': {
            description: 'HTML: the dashboard with a session, the sign-in form without one',
            content: html(
              '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Knowledge Pay · Staff dashboard</title>...',
            ),
          },
        },
        errors: [...EVERY, ...STORAGE],
      }),
    },
    '/dashboard/session': {
      post: {
        ...operation({
          operationId: 'dashboardSignIn',
          summary: 'Sign in to the dashboard with a staff token (audited)',
          description:
            `Sets ${cookie}. A form is answered with a redirect to the dashboard (or, for a token that is not valid, ` +
            'back to the sign-in form, `/dashboard?signIn=invalid`, which says so); JSON with who signed in, or 401. A browser must send it from the dashboard ' +
            "itself (another site's `Origin` answers 403). At most 30 attempts a minute per client address. " +
            'Audited as `dashboard.sign_in`.',
          tag: 'Dashboard',
          auth: 'none',
          responses: {
            '200': {
              description: 'Signed in (a JSON request)',
              headers: { 'Set-Cookie': { description: cookie } },
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['name', 'role', 'expiresAt'],
                    properties: {
                      name: { type: 'string' },
                      role: { type: 'string', enum: [...STAFF_ROLES] },
                      expiresAt: { type: 'string', format: 'date-time' },
                    },
                  },
                  example: { name: 'mei', role: 'finance', expiresAt: '2026-12-03T19:00:00.000Z' },
                },
              },
            },
            '303': {
              description:
                'A form: signed in, see the dashboard (`Location: /dashboard`, with the cookie); or the token is not ' +
                'valid, back to the form (`Location: /dashboard?signIn=invalid`, no cookie)',
              headers: { 'Set-Cookie': { description: cookie } },
              content: {
                'text/plain': { schema: { type: 'string' }, example: 'See Other. Redirecting to /dashboard' },
              },
            },
          },
          errors: [
            ...EVERY,
            ...STORAGE,
            ...BODY_BYTES,
            'unsupported_media_type',
            'malformed_json',
            'staff_token_invalid',
            'origin_not_allowed',
            'rate_limited',
          ],
        }),
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } },
              example: 'token=kpstaff_...',
            },
            'application/json': { schema: ref('DashboardSignIn'), example: { token: 'kpstaff_...' } },
          },
        },
      },
      delete: operation({
        operationId: 'dashboardSignOut',
        summary: 'Sign out of the dashboard (audited)',
        description:
          'Ends the session of the cookie sent (audited as `dashboard.sign_out`) and clears the cookie. From the ' +
          "dashboard itself: another site's `Origin` answers 403.",
        tag: 'Dashboard',
        auth: 'none',
        responses: {
          '200': {
            description: 'Signed out: `signedOut` says whether the cookie named a session that was still open',
            headers: { 'Set-Cookie': { description: '`kp_dashboard_session=; Path=/; Expires=<the past>` (cleared)' } },
            content: {
              'application/json': {
                schema: { type: 'object', required: ['signedOut'], properties: { signedOut: { type: 'boolean' } } },
                example: { signedOut: true },
              },
            },
          },
        },
        errors: [...EVERY, ...STORAGE, 'origin_not_allowed'],
      }),
    },
    '/dashboard/assets/{file}': {
      get: operation({
        operationId: 'dashboardAsset',
        summary: "The dashboard's script, style sheet and Chart.js, served by the API itself (no CDN)",
        tag: 'Dashboard',
        auth: 'none',
        parameters: [
          {
            name: 'file',
            in: 'path',
            required: true,
            description: 'One of the files; any other answers 404 `route_not_found`.',
            schema: { type: 'string', enum: [...DASHBOARD_ASSET_NAMES] },
          },
        ],
        responses: {
          '200': {
            description: 'The file (`Cache-Control: no-cache`: revalidated by its ETag)',
            content: {
              'application/javascript': { schema: { type: 'string' }, example: "'use strict';..." },
              'text/css': { schema: { type: 'string' }, example: ':root { ... }' },
            },
          },
        },
        errors: [...EVERY, ...PATH_PARAM, 'route_not_found'],
      }),
    },
  };
}

/**
 * The hosted checkout (src/api/routes/checkout.ts): the learner's page at the payment's signed
 * link, and what the page reads and sends. Every path but the assets takes the link's `e` and `t`.
 */
function checkoutOperations(): Record<string, Record<string, JsonSchema>> {
  const linkParameters = [
    {
      name: 'paymentId',
      in: 'path',
      required: true,
      description: 'The payment the link is for (an id that cannot be one is answered as not found, unread).',
      schema: { type: 'string', pattern: PAYMENT_ID_PATTERN.source },
    },
    {
      name: 'e',
      in: 'query',
      required: true,
      description: 'The end of the payment window, Unix seconds, as the link carries it.',
      schema: { type: 'string', pattern: '^\\d{1,12}$' },
    },
    {
      name: 't',
      in: 'query',
      required: true,
      description: "The link's token: base64url HMAC-SHA256 of `checkout|<paymentId>|<e>`.",
      schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' },
    },
  ];
  const LINK: Codes = ['checkout_link_invalid', 'checkout_link_expired'];
  const stateExample = {
    merchantName: 'Knowledge Shop',
    orderId: EX.orderId,
    status: 'awaiting_payment',
    amount: 39_900,
    currency: 'CNY',
    items: [
      {
        title: 'TypeScript bundle',
        kind: 'bundle',
        quantity: 1,
        unitAmount: 49_900,
        discounts: [{ description: 'Bundle price', amount: 5_000 }],
        lineAmount: 44_900,
        paidAmount: 39_900,
      },
    ],
    discounts: [{ code: 'SPRING', description: 'Spring sale', amount: 5_000 }],
    totalDiscount: 10_000,
    fx: null,
    expiresAt: '2026-11-24T10:15:00.000Z',
    attempts: [],
    channel: 'alipay',
    methods: [
      { channel: 'alipay', current: true },
      { channel: 'wechatpay', current: false },
      { channel: 'unionpay', current: false },
    ],
    pay: { channel: 'alipay', kind: 'qr', url: 'https://qr.alipay.com/bax08112xhyxkvze4kqg0034' },
    returnUrl: 'https://shop.example/orders/order_10023',
    voucherId: null,
    phase: 'payable',
    now: '2026-11-24T10:02:41.000Z',
  };
  return {
    '/checkout/{paymentId}': {
      get: operation({
        operationId: 'checkoutPage',
        summary: "The learner's checkout page (HTML)",
        description:
          'The order (merchant, order id, items with their kinds and discounts, order discounts, the total and, for a ' +
          'cross-border payment, the settlement amount), the methods that can take the payment (the current one first), ' +
          "a QR code for WeChat Pay and Alipay or a button to the channel's page, a countdown to `e`, and the result " +
          `(success with the receipt link, a declined try, expiry). Payable until \`e\`; the result only for ${CHECKOUT_RESULT_DAYS} days ` +
          'after it. English or Chinese by `?lang=en|zh`, else by Accept-Language. A link that is not valid answers a ' +
          'browser (one asking for HTML first) a page saying so (404), an expired one 410; any other client gets ' +
          '`checkout_link_invalid` or `checkout_link_expired`. Served with `Content-Security-Policy` allowing only its own script, ' +
          'style sheet, images and endpoints, `Referrer-Policy: no-referrer` and `Cache-Control: no-store`.',
        tag: 'Checkout',
        auth: 'none',
        parameters: [
          ...linkParameters,
          {
            name: 'lang',
            in: 'query',
            required: false,
            description: 'The language to show.',
            schema: { type: 'string', enum: ['en', 'zh'] },
          },
        ],
        responses: {
          '200': {
            description: 'HTML: the checkout',
            content: {
              'text/html': {
                schema: { type: 'string' },
                example:
                  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout · Knowledge Shop</title>...',
              },
            },
          },
          '404': {
            description: 'HTML: the link is not valid',
            content: {
              'text/html': {
                schema: { type: 'string' },
                example: '<!doctype html>...This payment link is not valid...',
              },
            },
          },
          '410': {
            description: 'HTML: the link has expired',
            content: {
              'text/html': {
                schema: { type: 'string' },
                example: '<!doctype html>...This payment link has expired...',
              },
            },
          },
        },
        errors: [...EVERY, ...PATH_PARAM, ...STORAGE, ...LINK],
      }),
    },
    '/checkout/{paymentId}/state': {
      get: operation({
        operationId: 'checkoutState',
        summary: 'What the checkout page shows, as JSON',
        tag: 'Checkout',
        auth: 'none',
        parameters: linkParameters,
        responses: { '200': { description: 'The checkout state', schema: 'CheckoutState', example: stateExample } },
        errors: [...EVERY, ...PATH_PARAM, ...STORAGE, ...LINK],
      }),
    },
    '/checkout/{paymentId}/events': {
      get: operation({
        operationId: 'checkoutEvents',
        summary: 'The checkout state as server-sent events, each time it changes',
        description:
          '`event: state` with the `CheckoutState` as `data`, first at once and then on every change (checked each ' +
          'second), with a comment line every 15 s while nothing changes. The stream ends once the payment is settled, ' +
          'or after 5 minutes (the page opens another, or polls `state`).',
        tag: 'Checkout',
        auth: 'none',
        parameters: linkParameters,
        responses: {
          '200': {
            description: 'text/event-stream',
            content: {
              'text/event-stream': {
                schema: { type: 'string' },
                example: 'retry: 2000\n\nevent: state\ndata: {"merchantName":"Knowledge Shop",...}\n\n',
              },
            },
          },
        },
        errors: [...EVERY, ...PATH_PARAM, ...STORAGE, ...LINK],
      }),
    },
    '/checkout/{paymentId}/qr.svg': {
      get: operation({
        operationId: 'checkoutQrCode',
        summary: 'The QR code of the open WeChat Pay or Alipay order, as SVG',
        tag: 'Checkout',
        auth: 'none',
        parameters: [
          ...linkParameters,
          {
            name: 'channel',
            in: 'query',
            required: true,
            description: "The method whose code to draw: the current one's (`wechatpay` or `alipay`).",
            schema: { type: 'string', enum: [...PAYMENT_CHANNELS] },
          },
        ],
        responses: {
          '200': {
            description: 'SVG',
            content: {
              'image/svg+xml': {
                schema: { type: 'string' },
                example: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 37 37" shape-rendering="crispEdges">...',
              },
            },
          },
        },
        errors: [...EVERY, ...PATH_PARAM, ...STORAGE, ...LINK, ...VALIDATION, 'method_unavailable'],
      }),
    },
    '/checkout/{paymentId}/method': {
      post: operation({
        operationId: 'checkoutChooseMethod',
        summary: 'Choose (or switch to) another method of paying',
        description:
          "The payment's workflow closes the open channel order (a payment made while closing counts as paid) and opens " +
          'one at the chosen channel; the answer is the checkout state with it current. Only while the payment awaits ' +
          `payment and until \`e\`; a channel whose order was closed before is not offered again. At most ${METHOD_CHOICES_PER_MINUTE} ` +
          'a minute per client address.',
        tag: 'Checkout',
        auth: 'none',
        parameters: linkParameters,
        request: { schema: 'CheckoutMethod', example: { channel: 'wechatpay' }, required: true },
        responses: {
          '200': {
            description: 'The checkout state, with the chosen method current',
            schema: 'CheckoutState',
            example: {
              ...stateExample,
              channel: 'wechatpay',
              methods: [
                { channel: 'wechatpay', current: true },
                { channel: 'unionpay', current: false },
              ],
              pay: { channel: 'wechatpay', kind: 'qr', url: 'weixin://wxpay/bizpayurl?pr=NwY5Mz9' },
              attempts: [{ attempt: 1, channel: 'alipay', outcome: 'closed', at: '2026-11-24T10:03:02.000Z' }],
            },
          },
        },
        errors: [
          ...EVERY,
          ...PATH_PARAM,
          ...STORAGE,
          ...JSON_BODY,
          ...LINK,
          ...VALIDATION,
          'rate_limited',
          'payment_not_found',
          'method_unavailable',
        ],
      }),
    },
    '/checkout/assets/{file}': {
      get: operation({
        operationId: 'checkoutAsset',
        summary: "The checkout page's script and style sheet, served by the API itself (no CDN)",
        tag: 'Checkout',
        auth: 'none',
        parameters: [
          {
            name: 'file',
            in: 'path',
            required: true,
            description: 'One of the files; any other answers 404 `route_not_found`.',
            schema: { type: 'string', enum: [...CHECKOUT_ASSET_NAMES] },
          },
        ],
        responses: {
          '200': {
            description: 'The file (`Cache-Control: no-cache`: revalidated by its ETag)',
            content: {
              'application/javascript': { schema: { type: 'string' }, example: "'use strict';..." },
              'text/css': { schema: { type: 'string' }, example: ':root { ... }' },
            },
          },
        },
        errors: [...EVERY, ...PATH_PARAM, 'route_not_found'],
      }),
    },
  };
}

/**
 * The learner's receipt (src/api/routes/receipts.ts): public like the voucher it shows, at the
 * voucher's unguessable id.
 */
function receiptOperations(): Record<string, Record<string, JsonSchema>> {
  const voucherIdParam = pathParam(
    'voucherId',
    VOUCHER_ID_PATTERN,
    'The voucher id of a paid payment; any other id answers 404 `voucher_not_found` without a lookup.',
  );
  const langParam = {
    name: 'lang',
    in: 'query',
    required: false,
    description: 'English or Chinese; without it, by Accept-Language.',
    schema: { type: 'string', enum: ['en', 'zh'] },
  };
  const documentHeaders = {
    'Cache-Control': { description: '`public, max-age=300`: a refund voids the receipt within five minutes' },
    'Referrer-Policy': { description: '`no-referrer`: the address never reaches another site' },
  };
  const errors: Codes = [...EVERY, ...STORAGE, 'rate_limited', ...PATH_PARAM, 'voucher_not_found'];
  return {
    '/receipts/{voucherId}': {
      get: operation({
        operationId: 'receiptPage',
        summary: "The learner's receipt, as a page",
        description:
          "Rendered from the signed voucher's payload alone: the merchant (PLATFORM_NAME), order, time paid, channel, each " +
          "line with its kind and discounts, the order's discounts, the total paid and, for a cross-border payment, the " +
          "locked exchange quote. A refunded payment's receipt says it is void. Its script verifies the Ed25519 signature " +
          'and SHA-256 digest in the browser against `/v1/vouchers/keys`; its QR code opens this page at `#verify`. ' +
          'Served with a Content-Security-Policy that allows only its own script, style sheet and the public voucher routes.',
        tag: 'Receipts',
        auth: 'public',
        parameters: [voucherIdParam, langParam],
        responses: {
          '200': {
            description: 'HTML',
            headers: documentHeaders,
            content: {
              'text/html': {
                schema: { type: 'string' },
                example:
                  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Receipt · Knowledge Shop · order_10023</title>...',
              },
            },
          },
        },
        errors,
      }),
    },
    '/receipts/{voucherId}.pdf': {
      get: operation({
        operationId: 'receiptPdf',
        summary: "The learner's receipt, as a PDF",
        description:
          'The same receipt as an A4 PDF, with the QR code, key id and digest; Chinese text in an embedded Noto Sans SC ' +
          'subset. `Content-Disposition: inline; filename="receipt-<orderId>.pdf"`.',
        tag: 'Receipts',
        auth: 'public',
        parameters: [voucherIdParam, langParam],
        responses: {
          '200': {
            description: 'The PDF',
            headers: {
              ...documentHeaders,
              'Content-Disposition': { description: '`inline; filename="receipt-<orderId>.pdf"`' },
            },
            content: { 'application/pdf': { schema: { type: 'string', format: 'binary' }, example: '%PDF-1.3 ...' } },
          },
        },
        errors,
      }),
    },
    '/receipts/assets/{file}': {
      get: operation({
        operationId: 'receiptAsset',
        summary: "The receipt page's script and style sheet, served by the API itself (no CDN)",
        tag: 'Receipts',
        auth: 'public',
        parameters: [
          {
            name: 'file',
            in: 'path',
            required: true,
            description: 'One of the files; any other answers 404 `route_not_found`.',
            schema: { type: 'string', enum: [...RECEIPT_ASSET_NAMES] },
          },
        ],
        responses: {
          '200': {
            description: 'The file (`Cache-Control: no-cache`: revalidated by its ETag)',
            content: {
              'application/javascript': { schema: { type: 'string' }, example: "'use strict';..." },
              'text/css': { schema: { type: 'string' }, example: ':root { ... }' },
            },
          },
        },
        errors: [...EVERY, ...STORAGE, 'rate_limited', ...PATH_PARAM, 'route_not_found'],
      }),
    },
  };
}

function serviceOperations(): Record<string, Record<string, JsonSchema>> {
  const codec = (kind: 'encode' | 'decode') =>
    operation({
      operationId: kind === 'encode' ? 'codecEncode' : 'codecDecode',
      summary: `${kind === 'encode' ? 'Encrypt' : 'Decrypt'} Temporal payloads for the Web UI (codec server)`,
      description:
        "The Temporal Web UI's and CLI's codec endpoint. The Host must be loopback's, PUBLIC_BASE_URL's or one " +
        "of CODEC_ALLOWED_HOSTS; an Origin must be one of CODEC_CORS_ORIGINS (the UI's; `OPTIONS` answers 204). " +
        'Authenticated by the bearer token, or from the Web UI by the session cookie of `POST /codec/session`; ' +
        'at most CODEC_MAX_PAYLOADS payloads and CODEC_BODY_LIMIT_BYTES bytes a request, ' +
        'CODEC_RATE_LIMIT_PER_MINUTE requests a minute per client address.',
      tag: 'Operations',
      auth: 'codec',
      request: {
        schema: 'CodecPayloads',
        example: { payloads: [{ metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA==' }, data: 'AAECAwQ=' }] },
        required: true,
      },
      responses: {
        '200': {
          description: 'The payloads, in order',
          schema: 'CodecPayloadsResult',
          example: { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'eyJvayI6dHJ1ZX0=' }] },
        },
      },
      errors: [
        ...EVERY,
        ...CODEC_GATE,
        'codec_unauthorized',
        'rate_limited',
        ...STORAGE,
        'malformed_json',
        ...BODY_BYTES,
        ...VALIDATION,
        ...(kind === 'decode' ? (['codec_busy'] as const) : []),
      ],
    });
  const codecSession = {
    get: operation({
      operationId: 'codecSessionPage',
      summary: 'The page where a browser starts a codec session for the Web UI',
      description:
        'The Web UI cannot send the codec bearer token, only cookies: here a person enters the token once, and ' +
        'the Web UI in this browser may decode (with "Include cross-origin credentials" in its codec settings).',
      tag: 'Operations',
      auth: 'none',
      responses: {
        '200': {
          description: 'HTML, with no scripts',
          content: {
            'text/html': {
              schema: { type: 'string' },
              example:
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Codec server session</title>...',
            },
          },
        },
      },
      errors: [...EVERY, ...CODEC_GATE],
    }),
    post: {
      ...operation({
        operationId: 'codecSessionStart',
        summary: 'Start a 12-hour codec session in this browser',
        description:
          'Sets the `kp_codec_session` cookie (HttpOnly, SameSite=Strict, path `/codec`) when `token` is the ' +
          "codec server token, then redirects to the page. The cookie counts only on requests with one of the Web UI's origins.",
        tag: 'Operations',
        auth: 'none',
        responses: {
          '303': {
            description: 'Session started: see the page',
            headers: { 'Set-Cookie': { description: '`kp_codec_session=v1.<expiry>.<mac>`' } },
            content: {
              'text/plain': { schema: { type: 'string' }, example: 'See Other. Redirecting to /codec/session' },
            },
          },
        },
        errors: [
          ...EVERY,
          ...CODEC_GATE,
          'codec_unauthorized',
          'rate_limited',
          ...STORAGE,
          'unsupported_media_type',
          ...BODY_BYTES,
        ],
      }),
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } },
            example: 'token=cst_...',
          },
        },
      },
    },
  };
  return {
    '/healthz': {
      get: operation({
        operationId: 'healthz',
        summary: 'The process is alive',
        tag: 'Operations',
        auth: 'none',
        responses: { '200': { description: 'Alive', schema: 'Health', example: { status: 'ok' } } },
        errors: EVERY,
      }),
    },
    '/readyz': {
      get: operation({
        operationId: 'readyz',
        summary: 'Temporal and MongoDB answer',
        tag: 'Operations',
        auth: 'none',
        responses: {
          '200': {
            description: 'Ready',
            schema: 'Readiness',
            example: { status: 'ready', dependencies: { temporal: { status: 'ok' }, mongodb: { status: 'ok' } } },
          },
          '503': {
            description: 'A dependency does not answer',
            schema: 'Readiness',
            example: {
              status: 'not_ready',
              dependencies: {
                temporal: { status: 'ok' },
                mongodb: { status: 'unavailable' },
              },
            },
          },
        },
        errors: EVERY,
      }),
    },
    '/metrics': {
      get: operation({
        operationId: 'metrics',
        summary: 'The API process’s metrics, in Prometheus text format',
        description:
          'Requests by method, route pattern and status (count and latency), callbacks by channel and outcome, idempotency replays and rate-limit refusals by scope, and the process’s own. `Authorization: Bearer <METRICS_TOKEN>`; with no token set, only a scraper on this machine may read them.',
        tag: 'Operations',
        auth: 'none',
        responses: {
          '200': {
            description: 'Prometheus text exposition format 0.0.4',
            content: {
              'text/plain': {
                schema: { type: 'string' },
                example:
                  '# HELP kp_http_requests_total HTTP requests answered, by method, route pattern and status\n# TYPE kp_http_requests_total counter\nkp_http_requests_total{method="POST",route="/v1/payments/",status="201"} 42\n',
              },
            },
          },
        },
        errors: [...EVERY, 'metrics_unauthorized'],
      }),
    },
    '/openapi.json': {
      get: operation({
        operationId: 'openapi',
        summary: 'This document',
        tag: 'Operations',
        auth: 'none',
        responses: {
          '200': {
            description: 'OpenAPI 3.1',
            content: {
              'application/json': {
                schema: { type: 'object', required: ['openapi', 'info', 'paths'] },
                example: { openapi: '3.1.0', info: { title: 'Knowledge Pay API', version: '1' }, paths: {} },
              },
            },
          },
        },
        errors: EVERY,
      }),
    },
    '/docs': {
      get: operation({
        operationId: 'docs',
        summary: 'This document, for people',
        tag: 'Operations',
        auth: 'none',
        responses: {
          '200': {
            description: 'HTML, with no scripts',
            content: {
              'text/html': {
                schema: { type: 'string' },
                example: '<!doctype html><html lang="en"><head><title>Knowledge Pay API</title>...',
              },
            },
          },
        },
        errors: EVERY,
      }),
    },
    '/codec/encode': { post: codec('encode') },
    '/codec/decode': { post: codec('decode') },
    '/codec/session': codecSession,
  };
}

/** Paths whose routers answer any other method with 405 (the others fall through to a 404). */
const OTHER_METHODS_405 =
  /^\/(v1\/(payments|vouchers)|staff\/v1\/|dashboard|receipts\/|checkout|openapi\.json$|docs$|metrics$)/;

function otherMethods(path: string): JsonSchema {
  const code: DocumentedErrorCode = OTHER_METHODS_405.test(path) ? 'method_not_allowed' : 'route_not_found';
  return {
    [String(API_ERRORS[code].status)]: {
      description: `Any method not listed here: \`${code}\``,
      'x-error-codes': [code],
    },
  };
}

/** The OpenAPI 3.1 document of the API, built from the same schemas that validate requests. */
export function buildOpenApiDocument(limits: PaymentSchemaLimits): JsonSchema {
  const operations = {
    ...platformOperations(),
    ...staffOperations(),
    ...dashboardOperations(),
    ...receiptOperations(),
    ...checkoutOperations(),
    ...serviceOperations(),
  };
  const paths = Object.fromEntries(
    Object.entries(operations).map(([path, item]) => [path, { ...item, 'x-other-methods': otherMethods(path) }]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Knowledge Pay API',
      version: '1',
      description:
        'Payments for knowledge-payment platforms. Amounts are integer minor units of the currency. ' +
        'Every error is `{ error: { type, code, message, param?, requestId } }`; each operation lists the codes it ' +
        'answers by status (`x-error-codes`). ' +
        'Platform routes are signed: HMAC-SHA256 with the key secret over ' +
        '`timestamp \\n nonce \\n METHOD \\n path?query \\n hex(sha256(body))`, sent as `X-Signature: v1=<hex>` ' +
        'with `X-Key-Id`, `X-Timestamp` (unix seconds, within 300 s) and `X-Nonce` (16-64 characters, never reused). ' +
        'Each key may make `PLATFORM_RATE_LIMIT_PER_MINUTE` requests a minute, and each client address ' +
        '`PUBLIC_RATE_LIMIT_PER_MINUTE` voucher requests (429 beyond, with `Retry-After`). ' +
        'Staff routes take `Authorization: Bearer <staff token>` (`npm run staff -- add <name> --role <role>`).',
    },
    tags: [
      { name: 'Payments', description: 'Signed platform routes: take and read payments.' },
      { name: 'Refunds', description: 'Signed platform routes: refunds after the sale.' },
      { name: 'Vouchers', description: 'Public: anyone holding a voucher may check it.' },
      { name: 'Channels', description: "The channels' notifications." },
      { name: 'Staff', description: 'Support, finance and admins, with a staff bearer token.' },
      {
        name: 'Dashboard',
        description:
          'Staff in a browser: sign in with a staff token, then the page reads `/staff/v1` with a session cookie.',
      },
      {
        name: 'Checkout',
        description:
          'Learners in a browser: the hosted checkout of a payment, at its signed link (`payUrl`): `?e=<expiry>&t=<token>` on every path.',
      },
      {
        name: 'Receipts',
        description: "Public: a learner's receipt at its voucher's id, as a page that verifies itself and as a PDF.",
      },
      { name: 'Operations', description: 'Health, this document, and the codec server for the Temporal Web UI.' },
    ],
    paths,
    'x-error-catalog': Object.fromEntries(
      DOCUMENTED_ERROR_CODES.map((code) => [
        code,
        { status: API_ERRORS[code].status, type: API_ERRORS[code].type, meaning: ERROR_CODE_MEANINGS[code] },
      ]),
    ),
    'x-other-paths': {
      '404': {
        description:
          'Any path not listed here (under `/v1` and `/staff/v1`, only once the request is signed or authenticated)',
        'x-error-codes': ['route_not_found'],
      },
    },
    components: {
      securitySchemes: {
        platformKeyId: signatureHeader('X-Key-Id', 'The id of the platform key (one of PLATFORM_KEYS).'),
        platformTimestamp: signatureHeader('X-Timestamp', 'Unix seconds; within 300 s of the API clock.'),
        platformNonce: signatureHeader('X-Nonce', '16-64 printable characters, new for every request.'),
        platformSignature: signatureHeader('X-Signature', '`v1=` and the hex HMAC-SHA256 of the signed string.'),
        staffToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'A staff token (`npm run staff -- add <name> --role support|finance|admin`).',
        },
        codecToken: { type: 'http', scheme: 'bearer', description: "The keyring's codec server token." },
      },
      schemas: componentSchemas(limits),
    },
  };
}

function signatureHeader(name: string, description: string) {
  return { type: 'apiKey', in: 'header', name, description };
}
