/**
 * The learner's receipt: what a signed voucher's payload says, arranged for people to read. Every
 * figure comes from the payload (never from the read model), so the receipt shows exactly what the
 * signature covers; the page and the PDF are both drawn from this one model.
 */
import { z } from 'zod';
import { CURRENCIES, formatMajor, type Currency } from '../../domain/money.js';
import { ITEM_KINDS, PAYMENT_CHANNELS, type ItemKind, type PaymentChannel } from '../../domain/payment.js';
import { lineGross, lineNet, linePaidAmounts, totalDiscount } from '../../domain/pricing.js';

/**
 * A receipt's address: the voucher id, which embeds the payment's 140-bit keyed id (28 base32
 * characters), so a receipt link cannot be guessed. Anything else is no receipt, without a lookup.
 */
export const RECEIPT_ID_PATTERN = /^vch_[a-z2-7]{28}$/;

const minor = z.number().int().nonnegative().safe();
const discountSchema = z.object({ code: z.string().optional(), description: z.string(), amount: minor });

/** The voucher payload as `signVoucher` writes it (version 1); what a receipt needs of it. */
const payloadSchema = z.object({
  version: z.literal(1),
  voucherId: z.string().regex(RECEIPT_ID_PATTERN),
  orderId: z.string(),
  amount: minor,
  currency: z.enum(CURRENCIES),
  channel: z.enum(PAYMENT_CHANNELS),
  items: z
    .array(
      z.object({
        title: z.string(),
        kind: z.enum(ITEM_KINDS).optional(),
        unitAmount: minor,
        quantity: z.number().int().positive(),
        discounts: z.array(discountSchema).optional(),
      }),
    )
    .min(1),
  discounts: z.array(discountSchema).optional(),
  fx: z
    .object({
      rate: z.string(),
      presentmentAmount: minor,
      presentmentCurrency: z.enum(CURRENCIES),
      settlementAmount: minor,
      settlementCurrency: z.enum(CURRENCIES),
      quotedAt: z.string(),
      source: z.string(),
    })
    .optional(),
  paidAt: z.string(),
  issuedAt: z.string(),
});

/** An amount as the receipt shows it: the minor units, their currency and the major-unit decimal. */
export interface ReceiptAmount {
  minor: number;
  currency: Currency;
  /** `formatMajor`: "199.00" for CNY, "1980" for JPY, "12.345" for KWD. */
  major: string;
}

export interface ReceiptDiscount {
  code: string | null;
  description: string;
  amount: ReceiptAmount;
}

export interface ReceiptLine {
  title: string;
  /** What the line sells; a line signed before kinds were kept reads as `course`. */
  kind: ItemKind;
  quantity: number;
  unitPrice: ReceiptAmount;
  /** `unitPrice × quantity`, before any discount. */
  gross: ReceiptAmount;
  discounts: ReceiptDiscount[];
  /** After the line's own discounts. */
  net: ReceiptAmount;
  /** What the learner paid for the line: its net less its share of the order's discounts. */
  paid: ReceiptAmount;
}

export interface ReceiptFx {
  /** Settlement major units per presentment major unit, as the quote gives it ("7.1834"). */
  rate: string;
  presentment: ReceiptAmount;
  settlement: ReceiptAmount;
  quotedAt: string;
  source: string;
}

/** How the receipt stands: `valid`, or `void` once its payment was refunded in full. */
export type ReceiptStatus = { state: 'valid' } | { state: 'void'; voidedAt: string | null };

export interface Receipt {
  voucherId: string;
  orderId: string;
  /** `PLATFORM_NAME`: who the learner paid. */
  merchant: string;
  paidAt: string;
  channel: PaymentChannel;
  lines: ReceiptLine[];
  orderDiscounts: ReceiptDiscount[];
  /** The lines before any discount. */
  subtotal: ReceiptAmount;
  /** Every discount, the lines' and the order's. */
  discountTotal: ReceiptAmount;
  /** What the learner paid, in the presentment currency. */
  total: ReceiptAmount;
  fx: ReceiptFx | null;
  status: ReceiptStatus;
  /** The voucher's signing key id and its payload's hex SHA-256, which the page checks. */
  keyId: string;
  digest: string;
}

/** A stored voucher, as far as a receipt reads it. */
export interface ReceiptVoucher {
  voucherId: string;
  payload: string;
  digest: string;
  keyId: string;
  status: string;
  voidedAt?: Date | string | null;
}

export function receiptAmount(minorUnits: number, currency: Currency): ReceiptAmount {
  return { minor: minorUnits, currency, major: formatMajor(minorUnits, currency) };
}

function receiptDiscount(discount: z.infer<typeof discountSchema>, currency: Currency): ReceiptDiscount {
  return {
    code: discount.code ?? null,
    description: discount.description,
    amount: receiptAmount(discount.amount, currency),
  };
}

/**
 * The receipt of a stored voucher, read from its signed payload. Throws when the payload is not a
 * voucher payload this version knows (it was never issued by this system, or is damaged).
 */
export function receiptOf(voucher: ReceiptVoucher, merchant: string): Receipt {
  const facts = payloadSchema.parse(JSON.parse(voucher.payload));
  if (facts.voucherId !== voucher.voucherId) throw new Error('the payload names another voucher');
  const { currency } = facts;
  const orderDiscounts = facts.discounts ?? [];
  const paid = linePaidAmounts(facts.items, orderDiscounts);
  const amount = (value: number) => receiptAmount(value, currency);
  const voidedAt = voucher.voidedAt instanceof Date ? voucher.voidedAt.toISOString() : (voucher.voidedAt ?? null);
  return {
    voucherId: facts.voucherId,
    orderId: facts.orderId,
    merchant,
    paidAt: facts.paidAt,
    channel: facts.channel,
    lines: facts.items.map((item, index) => ({
      title: item.title,
      kind: item.kind ?? 'course',
      quantity: item.quantity,
      unitPrice: amount(item.unitAmount),
      gross: amount(lineGross(item)),
      discounts: (item.discounts ?? []).map((d) => receiptDiscount(d, currency)),
      net: amount(lineNet(item)),
      paid: amount(paid[index] ?? lineNet(item)),
    })),
    orderDiscounts: orderDiscounts.map((d) => receiptDiscount(d, currency)),
    subtotal: amount(facts.items.reduce((sum, item) => sum + lineGross(item), 0)),
    discountTotal: amount(totalDiscount(facts.items, orderDiscounts)),
    total: amount(facts.amount),
    fx: facts.fx
      ? {
          rate: facts.fx.rate,
          presentment: receiptAmount(facts.fx.presentmentAmount, facts.fx.presentmentCurrency),
          settlement: receiptAmount(facts.fx.settlementAmount, facts.fx.settlementCurrency),
          quotedAt: facts.fx.quotedAt,
          source: facts.fx.source,
        }
      : null,
    status: voucher.status === 'void' ? { state: 'void', voidedAt } : { state: 'valid' },
    keyId: voucher.keyId,
    digest: voucher.digest,
  };
}

/** An instant as the receipt prints it, to the minute in UTC: "2026-11-24 10:00 UTC". */
export function formatInstant(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A file name safe in a `Content-Disposition` header: `receipt-<orderId>.pdf`, other characters as `_`. */
export function receiptFileName(orderId: string): string {
  return `receipt-${orderId.replace(/[^A-Za-z0-9._-]/g, '_')}.pdf`;
}
