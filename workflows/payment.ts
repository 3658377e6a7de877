import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  patched,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { PaymentErrorCode } from '../domain/errors.js';
import type { PaymentChannel, PaymentView, RefundSummary } from '../domain/payment.js';
import { businessRuleViolation, paymentSubject } from '../domain/payment-rules.js';
import type { WebhookEvent, WebhookEventType } from '../domain/webhooks.js';
import type { RiskSubject } from '../domain/risk.js';
import type { PaymentWorkflowInput } from './contracts.js';
import { describe, failureType } from './failures.js';
import { activity } from './payment/activities.js';
import { checkInOffsets } from './payment/check-ins.js';
import { CompensationStack } from './payment/compensations.js';
import { installPaymentHandlers } from './payment/handlers.js';
import { localSteps, PATCHES, PaymentState, type Charge } from './payment/state.js';
import { steadyTimer } from './timers.js';
import { PaymentChannelKey, type StuckReason } from './search-attributes.js';

const MINUTE_MS = 60_000;
/** Waits between routing rounds while no channel can open the payment: 2 s, doubling, at most 30 s. */
const OPEN_RETRY_FIRST_WAIT_MS = 2_000;
const OPEN_RETRY_LONGEST_WAIT_MS = 30_000;

/** What a channel says of an order. */
type ChannelTrade = Awaited<ReturnType<typeof activity.queryChannelOrder>>;

/**
 * One payment, from the platform's request to a terminal status: a saga.
 *
 * 1. Check the business rules; route to the channels that can take the payment.
 * 2. Open the channel order (`out_trade_no` = payment id), failing over when a channel is down.
 * 3. Await the channel's verified notification until the window ends (or a cancel). Then ask the
 *    channel: a lost notification, or a payment made while closing, still counts as paid.
 * 4. Issue the voucher and fulfil through the platform webhook. A refusal compensates: refund,
 *    void the voucher, tell the platform.
 * Compensations are registered before their step and run even if the workflow is cancelled; a
 * refund that cannot be made puts the payment in `manual_review` until staff retry it.
 *
 * The workflow id is the payment id, derived from the platform's order id, so a retried create
 * never makes a second payment. The state and its transitions are in payment/state.ts, the
 * messages in payment/handlers.ts.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentView> {
  const state = new PaymentState(input);
  const { paymentId, request, expiresAt } = state;
  const compensations = new CompensationStack((event, detail) => state.note(event, detail));
  const attention = input.attention ?? {
    channelUnreachableAfterMs: 5 * MINUTE_MS,
    webhookFailingAfterMs: 30 * MINUTE_MS,
  };
  installPaymentHandlers(state);
  state.showDetails();

  /**
   * Runs a call to an outside party that retries until it answers; if it has not answered after
   * `afterMs`, the payment asks for people (`reason`) until it does.
   */
  const watched = async <T>(reason: StuckReason, afterMs: number, call: () => Promise<T>): Promise<T> => {
    if (!patched(PATCHES.slowCallFlags)) return call();
    const steady = patched(PATCHES.steadyTimers);
    let raised = false;
    let answered = false;
    const timer = new CancellationScope();
    void timer
      .run(() => sleep(afterMs, { summary: `${reason} if still unanswered` }))
      .then(
        () => {
          if (answered) return;
          raised = true;
          state.raiseSlowCall(reason);
        },
        () => undefined,
      );
    try {
      return await call();
    } finally {
      answered = true;
      if (!steady) timer.cancel();
      if (raised) state.clearSlowCall(reason);
    }
  };
  const channelCall = <T>(call: () => Promise<T>) =>
    watched('channel_unreachable', attention.channelUnreachableAfterMs, call);

  const queryChannel = (on: PaymentChannel) =>
    channelCall(() =>
      activity.queryChannelOrder.executeWithOptions(
        { ...activity.presets.channelCall, summary: `ask ${on} whether the order is paid` },
        [{ channel: on, paymentId }],
      ),
    );
  /**
   * Takes the money of an order the payer approved (PayPal); `why` says what showed the approval.
   * Answers the trade after the capture: `PAID`, or `NOT_PAID` when the payer's funding failed.
   */
  const captureApproved = async (on: PaymentChannel, why: string): Promise<ChannelTrade> => {
    let trade: ChannelTrade;
    try {
      trade = await channelCall(() =>
        activity.captureChannelOrder.executeWithOptions(
          { ...activity.presets.channelCall, summary: `capture the approved ${on} order` },
          [{ channel: on, paymentId, attempt: state.captureAttempt }],
        ),
      );
    } catch (err) {
      if (failureType(err) !== PaymentErrorCode.ChannelRejected) throw err;
      // A refusal takes no money: the payment stays payable, and the window's end asks again.
      trade = { state: 'NOT_PAID', declineReason: describe(err) };
    }
    // After a decline the learner approves again; the next capture is a new request at the channel.
    if (trade.state === 'NOT_PAID' && trade.declineReason !== undefined) state.captureAttempt += 1;
    state.note(
      'channel.capture',
      trade.state === 'PAID'
        ? `${why}: ${on} captured ${trade.channelTradeNo ?? ''}`.trim()
        : `${why}: ${on} did not take the money (${trade.declineReason ?? trade.state})`,
    );
    if (trade.state === 'NOT_PAID' && trade.declineReason !== undefined && patched(PATCHES.attempts)) {
      await attemptFailed(on, trade.declineReason);
    }
    return trade;
  };
  /**
   * What the channel says of the order; an approved one is captured first, unless the payment is
   * being canceled: a cancel must not take money the learner only approved.
   */
  const askChannel = async (on: PaymentChannel, why: string): Promise<ChannelTrade> => {
    const trade = await queryChannel(on);
    const capture =
      trade.state === 'APPROVED' && state.cancelRequest === null && !state.cancelling && !state.leavingMethod;
    return capture ? captureApproved(on, why) : trade;
  };
  const closeChannel = (on: PaymentChannel) =>
    channelCall(() =>
      activity.closeChannelOrder.executeWithOptions(
        { ...activity.presets.channelCall, summary: `close the ${on} order` },
        [{ channel: on, paymentId }],
      ),
    );
  const sendWebhook = (event: WebhookEvent) =>
    watched('webhook_failing', attention.webhookFailingAfterMs, () =>
      activity.notifyPlatform.executeWithOptions({ ...activity.presets.webhook, summary: `webhook ${event.type}` }, [
        event,
      ]),
    );

  /** `payment.attempt_failed` deliveries under way: they do not hold up the story, and the end waits for them. */
  const attemptWebhooks: Promise<void>[] = [];
  /**
   * The channel declined the learner's try: nothing was charged and the payment stays payable. The
   * attempt is saved for the checkout and the platform hears of it (`payment.attempt_failed`)
   * while the story goes on waiting for a payment.
   */
  async function attemptFailed(on: PaymentChannel, reason: string): Promise<void> {
    const attempt = state.recordAttempt(on, 'declined', reason);
    state.note('payment.attempt_failed', `attempt ${attempt.attempt} at ${on}: ${reason}`);
    await state.persist();
    const event: WebhookEvent = {
      id: `evt_${paymentId}_attempt_failed_${attempt.attempt}`,
      type: 'payment.attempt_failed',
      createdAt: attempt.at,
      data: { ...state.view(), timeline: undefined, attempt },
    };
    attemptWebhooks.push(
      sendWebhook(event).then(
        (result) => {
          if (!result.delivered) state.note('webhook.refused', `payment.attempt_failed: ${result.reason}`);
        },
        (err: unknown) => {
          if (!isCancellation(err)) state.note('webhook.undelivered', `payment.attempt_failed: ${describe(err)}`);
        },
      ),
    );
  }

  /** Tells the platform; only `payment.succeeded` has an answer that matters (fulfilment). */
  const tellPlatform = async (type: WebhookEventType) => {
    try {
      const result = await sendWebhook({
        id: `evt_${paymentId}_${type.replace('payment.', '')}`,
        type,
        createdAt: new Date().toISOString(),
        data: { ...state.view(), timeline: undefined },
      });
      if (!result.delivered) state.note('webhook.refused', `${type}: ${result.reason}`);
      return result;
    } catch (err) {
      if (isCancellation(err)) throw err;
      state.note('webhook.undelivered', `${type}: ${describe(err)}`);
      return undefined;
    }
  };

  /**
   * Refunds through the channel, retrying long; on failure waits in `manual_review` for staff. The
   * refund id is the channel's idempotency key, so a retry never refunds twice; only after the
   * channel declined a refund for good does the next try take a new id (`<id>-2`, ...).
   */
  const refund = async (firstRefundId: string, amount: number, reason: string) => {
    let refundId = firstRefundId;
    let tries = 1;
    let entry: RefundSummary = { refundId, amount, status: 'pending', reason };
    state.refunds.push(entry);
    state.note('refund.requested', `${refundId}: ${reason}`);
    await state.persist();
    for (;;) {
      try {
        await activity.refundPayment.executeWithOptions(
          { ...activity.presets.refund, summary: `refund ${amount} ${request.currency} (${refundId})` },
          [
            {
              channel: state.channel as PaymentChannel,
              paymentId,
              refundId,
              amount,
              totalAmount: amount,
              currency: request.currency,
              reason,
            },
          ],
        );
        entry.status = 'succeeded';
        state.note('refund.succeeded', refundId);
        return;
      } catch (err) {
        entry.status = 'failed';
        state.failureReason = `refund ${refundId} of ${amount} could not be made: ${describe(err)}. Send the retryNow Update (or the retryCompensation signal) to try again.`;
        await state.moveTo('manual_review', state.failureReason);
        state.retryRequested = false;
        await condition(() => state.retryRequested);
        if (failureType(err) === PaymentErrorCode.RefundFailed) {
          // The channel closed that refund for good: a new one, under a new key.
          tries += 1;
          refundId = `${firstRefundId}-${tries}`;
          entry = { refundId, amount, status: 'pending', reason };
          state.refunds.push(entry);
          state.note('refund.requested', `${refundId}: ${reason} (the channel declined ${firstRefundId})`);
        } else entry.status = 'pending';
        state.failureReason = null;
        await state.moveTo('processing', `staff retry of refund ${refundId}`);
      }
    }
  };

  /** Undoes what the saga did, newest first; a cancel of the workflow cannot skip it. */
  const compensate = async (reason: string) => {
    await CancellationScope.nonCancellable(async () => {
      state.failureReason = reason;
      await compensations.unwind();
      await state.moveTo('refunded', reason);
      await tellPlatform('payment.refunded');
    });
  };

  /**
   * At the end of the window (or on cancel): ask the channel before closing, and treat "paid
   * while closing" as paid.
   */
  const confirmUnpaidAndClose = async (on: PaymentChannel): Promise<Charge | null> => {
    const asPaid = async (): Promise<Charge | null> => {
      const trade = await askChannel(on, 'approved before the window ended');
      if (trade.state !== 'PAID') return null;
      if (trade.amount !== request.amount) {
        throw ApplicationFailure.nonRetryable(
          `${on} reports a payment of ${trade.amount} ${trade.currency ?? ''}, expected ${request.amount} ${request.currency}`,
          PaymentErrorCode.CallbackMismatch,
        );
      }
      state.note('channel.query', `${on} reports the payment made`);
      return {
        channelTradeNo: trade.channelTradeNo ?? '',
        amount: request.amount,
        paidAt: trade.paidAt ?? new Date().toISOString(),
      };
    };
    const paid = await asPaid();
    if (paid) return paid;
    const closed = await closeChannel(on);
    if (closed === 'ALREADY_PAID') {
      state.note('channel.close', 'paid while closing');
      return asPaid();
    }
    state.note('channel.close', closed === 'CLOSED' ? 'order closed' : 'no order at the channel');
    return null;
  };

  /**
   * A check-in during the window: whether `on` says the learner paid. Two quick tries; a channel
   * that does not answer is asked again at the next check-in or at the window's end.
   */
  const paidAtCheckIn = async (on: PaymentChannel, afterMs: number): Promise<boolean> => {
    const after = `check-in ${Math.round(afterMs / MINUTE_MS)} min after opening`;
    try {
      const trade = await activity.queryChannelOrder.executeWithOptions(
        { ...activity.presets.channelCheckIn, summary: `${after}: ask ${on} whether the order is paid` },
        [{ channel: on, paymentId }],
      );
      state.note('channel.check_in', `${after}: ${on} reports ${trade.state}`);
      if (trade.state === 'APPROVED')
        return (await captureApproved(on, `approval found at the ${after}`)).state === 'PAID';
      return trade.state === 'PAID';
    } catch (err) {
      if (isCancellation(err)) throw err;
      state.note('channel.check_in', `${after}: ${on} did not answer (${describe(err)})`);
      return false;
    }
  };

  const registerRefund = (paid: Charge): void => {
    compensations.push('refund the charge', () =>
      refund(`${paymentId}-r1`, paid.amount, state.failureReason ?? 'payment compensated'),
    );
  };

  /** The charge is confirmed: voucher, fulfilment, or compensation. */
  const settleCharge = async (paid: Charge): Promise<void> => {
    compensations.clear();
    registerRefund(paid);
    if (state.channel !== null) state.recordAttempt(state.channel, 'succeeded');
    state.note('payment.paid', `${state.channel} trade ${paid.channelTradeNo}`);
    // Paid and voucher issued reach the read model in one write (the voucher is a local step too).
    const local = localSteps();
    await state.moveTo('processing', 'paid; issuing the voucher', { persist: !local });
    compensations.push('void the voucher', async () => {
      const voiding = { paymentId, reason: state.failureReason ?? 'payment refunded' };
      await (localSteps() ? activity.local.voidVoucher(voiding) : activity.voidVoucher(voiding));
      if (state.voucher) state.note('voucher.voided', state.voucher.voucherId);
    });
    const facts = {
      paymentId,
      orderId: request.orderId,
      amount: paid.amount,
      currency: request.currency,
      channel: state.channel as PaymentChannel,
      channelTradeNo: paid.channelTradeNo,
      items: request.items,
      ...(request.discounts && request.discounts.length > 0 ? { discounts: request.discounts } : {}),
      ...(input.fx ? { fx: input.fx } : {}),
      paidAt: paid.paidAt,
      issuedAt: new Date().toISOString(),
    };
    const summary = 'sign and record the voucher';
    const signed = local
      ? await activity.local.issueVoucher.executeWithOptions({ ...activity.localPresets.persistence, summary }, [facts])
      : await activity.issueVoucher.executeWithOptions({ ...activity.presets.voucher, summary }, [facts]);
    state.voucher = { voucherId: signed.voucherId, digest: signed.digest };
    state.note('voucher.issued', signed.voucherId);
    await state.persist();

    let delivery: Awaited<ReturnType<typeof sendWebhook>> | undefined;
    try {
      delivery = await sendWebhook({
        id: `evt_${paymentId}_succeeded`,
        type: 'payment.succeeded',
        createdAt: new Date().toISOString(),
        data: { ...state.view(), status: 'succeeded', timeline: undefined, voucher: signed },
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      delivery = undefined;
      state.note('webhook.undelivered', `payment.succeeded: ${describe(err)}`);
    }
    if (delivery?.delivered) {
      compensations.clear();
      await state.moveTo('succeeded', 'voucher issued and order fulfilled');
      return;
    }
    const reason = delivery
      ? `the platform refused to fulfil the order: ${delivery.reason}`
      : 'the platform did not confirm fulfilment within 24 hours';
    state.note('fulfilment.refused', reason);
    await compensate(reason);
  };

  /** The wait for a payment is over: a method choice waiting for the story is answered, later ones refused. */
  const endMethodChoice = () => {
    state.methodChoiceClosed = true;
    const pending = state.methodRequest;
    if (pending !== null && pending.outcome === undefined) {
      pending.outcome = { refused: `payment ${paymentId} no longer takes another method: it is being decided` };
    }
  };

  /** Lets running handlers finish, then refunds a payment that arrived after the end. */
  const finish = async (): Promise<PaymentView> => {
    endMethodChoice();
    await condition(allHandlersFinished);
    const late = state.latePaidNotice;
    if (late && (state.status === 'expired' || state.status === 'canceled')) {
      await CancellationScope.nonCancellable(async () => {
        state.note(
          'payment.paid_late',
          `${late.channel} trade ${late.channelTradeNo} after the payment ${state.status}`,
        );
        await refund(`${paymentId}-late`, late.amount, `paid after the payment ${state.status}`);
        await state.moveTo('refunded', `paid after the payment ended; refunded`);
        await tellPlatform('payment.refunded');
      });
      await condition(allHandlersFinished);
    }
    // Declines told to the platform meanwhile are delivered (or given up) before the workflow ends.
    await Promise.all(attemptWebhooks);
    return state.view();
  };

  /** The risk check refused the payment (`risk.block` in the timeline is what the API answers `risk_blocked` by). */
  const blockedByRisk = async (why: string): Promise<PaymentView> => {
    state.note('risk.block', why);
    return failOpening(`blocked by the risk check: ${why}`);
  };

  /**
   * The risk check, before any channel order exists: undefined to go on routing, or the payment's
   * end. A payment held for review answers the platform at once (`risk_review`, no cashier link)
   * and waits for staff to allow or block it, for a cancel, or for its window to end.
   */
  const checkRisk = async (subject: RiskSubject): Promise<PaymentView | undefined> => {
    const verdict = await activity.local.assessPaymentRisk.executeWithOptions(
      { ...activity.localPresets.persistence, summary: 'risk check' },
      [{ paymentId, subject, amount: request.amount, currency: request.currency }],
    );
    const why = verdict.reasons.join('; ');
    if (verdict.decision === 'allow') {
      if (why !== '') state.note('risk.allow', why);
      return undefined;
    }
    if (verdict.decision === 'block') return blockedByRisk(why);
    await state.moveTo('risk_review', why);
    state.opened = true;
    const windowEnded = steadyTimer(
      Math.max(Date.parse(expiresAt) - Date.now(), 1),
      'the payment window (risk review)',
    );
    await condition(() => state.riskDecision !== null || state.cancelRequest !== null || windowEnded());
    if (state.riskDecision === 'allow') {
      await state.moveTo('processing', 'allowed by staff after the risk check');
      return undefined;
    }
    if (state.riskDecision === 'block') return blockedByRisk('staff refused the payment after review');
    state.cancelDecided = true;
    const cancel = state.cancelRequest;
    if (cancel) await state.moveTo('canceled', cancel.reason);
    else await state.moveTo('expired', 'nobody decided the risk review within the payment window');
    await tellPlatform(cancel ? 'payment.canceled' : 'payment.expired');
    return finish();
  };

  /** The payment could not be opened: tell the platform and end. */
  const failOpening = async (reason: string): Promise<PaymentView> => {
    state.failureReason = reason;
    await state.moveTo('failed', reason);
    state.opened = true;
    await tellPlatform('payment.failed');
    return finish();
  };

  try {
    const violation = businessRuleViolation(request);
    if (violation) return await failOpening(violation);
    if (input.risk !== undefined && patched(PATCHES.riskCheck)) {
      const ended = await checkRisk(input.risk);
      if (ended !== undefined) return ended;
    }

    const routeRequest = {
      currency: request.currency,
      amount: request.amount,
      ...(request.channel ? { preferred: request.channel } : {}),
    };
    const routeOptions = { ...activity.localPresets.routing, summary: 'choose the channels that can take the payment' };
    const planRoute = async (): Promise<PaymentChannel[]> => {
      if (!patched(PATCHES.routeReasons)) {
        return await activity.planChannelRoute.executeWithOptions(routeOptions, [routeRequest]);
      }
      const plan = await activity.planChannelRouteExplained.executeWithOptions(routeOptions, [routeRequest]);
      if (plan.change !== undefined) state.note('channel.route', plan.change);
      return plan.route;
    };
    const closable = new Set<PaymentChannel>();
    /** One pass down the route, failing over; answers whether every candidate refused for good. */
    const openAtOneOf = async (candidates: readonly PaymentChannel[]): Promise<boolean> => {
      let refusals = 0;
      for (const candidate of candidates) {
        if (!closable.has(candidate)) {
          closable.add(candidate);
          // Compensation first: an order may exist even when creating it timed out.
          compensations.push(`close the ${candidate} order`, async () => {
            await closeChannel(candidate);
          });
        }
        try {
          const order = await activity.openChannelOrder.executeWithOptions(
            { ...activity.presets.channelCreate, summary: `open the ${candidate} order` },
            [
              {
                channel: candidate,
                paymentId,
                amount: request.amount,
                currency: request.currency,
                subject: paymentSubject(request),
                expiresAt,
              },
            ],
          );
          state.channel = candidate;
          state.merchantId = order.merchantId;
          state.payUrl = order.payUrl;
          state.decidedAtChannel = order.decided === true;
          state.note('channel.order_created', candidate);
          return false;
        } catch (err) {
          if (isCancellation(err)) throw err;
          if (failureType(err) === PaymentErrorCode.ChannelRejected) refusals += 1;
          state.note('channel.unavailable', `${candidate}: ${describe(err)}`);
        }
      }
      return refusals === candidates.length;
    };

    let candidates = await planRoute();
    let refusedForGood = await openAtOneOf(candidates);
    const openRetryMs = input.openRetryMs ?? 0;
    // Every channel down at once (outages overlap, breakers open): the payment stays `processing`
    // and routes again, so a short outage costs the learner a wait, not a failed order. The budget
    // is the time spent waiting between rounds (`openRetryMs`), not the wall clock, so a round slowed
    // by timeouts, or a Temporal outage, does not use it up; the payment window bounds it all. The
    // create's caller gets a 503 request_timeout meanwhile and retries the same request.
    if (state.channel === null && !refusedForGood && openRetryMs > 0 && patched(PATCHES.openRetries)) {
      let waited = 0;
      for (let round = 0; state.channel === null && !refusedForGood; round += 1) {
        const waitMs = Math.min(OPEN_RETRY_FIRST_WAIT_MS * 2 ** round, OPEN_RETRY_LONGEST_WAIT_MS);
        if (waited + waitMs > openRetryMs || Date.now() + waitMs >= Date.parse(expiresAt)) break;
        waited += waitMs;
        state.note('channel.open_retry', `no channel could open the payment; routing again in ${waitMs / 1000} s`);
        await sleep(waitMs, { summary: 'wait for a channel to come back' });
        candidates = await planRoute();
        refusedForGood = await openAtOneOf(candidates);
      }
    }
    if (state.channel === null) {
      return await failOpening(
        candidates.length === 0
          ? `no enabled channel takes ${request.amount} ${request.currency}`
          : `every channel that could take the payment was unavailable (${candidates.join(', ')})`,
      );
    }
    let chosen: PaymentChannel = state.channel;
    upsertSearchAttributes([{ key: PaymentChannelKey, value: chosen }]);
    // The read model holds the payment before the platform hears of it.
    await state.moveTo('awaiting_payment', chosen);
    state.opened = true;

    let windowMs = state.decidedAtChannel ? 1 : Math.max(Date.parse(expiresAt) - Date.now(), 1);
    // The window's timer runs to its end even when the payment is decided sooner (PATCHES.steadyTimers).
    const steady = patched(PATCHES.steadyTimers);
    const windowEnded = steady ? steadyTimer(windowMs, 'the payment window') : () => false;
    const decided = () =>
      state.paidNotice !== null ||
      state.cancelRequest !== null ||
      state.requeryRequested ||
      state.approvalNotice !== null ||
      state.declineNotices.length > 0 ||
      (state.methodRequest !== null && state.methodRequest.outcome === undefined);
    /** A charge found while switching methods (paid while closing the order the learner left). */
    let foundPaid: Charge | null = null;
    /**
     * The learner chose another method on the checkout: close this order first (asking the channel,
     * as at the window's end), then open the chosen channel's. Answers whether the payment turned
     * out paid.
     */
    const switchMethod = async (method: NonNullable<typeof state.methodRequest>): Promise<boolean> => {
      const leaving = chosen;
      // A channel left by an earlier switch whose new order could not open is closed already.
      if (!state.closedChannels.has(leaving)) {
        state.leavingMethod = true;
        const paid = await confirmUnpaidAndClose(leaving).finally(() => {
          state.leavingMethod = false;
        });
        if (paid !== null || state.paidNotice !== null) {
          foundPaid = paid;
          method.outcome = 'paid';
          return true;
        }
        state.closedChannels.add(leaving);
        state.recordAttempt(leaving, 'closed', `the learner chose ${method.channel}`);
      }
      state.payUrl = null;
      await openAtOneOf([method.channel]);
      if (state.channel === method.channel) {
        chosen = method.channel;
        upsertSearchAttributes([{ key: PaymentChannelKey, value: chosen }]);
        state.note('payment.method_changed', `${leaving} → ${chosen}`);
        method.outcome = 'opened';
      } else {
        method.outcome = { refused: `${method.channel} could not open the order now; choose another method` };
      }
      await state.persist();
      return false;
    };
    const checkIns = steady && patched(PATCHES.windowCheckIns) ? checkInOffsets(windowMs) : [];
    const openedAt = Date.now();
    let checkIn = 0;
    const nextCheckIn = () =>
      checkIn < checkIns.length
        ? steadyTimer(Math.max(checkIns[checkIn]! - (Date.now() - openedAt), 1), 'ask the channel (check-in)')
        : () => false;
    let checkInDue = nextCheckIn();
    for (;;) {
      if (steady) await condition(() => windowEnded() || decided() || checkInDue());
      else await condition(decided, windowMs, { summary: 'the payment window' });
      const method = state.methodRequest;
      if (method !== null && method.outcome === undefined) {
        if (state.paidNotice !== null || state.cancelRequest !== null || windowEnded()) {
          method.outcome = { refused: `payment ${paymentId} no longer awaits payment` };
        } else if (await switchMethod(method)) break;
        continue;
      }
      const decline = state.declineNotices.shift();
      if (decline !== undefined) {
        if (state.paidNotice === null && patched(PATCHES.attempts)) {
          await attemptFailed(decline.channel, decline.declineReason ?? 'declined');
        }
        continue;
      }
      if (checkInDue() && !windowEnded() && !decided()) {
        checkIn += 1;
        if (await paidAtCheckIn(chosen, checkIns[checkIn - 1]!)) break;
        checkInDue = nextCheckIn();
        continue;
      }
      const approval = state.approvalNotice;
      if (approval !== null && state.paidNotice === null && state.cancelRequest === null) {
        // The payer approved (PayPal): capture; a declined capture leaves the payment payable.
        state.approvalNotice = null;
        const captured = await captureApproved(chosen, `approved (notification ${approval.notificationId})`);
        if (captured.state === 'PAID') break;
        continue;
      }
      if (!state.requeryRequested || state.paidNotice !== null || state.cancelRequest !== null) break;
      // Staff asked the channel now (a notification may be lost): paid ends the wait.
      state.requeryRequested = false;
      const trade = await askChannel(chosen, 'approval found when staff asked');
      state.note('channel.query', `asked by staff: ${chosen} reports ${trade.state}`);
      if (trade.state === 'PAID') break;
      windowMs = Math.max(Date.parse(expiresAt) - Date.now(), 1);
    }
    endMethodChoice();
    const notice = state.paidNotice;
    if (notice !== null && notice.channel !== chosen) {
      // Paid at the channel the learner was leaving while the chosen one's order opened: that new
      // order is closed, and the charge is the channel's that took it.
      const closed = await closeChannel(chosen);
      state.note(
        'channel.close',
        closed === 'ALREADY_PAID'
          ? `${chosen} was paid too, after ${notice.channel}: refund one of them (reconciliation shows both)`
          : `${chosen}: the payment was made at ${notice.channel}`,
      );
      state.channel = notice.channel;
      chosen = notice.channel;
    }
    state.charge = notice
      ? {
          channelTradeNo: notice.channelTradeNo,
          amount: notice.amount,
          paidAt: notice.paidAt ?? new Date().toISOString(),
        }
      : (foundPaid ?? (await confirmUnpaidAndClose(chosen)));
    // A notification may arrive while the channel is asked.
    const lateNotice = state.paidNotice;
    if (!state.charge && lateNotice) {
      state.charge = {
        channelTradeNo: lateNotice.channelTradeNo,
        amount: lateNotice.amount,
        paidAt: lateNotice.paidAt ?? new Date().toISOString(),
      };
    }

    if (!state.charge) {
      const cancel = state.cancelRequest;
      if (cancel) await state.moveTo('canceled', cancel.reason);
      else await state.moveTo('expired', `no payment within ${request.expiresInSeconds} s`);
      state.cancelDecided = true;
      compensations.clear();
      await tellPlatform(cancel ? 'payment.canceled' : 'payment.expired');
      return await finish();
    }
    state.cancelDecided = true;
    await settleCharge(state.charge);
    return await finish();
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        state.cancelling = true;
        if (state.status === 'risk_review') {
          state.cancelDecided = true;
          await state.moveTo('canceled', 'the payment workflow was cancelled during the risk review');
          await tellPlatform('payment.canceled');
          return;
        }
        if (state.status === 'awaiting_payment' && state.channel !== null && state.charge === null) {
          state.charge = await confirmUnpaidAndClose(state.channel);
          if (!state.charge) {
            compensations.clear();
            await state.moveTo('canceled', 'the payment workflow was cancelled');
            state.cancelDecided = true;
            await tellPlatform('payment.canceled');
            return;
          }
          registerRefund(state.charge);
          await state.moveTo('processing', 'paid; refunding because the payment workflow was cancelled');
        }
        state.cancelDecided = true;
        if (state.charge) await compensate('the payment workflow was cancelled after the charge');
        else if (state.status === 'processing')
          await state.moveTo('failed', 'the payment workflow was cancelled before a channel order existed');
      });
      return await finish();
    }
    if (state.charge && compensations.size > 0) {
      await compensate(`the saga failed after the charge: ${describe(err)}`);
      return await finish();
    }
    if (err instanceof ApplicationFailure && err.type === PaymentErrorCode.CallbackMismatch) {
      state.failureReason = err.message;
      // A cancel waiting for the outcome is answered now: the payment is in review, not canceled.
      state.cancelDecided = true;
      await state.moveTo('manual_review', state.failureReason);
      await condition(() => state.retryRequested);
      // Staff settled the difference outside: the case is closed, the payment stays in review.
      state.closeCase();
      return await finish();
    }
    throw err;
  }
}
