import type { Client } from '@temporalio/client';
import QRCode from 'qrcode';
import { rankChannels } from '../channels/routing.js';
import type { ChannelAdapter } from '../channels/types.js';
import type { Config } from '../config.js';
import type { Models } from '../db/connect.js';
import { attemptsOf, fxQuoteOf, type PaymentDocument } from '../db/models/payment.js';
import type { MessageSealer } from '../temporal/message-seal.js';
import type { Currency } from '../../domain/money.js';
import type {
  Discount,
  FxQuote,
  ItemKind,
  PaymentAttempt,
  PaymentChannel,
  PaymentStatus,
} from '../../domain/payment.js';
import { linePaidAmounts, lineNet, totalDiscount } from '../../domain/pricing.js';
import { choosePaymentMethodUpdate, type ChoosePaymentMethodArgs } from '../../workflows/contracts.js';
import { asApiError, methodUnavailable, paymentNotFound, workflowFailure } from './failures.js';
import { PAYMENT_ID_PATTERN } from './identity.js';

/** How long a method switch may take (closing one channel order, opening another) before the call gives up. */
const CHOOSE_METHOD_DEADLINE_MS = 60_000;

export interface CheckoutServiceDeps {
  client: Client;
  models: Models;
  config: Pick<Config, 'PLATFORM_NAME'>;
  channels: Record<PaymentChannel, ChannelAdapter>;
  enabledChannels: readonly PaymentChannel[];
  sealer: MessageSealer;
}

/** One line of the order as the learner reads it; amounts in minor units of the payment's currency. */
export interface CheckoutItem {
  title: string;
  kind: ItemKind;
  quantity: number;
  unitAmount: number;
  discounts: Discount[];
  /** The line after its own discounts. */
  lineAmount: number;
  /** What the learner pays for the line: after its own discounts and its share of the order's. */
  paidAmount: number;
}

/**
 * How the learner pays with the method whose channel order is open: scan a QR code (WeChat Pay's
 * `code_url`, Alipay's precreate `qr_code`) or go to the channel's own page (card, PayPal,
 * UnionPay). `url` is what the QR code holds, or the page.
 */
export type CheckoutPayStep = { channel: PaymentChannel; kind: 'qr' | 'page'; url: string };

/** A method the learner can pay with; `current` for the one whose channel order is open. */
export interface CheckoutMethod {
  channel: PaymentChannel;
  current: boolean;
}

/**
 * Everything the hosted checkout shows of a payment. The internal payment id is not in it: the
 * learner knows the payment by the platform's order id.
 */
export interface CheckoutView {
  merchantName: string;
  orderId: string;
  status: PaymentStatus;
  amount: number;
  currency: Currency;
  items: CheckoutItem[];
  /** The order's own discounts, after the lines'. */
  discounts: Discount[];
  /** Every discount of the order, the lines' and the order's. */
  totalDiscount: number;
  /** The settlement side when it differs from what the learner pays. */
  fx: FxQuote | null;
  expiresAt: string;
  attempts: PaymentAttempt[];
  /** The channel whose order is open (or that took the payment). */
  channel: PaymentChannel | null;
  /** The methods that can take the payment, the current one first; empty unless it awaits payment. */
  methods: CheckoutMethod[];
  /** How to pay with the current method, while the payment awaits payment. */
  pay: CheckoutPayStep | null;
  returnUrl: string | null;
  /** The voucher of a paid payment: the receipt is `/receipts/<voucherId>`. */
  voucherId: string | null;
}

/** A discount as the read model keeps it, without the empty `code` of one that has none. */
const discountOf = (discount: { code?: string | null; description: string; amount: number }): Discount => ({
  ...(discount.code ? { code: discount.code } : {}),
  description: discount.description,
  amount: discount.amount,
});

/** The channels whose order the learner pays by scanning a QR code with the channel's app. */
const SCANNED_CHANNELS: ReadonlySet<PaymentChannel> = new Set(['wechatpay', 'alipay']);

/**
 * The hosted checkout's side of the payment service: what the page shows, read from the read
 * model, and the learner's choice of another method, sent to the payment's workflow as a sealed
 * Update. The page's link (src/checkout/link.ts) is checked by the routes before any call here.
 */
export function createCheckoutService({
  client,
  models,
  config,
  channels,
  enabledChannels,
  sealer,
}: CheckoutServiceDeps) {
  async function checkoutDocument(paymentId: string): Promise<PaymentDocument | undefined> {
    if (!PAYMENT_ID_PATTERN.test(paymentId)) return undefined;
    return (await models.payments.findOne({ _id: paymentId }).lean<PaymentDocument>()) ?? undefined;
  }

  /**
   * The methods that can take the payment: the enabled channels that support its currency and
   * amount, the current channel first, without those whose order was closed on the learner's
   * choice (a closed order is not opened again).
   */
  function checkoutMethodsOf(doc: PaymentDocument): CheckoutMethod[] {
    const closed = new Set((doc.attempts ?? []).filter((a) => a.outcome === 'closed').map((a) => a.channel));
    // After a switch whose new channel could not open, the channel left is closed: none is current.
    const current = doc.channel && !closed.has(doc.channel) ? doc.channel : undefined;
    return rankChannels(channels, enabledChannels, {
      currency: doc.currency,
      amount: doc.amount,
      ...(current ? { preferred: current } : {}),
    })
      .filter((channel) => !closed.has(channel))
      .map((channel) => ({ channel, current: channel === current }));
  }

  function checkoutViewOf(doc: PaymentDocument): CheckoutView {
    const payable = doc.status === 'awaiting_payment';
    const lines = doc.items.map((item) => ({
      unitAmount: item.unitAmount,
      quantity: item.quantity,
      discounts: (item.discounts ?? []).map(discountOf),
    }));
    const orderDiscounts = (doc.discounts ?? []).map(discountOf);
    const paid = linePaidAmounts(lines, orderDiscounts);
    const channel = doc.channel ?? null;
    return {
      merchantName: config.PLATFORM_NAME,
      orderId: doc.orderId,
      status: doc.status,
      amount: doc.amount,
      currency: doc.currency,
      items: doc.items.map((item, index) => ({
        title: item.title,
        kind: item.kind ?? 'course',
        quantity: item.quantity,
        unitAmount: item.unitAmount,
        discounts: lines[index]?.discounts ?? [],
        lineAmount: lineNet(lines[index] ?? { unitAmount: 0, quantity: 0 }),
        paidAmount: paid[index] ?? 0,
      })),
      discounts: orderDiscounts,
      totalDiscount: totalDiscount(lines, orderDiscounts),
      fx: fxQuoteOf(doc),
      expiresAt: doc.expiresAt.toISOString(),
      attempts: attemptsOf(doc),
      channel,
      methods: payable ? checkoutMethodsOf(doc) : [],
      pay:
        payable && channel && doc.channelPayUrl
          ? { channel, kind: SCANNED_CHANNELS.has(channel) ? 'qr' : 'page', url: doc.channelPayUrl }
          : null,
      returnUrl: doc.returnUrl ?? null,
      voucherId: doc.voucher?.voucherId ?? null,
    };
  }

  return {
    /** What the hosted checkout shows of the payment; undefined when there is none. */
    async checkoutOf(paymentId: string): Promise<CheckoutView | undefined> {
      const doc = await checkoutDocument(paymentId);
      return doc && checkoutViewOf(doc);
    },

    /**
     * The QR code of the open order of `channel` (WeChat Pay or Alipay), as an SVG image; undefined
     * when that channel's order is not the open one, or is paid at a page rather than scanned.
     */
    async checkoutQrCode(paymentId: string, channel: PaymentChannel): Promise<string | undefined> {
      const doc = await checkoutDocument(paymentId);
      const pay = doc && checkoutViewOf(doc).pay;
      if (pay?.kind !== 'qr' || pay.channel !== channel) return undefined;
      return QRCode.toString(pay.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    },

    /**
     * The learner chose `channel` on the checkout: the payment's workflow closes the open channel
     * order and opens one at `channel` (sealed, so only the API can ask it). Answers what the page
     * shows next. Refused with `method_unavailable` when the payment no longer awaits payment, the
     * channel cannot take it, or its order was closed before.
     */
    async chooseMethod(paymentId: string, channel: PaymentChannel): Promise<CheckoutView> {
      const doc = await checkoutDocument(paymentId);
      if (!doc) throw paymentNotFound(paymentId);
      if (doc.status !== 'awaiting_payment') {
        throw methodUnavailable(`The payment is ${doc.status.replace(/_/g, ' ')}: no method can be chosen now.`);
      }
      if (!checkoutMethodsOf(doc).some((m) => m.channel === channel)) {
        throw methodUnavailable(`${channel} cannot take this payment.`);
      }
      if (doc.channel === channel) return checkoutViewOf(doc);
      const message: Omit<ChoosePaymentMethodArgs, 'seal'> = { channel };
      const args: ChoosePaymentMethodArgs = { ...message, seal: sealer.seal('checkout-method', paymentId, message) };
      try {
        // Bounded: a switch stuck behind a channel outage must not hold the request for ever.
        await client.withDeadline(Date.now() + CHOOSE_METHOD_DEADLINE_MS, () =>
          client.workflow.getHandle(paymentId).executeUpdate(choosePaymentMethodUpdate, { args: [args] }),
        );
      } catch (err) {
        if (workflowFailure(err).kind === 'closed') {
          throw methodUnavailable('The payment has ended: no method can be chosen now.');
        }
        asApiError(err);
      }
      const after = await checkoutDocument(paymentId);
      if (!after) throw paymentNotFound(paymentId);
      return checkoutViewOf(after);
    },
  };
}

export type CheckoutService = ReturnType<typeof createCheckoutService>;
