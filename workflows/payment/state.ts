import { ApplicationFailure, patched, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Currency } from '../../domain/money.js';
import type {
  ChannelNotificationArgs,
  PaymentChannel,
  PaymentStatus,
  PaymentView,
  PaymentAttempt,
  RefundSummary,
  TimelineEntry,
  VoucherSummary,
} from '../../domain/payment.js';
import { isValidTransition } from '../../domain/state-machine.js';
import type { PaymentWorkflowInput } from '../contracts.js';
import { NeedsAttentionKey, PaymentStatusKey, StuckReasonKey, type StuckReason } from '../search-attributes.js';
import { activity } from './activities.js';

/** A confirmed charge at the channel. */
export interface Charge {
  channelTradeNo: string;
  amount: number;
  paidAt: string;
}

/** Which patch ids the payment workflows use, so old histories replay as they were written. */
export const PATCHES = {
  /** Channel notifications carry the API's seal. */
  sealedNotifications: 'sealed-notifications',
  /** `manual_review` sets NeedsAttention and StuckReason. */
  needsAttention: 'needs-attention',
  /** Slow channel and webhook calls flag the payment; a closed case clears its flag. */
  slowCallFlags: 'slow-call-flags',
  /** Read-model writes and voucher issuance run as local activities (no server task each). */
  localSteps: 'local-steps',
  /**
   * The payment window's and the slow-call flags' timers are left to fire, never cancelled: a
   * cancel that a lost workflow task never recorded, replayed after the timer fired, is a fatal
   * "invalid transition" in the SDK's timer state machine, and the payment would stick. The refunds
   * workflow uses the same patch id for its refund-query and idle timers (workflows/timers.ts).
   */
  steadyTimers: 'steady-timers',
  /** The saga asks the channel during the window too, not only at its end (payment/check-ins.ts). */
  windowCheckIns: 'window-check-ins',
  /** The route's plan says when channel health changed it, for the timeline (`channel.route`). */
  routeReasons: 'route-reasons',
  /** A risk check decides before routing (domain/risk.ts); `risk_review` waits for staff. */
  riskCheck: 'risk-check',
  /**
   * A payment whose every candidate channel was unavailable routes and tries again, with backoff,
   * for `openRetryMs` (`channel.open_retry`). Asked only when a first pass failed, so histories
   * that opened at once carry no marker.
   */
  openRetries: 'open-retries',
  /**
   * A declined try at the channel (a card's `payment_failed`, a denied capture) is recorded as an
   * attempt, saved, and told to the platform (`payment.attempt_failed`).
   */
  attempts: 'attempts',
} as const;

/** Whether this payment runs its quick, idempotent steps as local activities. */
export function localSteps(): boolean {
  return patched(PATCHES.localSteps);
}

/** What a `manual_review` waits on, for the `StuckReason` search attribute. */
function stuckReasonOf(detail: string | undefined): StuckReason {
  return detail !== undefined && /differs|reports a payment of/.test(detail)
    ? 'amount_mismatch'
    : 'compensation_failed';
}

/** What staff read in the Web UI's "current details": what the payment waits for, what they can do. */
const WAITING: Partial<Record<PaymentStatus, string>> = {
  processing: 'Working: opening the channel order, or confirming and fulfilling a charge.',
  awaiting_payment:
    'Waiting for the learner to pay until the window ends. A learner who paid but shows unpaid: send the Update requeryChannel { operator, reason }.',
  risk_review:
    'Held by the risk check (see the timeline for why): staff allow it with the Update allowPayment { operator, reason } or refuse it with blockPayment; it expires with its window.',
  manual_review:
    'Waiting for staff: read failureReason (Query getPayment), fix the cause, then send the Update retryNow { operator, reason }. See docs/runbook.md.',
};

/**
 * The payment's state and its one way to change status: {@link PaymentState.moveTo} checks the
 * state machine, notes the timeline, updates the search attributes, the Web UI's current details
 * and the read model.
 */
export class PaymentState {
  status: PaymentStatus = 'processing';
  readonly timeline: TimelineEntry[];
  channel: PaymentChannel | null = null;
  merchantId: string | null = null;
  payUrl: string | null = null;
  charge: Charge | null = null;
  voucher: VoucherSummary | null = null;
  readonly refunds: RefundSummary[] = [];
  /** The learner's tries that ended (declines, closed orders, the charge). */
  readonly attempts: PaymentAttempt[] = [];
  failureReason: string | null = null;
  /** Reasons raised by slow outside calls, while they last (besides `manual_review`'s own). */
  private readonly slowCalls = new Map<StuckReason, number>();

  // What messages asked for; the story and the handlers share these.
  /** The answer to the opening update is ready: the channel order exists, or the payment failed. */
  opened = false;
  openRequests = 0;
  paidNotice: ChannelNotificationArgs | null = null;
  latePaidNotice: ChannelNotificationArgs | null = null;
  /** The payer approved at a channel where the merchant captures (PayPal): the saga captures next. */
  approvalNotice: ChannelNotificationArgs | null = null;
  cancelRequest: { reason: string } | null = null;
  /** Staff decided a payment the risk check held. */
  riskDecision: 'allow' | 'block' | null = null;
  /** A staff decision on the risk review is being recorded: a second one is refused. */
  riskDecisionClaimed = false;
  /** Captures asked after declined ones: each is a new request at the channel (PayPal-Request-Id). */
  captureAttempt = 0;
  /** The workflow itself is being cancelled: nothing more is captured. */
  cancelling = false;
  cancelDecided = false;
  retryRequested = false;
  /** Staff asked to ask the channel now, while the payment awaits payment. */
  requeryRequested = false;
  /** The channel had already paid or closed the order before this run (a reset): ask, don't wait. */
  decidedAtChannel = false;
  /** Declines the channel notified, not yet recorded as attempts; their notification ids, to drop resends. */
  readonly declineNotices: ChannelNotificationArgs[] = [];
  readonly declineNoticeIds = new Set<string>();
  /** Channels whose order this payment closed when the learner chose another method: not offered again. */
  readonly closedChannels = new Set<PaymentChannel>();
  /**
   * The method the learner chose on the checkout, until the story has switched to it: then
   * `outcome` says whether its order opened (`opened`), the payment turned out paid (`paid`), or why not.
   */
  methodRequest: { channel: PaymentChannel; outcome?: 'opened' | 'paid' | { refused: string } } | null = null;
  /** The story no longer switches methods (the wait for a payment is over): a choice is refused. */
  methodChoiceClosed = false;
  /** A method switch is closing the order the learner left: an approval there is not captured. */
  leavingMethod = false;

  readonly paymentId: string;
  readonly expiresAt: string;

  constructor(readonly input: PaymentWorkflowInput) {
    this.paymentId = input.paymentId;
    this.expiresAt = new Date(Date.parse(input.acceptedAt) + input.request.expiresInSeconds * 1000).toISOString();
    this.timeline = [{ at: input.acceptedAt, event: 'payment.accepted' }];
  }

  get request() {
    return this.input.request;
  }

  get currency(): Currency {
    return this.input.request.currency;
  }

  view(): PaymentView {
    return {
      paymentId: this.paymentId,
      orderId: this.request.orderId,
      status: this.status,
      amount: this.request.amount,
      currency: this.request.currency,
      channel: this.channel,
      channelTradeNo: this.charge?.channelTradeNo ?? null,
      expiresAt: this.expiresAt,
      voucher: this.voucher,
      refunds: this.refunds.map((r) => ({ ...r })),
      payUrl: this.status === 'awaiting_payment' ? (this.input.checkoutUrl ?? this.payUrl) : null,
      fx: this.input.fx ?? null,
      attempts: this.attempts.map((a) => ({ ...a })),
      failureReason: this.failureReason,
      timeline: [...this.timeline],
    };
  }

  /** Records one of the learner's tries that ended. */
  recordAttempt(channel: PaymentChannel, outcome: PaymentAttempt['outcome'], reason?: string): PaymentAttempt {
    const attempt: PaymentAttempt = {
      attempt: this.attempts.length + 1,
      channel,
      outcome,
      at: new Date().toISOString(),
      ...(reason === undefined ? {} : { reason }),
    };
    this.attempts.push(attempt);
    return attempt;
  }

  note(event: string, detail?: string): void {
    this.timeline.push({ at: new Date().toISOString(), event, ...(detail ? { detail } : {}) });
  }

  persist(): Promise<void> {
    const snapshot = {
      view: this.view(),
      channelPayUrl: this.status === 'awaiting_payment' ? this.payUrl : null,
      request: this.request,
      requestFingerprint: this.input.requestFingerprint,
      createdByKeyId: this.input.createdByKeyId,
    };
    const summary = `save the payment (${this.status})`;
    return localSteps()
      ? activity.local.savePayment.executeWithOptions({ ...activity.localPresets.persistence, summary }, [snapshot])
      : activity.savePayment.executeWithOptions({ ...activity.presets.persistence, summary }, [snapshot]);
  }

  /**
   * `persist: false` leaves the read model for the next step's write (a status that lasts only
   * until that write, with nothing for a reader to act on).
   */
  async moveTo(next: PaymentStatus, detail?: string, { persist = true }: { persist?: boolean } = {}): Promise<void> {
    if (!isValidTransition(this.status, next)) {
      throw ApplicationFailure.nonRetryable(`invalid transition ${this.status} -> ${next}`, 'invalid_transition');
    }
    const wasReview = this.status === 'manual_review';
    const wasRiskReview = this.status === 'risk_review';
    this.status = next;
    this.note(`payment.${next}`, detail);
    upsertSearchAttributes([{ key: PaymentStatusKey, value: next }]);
    if ((next === 'manual_review' || wasReview) && patched(PATCHES.needsAttention)) {
      this.flag(next !== 'manual_review' ? undefined : stuckReasonOf(detail));
    }
    // Only payments that passed PATCHES.riskCheck reach risk_review.
    if (next === 'risk_review') this.flag('risk_review');
    else if (wasRiskReview) this.flag(undefined);
    this.showDetails();
    if (persist) await this.persist();
  }

  /** An outside party has been failing for long (`reason`); staff see it in the list. */
  raiseSlowCall(reason: StuckReason): void {
    this.slowCalls.set(reason, (this.slowCalls.get(reason) ?? 0) + 1);
    if (this.status !== 'manual_review') this.flag(reason);
    this.showDetails();
  }

  /** The call that raised `reason` is over. */
  clearSlowCall(reason: StuckReason): void {
    const left = (this.slowCalls.get(reason) ?? 1) - 1;
    if (left > 0) this.slowCalls.set(reason, left);
    else this.slowCalls.delete(reason);
    if (this.status !== 'manual_review') this.flag(this.slowCalls.keys().next().value);
    this.showDetails();
  }

  /** The case is closed (for example an amount mismatch settled outside): nothing needs people now. */
  closeCase(): void {
    if (patched(PATCHES.slowCallFlags)) this.flag(undefined);
  }

  private flag(reason: StuckReason | undefined): void {
    upsertSearchAttributes([
      { key: NeedsAttentionKey, value: reason !== undefined },
      { key: StuckReasonKey, value: reason ?? '' },
    ]);
  }

  /** The Web UI's "current details": what the payment waits for and what staff can do. */
  showDetails(): void {
    const slow = [...this.slowCalls.keys()];
    const lines = [
      `**${this.status}**: order ${this.request.orderId}, ${this.request.amount} ${this.request.currency}${this.channel ? ` by ${this.channel}` : ''}`,
      WAITING[this.status] ?? 'Finished: nothing waits.',
      ...(this.failureReason ? [`Reason: ${this.failureReason}`] : []),
      ...(slow.includes('channel_unreachable')
        ? ['The channel has not answered for long: its calls keep retrying by themselves; check its status page.']
        : []),
      ...(slow.includes('webhook_failing')
        ? [
            'The platform has not accepted a webhook for long: it keeps retrying for 24 hours; check the platform endpoint.',
          ]
        : []),
    ];
    setCurrentDetails(lines.join('\n\n'));
  }
}
