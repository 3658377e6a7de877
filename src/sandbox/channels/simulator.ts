import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { PaymentChannel } from '../../../domain/payment.js';
import type { ChannelOperation } from '../../channels/types.js';
import type { Logger } from '../../logger.js';
import {
  MAX_HOLD_MS,
  SandboxNotFoundError,
  type ChannelHolds,
  type ChannelSimulator,
  type SimulatedPayResult,
  type SimulatedPayment,
} from './types.js';
import { CASHIER_FORM_TOKEN_FIELD, type CashierFormTokens } from './cashier-form.js';
import { CASHIER_PAGE_HEADERS, renderCashierNotice, renderCashierPage, type CashierOrder } from './cashier-page.js';
import type { SandboxRefund } from './models.js';
import type { BillBook, BillDiscrepancyKind } from './bills.js';
import {
  refundSettlesAt,
  refundStateAt,
  type OrderBook,
  type Outages,
  type RefundBehaviours,
  type RefundDecision,
  type RefundRequestAtChannel,
  type Trade,
} from './order-book.js';
import type { Notifier, OutgoingNotification } from './notifier.js';
import { isCurrency } from '../../../domain/money.js';

/** The payer tried to pay an order the channel no longer takes payment for. */
export class CashierRefusedError extends Error {
  override readonly name = 'CashierRefusedError';
  constructor(
    message: string,
    readonly reason: 'closed' | 'expired',
  ) {
    super(message);
  }
}

/** Fault injection: the channel acted on a request whose answer is lost (the connection drops). */
class AnswerLostError extends Error {
  override readonly name = 'AnswerLostError';
}

/** A trade that has been paid: its outcome carries the channel's trade number and time. */
export interface PaidTrade extends Trade {
  state: 'PAID';
  outcome: NonNullable<Trade['outcome']> & { channelTradeNo: string };
}

/** The parts of a simulated channel that differ from provider to provider. */
export interface ChannelProtocol {
  channel: PaymentChannel;
  /** Whom the channel books a charge the merchant never created under (bill fault injection), and in what currency. */
  merchant: { appId: string; merchantId: string; currency: string };
  /** Discrepancies the channel's bill format cannot show (the control API refuses them). */
  billCannotShow?: readonly BillDiscrepancyKind[];
  /** The channel's own trade number for a payment made at `at`. */
  newChannelTradeNo(at: Date): string;
  /** The payer's id at the channel (`buyer_id` / `openid`). */
  newBuyerId(): string;
  /**
   * The channel's order number of a payment, where it is not the payment id itself (UnionPay's
   * `orderId` may not carry `_`): the control API and the books are asked by payment id.
   */
  orderNoOf?(paymentId: string): string;
  /** The signed payment notification of a paid trade; `tamperAmount` misreports the amount by one yuan. */
  paymentNotification(trade: PaidTrade, tamperAmount: boolean): OutgoingNotification;
  /** How long an asynchronous refund processes, in milliseconds of real provider time. */
  refundSettleDelayMs: number;
  /**
   * The signed notification of a refund's outcome (as it stands once it settles), for channels
   * that notify refunds to the refund request's `notify_url`.
   */
  refundNotification?(trade: PaidTrade, refund: SandboxRefund): OutgoingNotification | undefined;
  /**
   * The signed notification of a declined attempt, for channels that tell the merchant (a card
   * processor's `payment_intent.payment_failed`). Not booked as the order's notification: the
   * order stays payable.
   */
  declineNotification?(trade: Trade): OutgoingNotification;
  /**
   * Channels where the payer approves and the merchant then captures (PayPal): the signed
   * notification that the payer approved. With it, the payer's `pay` records an approval, and the
   * money moves only when the merchant captures ({@link Cashier.capture}); a declined `pay` is an
   * approval whose capture is declined, notified then with {@link declineNotification}.
   */
  approvalNotification?(trade: Trade): OutgoingNotification;
  /** Registers the provider's API (and its cashier entry) on the simulator's router. */
  mountApi(router: Router, cashier: Cashier): void;
}

/** A merchant's refund request as a protocol hands it to the cashier. */
export type CashierRefundRequest = Omit<RefundRequestAtChannel, 'settlesAt' | 'outcome' | 'notifyUrl'> & {
  /** Where the merchant asked for the refund's notification, if it did. */
  notifyUrl?: string;
};

/** What a protocol's routes need from the shared cashier. */
export interface Cashier {
  book: OrderBook;
  /** The day's bills the channel serves its merchant (see {@link BillBook}). */
  bills: BillBook;
  outages: Outages;
  logger: Logger;
  /** Resolves at once unless `operation` is held (see `ChannelSimulator.hold`); then once it is let go. */
  admit(operation: ChannelOperation): Promise<void>;
  /** Whether the order query should misreport this order's amount (see `SimulatedPayment.tamperQueryAmount`). */
  misreportsAmount(outTradeNo: string): boolean;
  /** Answers the cashier page of a trade, or why it cannot be paid. `routerBase` is `req.baseUrl`. */
  show(res: Response, trade: Trade, routerBase: string): void;
  /** Answers a page that ends the visit (errors included) with `status`. */
  notice(res: Response, status: number, title: string, message: string): void;
  /**
   * Records a refund the way the channel's current {@link RefundBehaviours refund behaviour}
   * says (processing for the protocol's delay, or settled at once; its outcome), idempotent by
   * `outRequestNo`. A new refund whose behaviour notifies and that names a `notifyUrl` is notified
   * when it settles; a retry is not notified again.
   */
  refund(request: CashierRefundRequest): Promise<RefundDecision>;
  /**
   * The merchant captures an approved order (channels with {@link ChannelProtocol.approvalNotification}):
   * it is paid and notified as the approval asked; a capture of a paid order answers it again
   * (`replayed`). A declined approval is withdrawn and notified as declined.
   */
  capture(outTradeNo: string): Promise<CaptureResult>;
}

export type CaptureResult =
  | { kind: 'captured'; trade: PaidTrade; replayed: boolean }
  | { kind: 'not_found' | 'not_approved' | 'declined' | 'closed' };

/** Adapts an async handler to Express: a rejection goes to the router's error handler. */
export function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

function cashierOrderOf(trade: Trade): CashierOrder {
  const { order } = trade;
  return {
    channel: order.channel,
    outTradeNo: order.outTradeNo,
    merchantId: order.merchantId,
    subject: order.subject,
    amount: order.amount,
    currency: isCurrency(order.currency) ? order.currency : 'CNY',
    expiresAt: order.expiresAt,
  };
}

const MAX_NOTIFICATION_COPIES = 100;

export interface SimulatorParts {
  protocol: ChannelProtocol;
  book: OrderBook;
  bills: BillBook;
  outages: Outages;
  refundBehaviours: RefundBehaviours;
  notifier: Notifier;
  /** Issues and checks the tokens of the cashier's forms. */
  formTokens: CashierFormTokens;
  /** Multiplies the provider's delays (0.01: a minute becomes 0.6 s). */
  timeScale: number;
  logger: Logger;
}

/**
 * An error the caller caused (a malformed percent-escape in the path, an unknown charset, a body
 * over the limit): the API's error handler answers it 4xx in the one error shape.
 */
function isCallerError(err: unknown): boolean {
  if (err instanceof URIError) return true;
  // A NUL in an identifier: PostgreSQL (FerretDB's storage) refuses the text (SQLSTATE 22P05).
  if (err instanceof Error && /22P05|unsupported Unicode escape|invalid byte sequence/.test(err.message)) {
    (err as { status?: number }).status = 400;
    return true;
  }
  const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** The requests held per operation (fault injection, this process only). */
function createHolds() {
  const held = new Set<ChannelOperation>();
  const waiting = new Map<() => void, ChannelOperation>();
  const letGo = (operations: readonly ChannelOperation[]) => {
    for (const [release, operation] of [...waiting]) if (operations.includes(operation)) release();
  };
  const state = (): ChannelHolds => ({ operations: [...held], waiting: waiting.size });
  return {
    admit(operation: ChannelOperation): Promise<void> {
      if (!held.has(operation)) return Promise.resolve();
      return new Promise((resolve) => {
        const release = () => {
          clearTimeout(timer);
          waiting.delete(release);
          resolve();
        };
        const timer = setTimeout(release, MAX_HOLD_MS);
        timer.unref();
        waiting.set(release, operation);
      });
    },
    set(operations: readonly ChannelOperation[], enabled: boolean): ChannelHolds {
      for (const operation of operations) {
        if (enabled) held.add(operation);
        else held.delete(operation);
      }
      if (!enabled) letGo(operations);
      return state();
    },
    state,
    releaseAll() {
      held.clear();
      letGo(['create', 'query', 'close', 'refund']);
    },
  };
}

/**
 * A {@link ChannelSimulator} from a protocol and the shared parts: the payer's actions (`pay`),
 * the cashier's pay and decline forms, outages, the faults only tests inject (held calls, lost
 * refund answers, a misreported query amount) and shutdown.
 */
export function createChannelSimulator({
  protocol,
  book,
  bills,
  outages,
  refundBehaviours,
  notifier,
  formTokens,
  timeScale,
  logger,
}: SimulatorParts): ChannelSimulator {
  const { channel } = protocol;
  const holds = createHolds();
  const misreported = new Set<string>();
  let refundAnswersToLose = 0;

  const orderNoOf = (paymentId: string): string => protocol.orderNoOf?.(paymentId) ?? paymentId;

  async function pay(outTradeNo: string, payment: SimulatedPayment): Promise<SimulatedPayResult> {
    if (!Number.isSafeInteger(payment.notifications) || payment.notifications < 0) {
      throw new RangeError('notifications must be a non-negative integer');
    }
    const copies = Math.min(payment.notifications, MAX_NOTIFICATION_COPIES);
    const trade = await book.trade(outTradeNo);
    if (!trade) throw new SandboxNotFoundError(`${channel} holds no order ${outTradeNo}`);
    const result = (t: Trade, notificationsSent: number): SimulatedPayResult => ({
      channel,
      outTradeNo,
      tradeState: t.state === 'PAID' ? 'PAID' : 'NOT_PAID',
      channelTradeNo: t.state === 'PAID' ? (t.outcome?.channelTradeNo ?? null) : null,
      notificationsSent,
    });
    if (trade.state === 'PAID') return result(trade, 0);
    const late = payment.afterClose === true;
    if (trade.state === 'CLOSED' && !late)
      throw new CashierRefusedError('The order is closed and can no longer be paid.', 'closed');
    const approving = protocol.approvalNotification !== undefined;
    if (payment.outcome === 'declined' && !approving) {
      if (protocol.declineNotification === undefined || trade.order.notifyUrl === '') return result(trade, 0);
      return result(trade, await notifier.send(protocol.declineNotification(trade), copies));
    }
    const now = new Date();
    if (now.getTime() > trade.order.expiresAt.getTime() && !late) {
      throw new CashierRefusedError('The payment window of this order has ended.', 'expired');
    }
    if (payment.tamperQueryAmount === true) misreported.add(outTradeNo);
    if (approving) {
      await book.approve(outTradeNo, {
        payerId: protocol.newBuyerId(),
        at: now,
        declined: payment.outcome === 'declined',
        notifications: copies,
        tamperAmount: payment.tamperAmount,
      });
      const sent =
        trade.order.notifyUrl === '' ? 0 : await notifier.send(protocol.approvalNotification!(trade), copies);
      return { ...result(trade, sent), tradeState: 'APPROVED' };
    }
    const paid = await settlePaid(outTradeNo, { copies, tamperAmount: payment.tamperAmount, late, at: now });
    return result(paid.trade, paid.notificationsSent);
  }

  /**
   * Ends the order's window as paid at `at`, and notifies the payment unless another payment
   * already won; throws {@link CashierRefusedError} when the order was closed first.
   */
  async function settlePaid(
    outTradeNo: string,
    { copies, tamperAmount, late, at }: { copies: number; tamperAmount: boolean; late: boolean; at: Date },
  ): Promise<{ trade: Trade; notificationsSent: number; won: boolean }> {
    const channelTradeNo = protocol.newChannelTradeNo(at);
    const outcome = { state: 'PAID' as const, channelTradeNo, buyerId: protocol.newBuyerId(), at };
    const settled = late ? await book.settleAfterClose(outTradeNo, outcome) : await book.settle(outTradeNo, outcome);
    if (settled.state === 'CLOSED') {
      throw new CashierRefusedError('The order was closed and can no longer be paid.', 'closed');
    }
    const won = settled.outcome?.channelTradeNo === channelTradeNo;
    if (!won || settled.order.notifyUrl === '') return { trade: settled, notificationsSent: 0, won };
    const notification = protocol.paymentNotification(settled as PaidTrade, tamperAmount);
    const notificationsSent = await notifier.send({ ...notification, event: { kind: 'payment' } }, copies);
    return { trade: settled, notificationsSent, won };
  }

  async function capture(outTradeNo: string): Promise<CaptureResult> {
    const trade = await book.trade(outTradeNo);
    if (!trade) return { kind: 'not_found' };
    if (trade.state === 'PAID') return { kind: 'captured', trade: trade as PaidTrade, replayed: true };
    if (trade.state === 'CLOSED') return { kind: 'closed' };
    const approval = await book.approval(outTradeNo);
    if (!approval) return { kind: 'not_approved' };
    if (approval.declined) {
      await book.withdrawApproval(outTradeNo);
      if (protocol.declineNotification !== undefined && trade.order.notifyUrl !== '') {
        await notifier.send(protocol.declineNotification(trade), Math.max(approval.notifications, 1));
      }
      return { kind: 'declined' };
    }
    try {
      const paid = await settlePaid(outTradeNo, {
        copies: approval.notifications,
        tamperAmount: approval.tamperAmount,
        late: false,
        at: new Date(),
      });
      return { kind: 'captured', trade: paid.trade as PaidTrade, replayed: !paid.won };
    } catch (err) {
      if (err instanceof CashierRefusedError) return { kind: 'closed' };
      throw err;
    }
  }

  const cashier: Cashier = {
    book,
    bills,
    outages,
    logger,
    admit: (operation) => holds.admit(operation),
    misreportsAmount: (outTradeNo) => misreported.has(outTradeNo),
    capture,
    show(res, trade, routerBase) {
      const order = cashierOrderOf(trade);
      res.set(CASHIER_PAGE_HEADERS).type('html');
      if (trade.state === 'PAID') {
        res.send(
          renderCashierNotice(
            channel,
            { title: 'Already paid', message: 'This order has been paid.', tone: 'ok' },
            order,
          ),
        );
      } else if (trade.state === 'CLOSED') {
        res
          .status(409)
          .send(
            renderCashierNotice(
              channel,
              { title: 'Order closed', message: 'The order is closed and can no longer be paid.', tone: 'bad' },
              order,
            ),
          );
      } else if (Date.now() > trade.order.expiresAt.getTime()) {
        res
          .status(409)
          .send(
            renderCashierNotice(
              channel,
              { title: 'Order expired', message: 'The payment window of this order has ended.', tone: 'bad' },
              order,
            ),
          );
      } else {
        const { outTradeNo } = trade.order;
        res.send(
          renderCashierPage(
            order,
            `${routerBase}/cashier/${encodeURIComponent(outTradeNo)}`,
            formTokens.issue(channel, outTradeNo),
          ),
        );
      }
    },
    notice(res, status, title, message) {
      res
        .status(status)
        .set(CASHIER_PAGE_HEADERS)
        .type('html')
        .send(renderCashierNotice(channel, { title, message, tone: 'bad' }));
    },
    async refund(request) {
      const behaviour = await refundBehaviours.get();
      const now = Date.now();
      const delay = behaviour.mode === 'immediate' ? 0 : protocol.refundSettleDelayMs * timeScale;
      const decision = await book.refund({
        ...request,
        settlesAt: new Date(now + delay),
        outcome: behaviour.outcome,
        notifyUrl: behaviour.notify ? (request.notifyUrl ?? '') : '',
      });
      if (decision.kind === 'refunded' && !decision.replayed) {
        const { trade, refund } = decision;
        const notification =
          refund.notifyUrl !== '' && trade.state === 'PAID'
            ? protocol.refundNotification?.(trade as PaidTrade, refund)
            : undefined;
        if (notification !== undefined) {
          notifier.sendAt(refundSettlesAt(refund), {
            ...notification,
            event: { kind: 'refund', outRequestNo: refund.outRequestNo },
          });
        }
      }
      if (refundAnswersToLose > 0) {
        refundAnswersToLose -= 1;
        throw new AnswerLostError(`${channel} refund ${request.outRequestNo}: ${decision.kind}, answer lost`);
      }
      return decision;
    },
  };

  const router = express.Router();
  protocol.mountApi(router, cashier);

  router.post(
    '/cashier/:outTradeNo/:action',
    express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 8 }),
    handle(async (req, res) => {
      const outTradeNo = String(req.params.outTradeNo);
      const action = req.params.action;
      if (action !== 'pay' && action !== 'decline') {
        cashier.notice(res, 404, 'Not found', 'There is no such cashier action.');
        return;
      }
      const form = (req.body ?? {}) as Record<string, unknown>;
      if (!formTokens.verify(channel, outTradeNo, form[CASHIER_FORM_TOKEN_FIELD])) {
        cashier.notice(
          res,
          403,
          'Form expired',
          'This form did not come from this order’s cashier page, or it has expired. Open the payment link again.',
        );
        return;
      }
      try {
        const result = await pay(outTradeNo, {
          outcome: action === 'pay' ? 'success' : 'declined',
          notifications: 1,
          tamperAmount: false,
        });
        const trade = await book.trade(outTradeNo);
        const order = trade ? cashierOrderOf(trade) : undefined;
        const paid = result.tradeState === 'PAID';
        const approved = result.tradeState === 'APPROVED';
        res
          .set(CASHIER_PAGE_HEADERS)
          .type('html')
          .send(
            renderCashierNotice(
              channel,
              paid
                ? {
                    title: 'Payment successful',
                    message: `Paid. Transaction ${result.channelTradeNo ?? ''}`,
                    tone: 'ok',
                  }
                : approved
                  ? {
                      title: 'Payment approved',
                      message: 'You approved the payment; the merchant completes it now.',
                      tone: 'ok',
                    }
                  : { title: 'Payment declined', message: 'Nothing was charged.', tone: 'bad' },
              order,
            ),
          );
      } catch (err) {
        if (err instanceof SandboxNotFoundError)
          cashier.notice(res, 404, 'Order not found', 'The channel holds no such order.');
        else if (err instanceof CashierRefusedError) cashier.notice(res, 409, 'Payment refused', err.message);
        else throw err;
      }
    }),
  );

  router.use(((err, _req, res, next) => {
    if (err instanceof AnswerLostError) {
      logger.info({ channel, reason: err.message }, 'sandbox channel dropped an answer (fault injection)');
      res.socket?.destroy();
      return;
    }
    if (res.headersSent || isCallerError(err)) {
      next(err);
      return;
    }
    logger.error({ channel, err: err instanceof Error ? err.message : String(err) }, 'sandbox channel error');
    res.status(500).type('text/plain').send('sandbox channel error');
  }) as express.ErrorRequestHandler);

  return {
    channel,
    router,
    pay: async (paymentId, payment) => ({ ...(await pay(orderNoOf(paymentId), payment)), outTradeNo: paymentId }),
    setOutage: (operations, enabled) => outages.set(operations, enabled),
    setRefundBehaviour: (behaviour) => refundBehaviours.set(behaviour),
    hold: (operations, enabled) => holds.set(operations, enabled),
    holds: () => holds.state(),
    loseRefundAnswers(count) {
      if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
      refundAnswersToLose = count;
    },
    refundBehaviour: () => refundBehaviours.get(),
    injectBillDiscrepancy: (request) => bills.inject(request),
    async hasOrder(paymentId) {
      return (await book.trade(orderNoOf(paymentId))) !== undefined;
    },
    async books(paymentId) {
      const outTradeNo = paymentId;
      const ledger = await book.ledger(orderNoOf(paymentId));
      if (!ledger) return undefined;
      const { trade, refunds, notifications } = ledger;
      const now = new Date();
      return {
        channel,
        outTradeNo,
        amount: trade.order.amount,
        currency: trade.order.currency,
        createdAt: trade.order.createdAt.toISOString(),
        state: trade.state,
        channelTradeNo: trade.outcome?.channelTradeNo ?? null,
        endedAt: trade.outcome?.at.toISOString() ?? null,
        captured: trade.state === 'PAID' ? trade.order.amount : 0,
        refunded: trade.refunded,
        refunds: refunds.map((r) => ({
          outRequestNo: r.outRequestNo,
          amount: r.amount,
          state: refundStateAt(r, now),
          at: r.at.toISOString(),
        })),
        notifications: notifications.map((n) => ({
          kind: n.kind,
          outRequestNo: n.outRequestNo ?? null,
          acknowledgedAt: n.acknowledgedAt.toISOString(),
        })),
      };
    },
    close() {
      holds.releaseAll();
      notifier.close();
    },
  };
}
