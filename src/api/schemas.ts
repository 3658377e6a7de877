import { z } from 'zod';
import { CURRENCIES } from '../../domain/money.js';
import { CHECKOUT_MODES, ITEM_KINDS, PAYMENT_CHANNELS, type PaymentRequest } from '../../domain/payment.js';
import { pricingViolation } from '../../domain/pricing.js';

/** Printable text with no control characters (C0, DEL, C1). */
const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // A pattern, not a refinement, so the API document shows it.
    // eslint-disable-next-line no-control-regex -- the point is to reject control characters
    .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must not contain control characters');

const identifier = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -');
/** Integer minor units, 0 (1 when `positive`) to `max`. */
const minorUnits = (max: number, { positive = false } = {}) =>
  z
    .number()
    .int('must be an integer number of minor units')
    .min(positive ? 1 : 0, positive ? 'must be greater than zero' : undefined)
    .max(max)
    .refine(Number.isSafeInteger, 'must be a safe integer');

export interface PaymentSchemaLimits {
  /** Largest payment the API accepts, in minor units. */
  maxAmount: number;
}

export function createPaymentRequestSchema(limits: PaymentSchemaLimits) {
  const discount = z.strictObject({
    code: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1-40 of A-Z a-z 0-9 _ . -')
      .optional()
      .describe('The coupon or campaign code the learner used.'),
    description: printable(120).describe('What the learner reads on the checkout and the receipt.'),
    amount: minorUnits(limits.maxAmount, { positive: true }),
  });
  const discounts = z.array(discount).max(10);
  const item = z.strictObject({
    courseId: identifier,
    title: printable(200),
    kind: z.enum(ITEM_KINDS).default('course').describe('What the line sells; `course` when omitted.'),
    unitAmount: minorUnits(limits.maxAmount),
    quantity: z.number().int().min(1).max(1000),
    discounts: discounts.optional().describe('Reductions of this line; its price after them is never below zero.'),
  });
  return z
    .strictObject({
      orderId: identifier,
      customerId: identifier,
      currency: z.enum(CURRENCIES),
      amount: minorUnits(limits.maxAmount, { positive: true }).describe(
        'Integer minor units of `currency`; must equal the sum over `items` of `unitAmount * quantity` less the item’s discounts, less the order’s `discounts`.',
      ),
      items: z.array(item).min(1).max(100),
      discounts: discounts
        .optional()
        .describe('Reductions of the whole order, after the items’ own; never more than the items’ total.'),
      channel: z.enum(PAYMENT_CHANNELS).optional(),
      checkout: z
        .enum(CHECKOUT_MODES)
        .optional()
        .describe(
          '`hosted` (the default): `payUrl` is the product’s checkout page; `channel`: `payUrl` is the routed channel’s own page.',
        ),
      returnUrl: z
        .url({ protocol: /^https?$/ })
        .max(2_048)
        .optional()
        .describe(
          'Where the checkout’s result page links back to; its origin must be one of `PLATFORM_RETURN_ORIGINS`.',
        ),
      expiresInSeconds: z.number().int().min(60).max(86_400).default(900),
      description: printable(256).optional(),
      clientIp: z
        .union([z.ipv4(), z.ipv6()])
        .optional()
        .describe('The learner’s IP address, for the risk check; only a keyed hash of it is kept.'),
    })
    .superRefine((request, ctx) => {
      const violation = pricingViolation(
        request.items,
        request.discounts ?? [],
        request.amount,
        (index) => `items[${index}]`,
      );
      if (violation !== undefined) {
        const line = /^items\[(\d+)\]: (.*)$/.exec(violation);
        ctx.addIssue({
          code: 'custom',
          path: line
            ? ['items', Number(line[1]), /too large/.test(line[2] ?? '') ? 'unitAmount' : 'discounts']
            : violation.startsWith('amount')
              ? ['amount']
              : ['discounts'],
          message: line ? line[2]! : violation,
        });
      }
    }) satisfies z.ZodType<PaymentRequest, unknown>;
}

/** `POST /v1/payments/:paymentId/cancel`: an optional reason, kept in the timeline. */
export function createCancelRequestSchema() {
  return z.strictObject({ reason: printable(200).optional() });
}

/** `POST /v1/vouchers/verify`: a voucher as `GET /v1/vouchers/:voucherId` gives it; extra fields are ignored. */
export function createVoucherVerifySchema() {
  return z.object({
    payload: z.string().min(2).max(65_536),
    digest: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
    signature: z.string().min(1).max(1_024),
    keyId: z.string().min(1).max(128),
  });
}

/** `POST /v1/payments/:paymentId/refunds` (and the staff API's): integer minor units and a reason. */
function refundRequestShape(limits: PaymentSchemaLimits) {
  return z.strictObject({
    amount: minorUnits(limits.maxAmount, { positive: true }).describe(
      'Integer minor units of the payment’s currency (what the learner paid in); with `items`, their sum.',
    ),
    reason: printable(256),
    items: z
      .array(z.strictObject({ courseId: identifier, amount: minorUnits(limits.maxAmount, { positive: true }) }))
      .min(1)
      .max(100)
      .optional()
      .describe(
        'The items this refund returns, and how much of each; never more of an item than the learner paid for it after its discounts and its share of the order’s.',
      ),
    metadata: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'keys must be 1-40 of A-Z a-z 0-9 _ . -'), printable(500))
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 entries')
      .meta({ maxProperties: 20 })
      .optional(),
  });
}

/** A refund naming items must ask for exactly their sum. */
function itemsAddUp(request: { amount: number; items?: { amount: number }[] | undefined }, ctx: z.RefinementCtx) {
  if (request.items === undefined) return;
  const total = request.items.reduce((sum, item) => sum + item.amount, 0);
  if (total !== request.amount) {
    ctx.addIssue({ code: 'custom', path: ['amount'], message: `must equal the sum of the items' amounts (${total})` });
  }
}

export function createRefundRequestSchema(limits: PaymentSchemaLimits) {
  return refundRequestShape(limits).superRefine(itemsAddUp);
}

/** The staff API's `POST /staff/v1/payments/:paymentId/refunds`: the platform's, without metadata. */
export function createStaffRefundRequestSchema(limits: PaymentSchemaLimits) {
  return refundRequestShape(limits).omit({ metadata: true }).superRefine(itemsAddUp);
}

/** A staff decision or action: why, in words the audit trail keeps. */
export function createStaffReasonSchema() {
  return z.strictObject({ reason: printable(256) });
}
