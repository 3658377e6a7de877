import {
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/index.js';
import type { RefundLedgerSnapshot, RefundOutcome } from '../activities/refunds.js';
import { activityPresets, localActivityPresets } from './activity-presets.js';
import { PaymentErrorCode } from '../domain/errors.js';
import type { PaymentStatus } from '../domain/payment.js';
import { requeryChannelUpdate, retryNowUpdate, type StaffNudgeArgs } from './contracts.js';
import { describe, failureType, refusal, requireMessage } from './failures.js';
import { PATCHES } from './payment/state.js';
import { steadyTimer } from './timers.js';
import { refundSettlementAmount } from '../domain/fx.js';
import {
  heldAmount,
  itemRefundViolation,
  refundedAmount,
  type RefundLedgerView,
  type RefundView,
  statusAfterRefunds,
} from '../domain/refunds.js';
import {
  approveRefundUpdate,
  getRefundLedgerQuery,
  type RefundDecisionArgs,
  type RefundNotificationArgs,
  refundNotificationUpdate,
  type RefundsWorkflowInput,
  rejectRefundUpdate,
  type RequestRefundArgs,
  requestRefundUpdate,
} from './refund-contracts.js';
import { NeedsAttentionKey, PaymentStatusKey, StuckReasonKey, type StuckReason } from './search-attributes.js';
import { isValidTransition } from '../domain/state-machine.js';

const { loadRefundLedger, saveRefund, recordStaffAction } = proxyActivities<PaymentActivities>(
  activityPresets.persistence,
);
const { startChannelRefund } = proxyActivities<PaymentActivities>(activityPresets.refund);
const { queryChannelRefund } = proxyActivities<PaymentActivities>(activityPresets.refundQuery);
const { notifyPlatform } = proxyActivities<PaymentActivities>(activityPresets.webhook);
const { verifyMessageSeal, readStaffTicket } = proxyLocalActivities<PaymentActivities>(
  localActivityPresets.messageCheck,
);

/** Roles that may decide a refund (see src/staff/roles.ts). */
const DECIDING_ROLES = ['finance', 'admin'];
const DAY_MS = 24 * 60 * 60 * 1000;

/** A refund the workflow is working on, with the staff nudges and the notice it may receive. */
interface RefundWork {
  refund: RefundView;
  /** Staff asked to try a failing step again. */
  retryRequested: boolean;
  /** Staff asked to ask the channel now. */
  requeryRequested: boolean;
  /** A sealed channel notification about this refund, not yet taken into account. */
  notice: RefundNotificationArgs | undefined;
  /** Why it needs people, while it does. */
  stuck: StuckReason | undefined;
  waitingForRetry: boolean;
}

/**
 * The refunds of one payment, after the sale: a ledger and a small saga per refund.
 *
 * 1. Load the payment and its earlier refunds from the read model (a new run picks up where an
 *    earlier one ended).
 * 2. Decide each sealed request against the refundable balance at once, in the update handler,
 *    so concurrent requests can never together exceed it. Large, late or staff-requested refunds
 *    wait in `pending_review` for a finance decision (four eyes: never the requester's own).
 * 3. Refund at the channel with the refund id as its idempotency key; confirm an asynchronous
 *    refund by the channel's sealed notification or by querying it on a schedule.
 * 4. Record every change in the read model, tell the platform (`refund.*`, `payment.refunded`),
 *    and keep `NeedsAttention`/`StuckReason` true to what waits on people.
 * The workflow ends after `idleMs` with nothing in flight; the next request starts a new run.
 */
export async function paymentRefundsWorkflow(input: RefundsWorkflowInput): Promise<RefundLedgerView> {
  const { paymentId, timing } = input;
  const { workflowId } = workflowInfo();
  /** Set once the handlers are registered; they wait for it. */
  let ledger: RefundLedgerSnapshot | undefined = undefined;
  let paymentStatus: PaymentStatus = 'succeeded';
  const works: RefundWork[] = [];
  const byRequestKey = new Map<string, RefundWork>();
  let running = 0;
  let lastAttention: string | undefined;
  /** Read-model writes, one at a time, each with the state as it is when it runs. */
  let writes: Promise<void> = Promise.resolve();

  const refunds = () => works.map((w) => w.refund);
  const view = (): RefundLedgerView => {
    const captured = ledger?.capturedAmount ?? 0;
    return {
      paymentId,
      orderId: ledger?.orderId ?? '',
      paymentStatus,
      currency: ledger?.currency ?? 'CNY',
      capturedAmount: captured,
      refundedAmount: refundedAmount(refunds()),
      refundableAmount: isRefundable() ? Math.max(captured - heldAmount(refunds()), 0) : 0,
      refunds: refunds().map((r) => ({ ...r })),
    };
  };
  const isRefundable = () => paymentStatus === 'succeeded' || paymentStatus === 'partially_refunded';
  const find = (refundId: string) => works.find((w) => w.refund.refundId === refundId);
  const now = () => new Date().toISOString();

  /** Keeps the search attributes and the Web UI's details true to what waits on people. */
  const showAttention = () => {
    const stuck = works.find((w) => w.stuck === 'refund_failing') ?? works.find((w) => w.stuck !== undefined);
    const reason = stuck?.stuck ?? '';
    if (reason !== lastAttention) {
      lastAttention = reason;
      upsertSearchAttributes([
        { key: NeedsAttentionKey, value: reason !== '' },
        { key: StuckReasonKey, value: reason },
      ]);
    }
    const waiting = works.filter((w) => w.refund.status === 'pending_review').length;
    const inFlight = works.filter((w) => w.refund.status === 'processing').length;
    setCurrentDetails(
      [
        `Refunds of ${paymentId}: ${inFlight} at the channel, ${waiting} waiting for review.`,
        waiting > 0 ? 'Finance: approve or reject with the approveRefund/rejectRefund Update and a staff ticket.' : '',
        stuck?.stuck === 'refund_failing'
          ? `Refund ${stuck.refund.refundId}: ${stuck.refund.failureReason ?? 'not confirmed'}. Support: send retryNow or requeryChannel.`
          : '',
      ]
        .filter((line) => line !== '')
        .join('\n'),
    );
  };

  const persist = (work: RefundWork, event: string, detail: string): Promise<void> => {
    const write = writes.then(() =>
      saveRefund({
        paymentId,
        refund: { ...work.refund },
        refunds: refunds().map((r) => ({ ...r })),
        paymentStatus,
        refundedAmount: refundedAmount(refunds()),
        event: { at: now(), event, detail },
      }),
    );
    writes = write.catch(() => undefined);
    return write;
  };

  const tellPlatform = async (
    type: 'refund.succeeded' | 'refund.failed' | 'refund.rejected' | 'payment.refunded',
    refund: RefundView,
  ) => {
    try {
      const data = { ...view(), refund: { ...refund }, refunds: undefined };
      await notifyPlatform.executeWithOptions({ ...activityPresets.webhook, summary: `webhook ${type}` }, [
        {
          id: type === 'payment.refunded' ? `evt_${paymentId}_refunded` : `evt_${refund.refundId}_${type.slice(7)}`,
          type,
          createdAt: now(),
          data,
        },
      ]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('the platform did not accept a refund webhook within its retry window', {
        paymentId,
        refundId: refund.refundId,
        type,
        error: describe(err),
      });
    }
  };

  const audit = (
    action: string,
    operator: string,
    role: string,
    via: 'api' | 'temporal-ui',
    refund: RefundView | undefined,
    reason: string,
    before: unknown,
    after: unknown,
  ) =>
    recordStaffAction({
      id: `${workflowId}:${currentUpdateInfo()?.id ?? uuid4()}`,
      operator,
      role,
      action,
      target: refund ? `refund:${refund.refundId}` : `payment:${paymentId}`,
      paymentId,
      refundId: refund?.refundId ?? null,
      reason,
      before,
      after,
      via,
    });

  /** Why a request must wait for a finance decision, or `undefined` when it need not. */
  const reviewReason = (args: RequestRefundArgs): string | undefined => {
    if (args.requestedBy.kind === 'staff') return `requested by staff (${args.requestedBy.operator})`;
    if (args.amount > args.policy.reviewAboveAmount)
      return `amount ${args.amount} is above the review threshold ${args.policy.reviewAboveAmount}`;
    const succeededAt = ledger?.succeededAt ? Date.parse(ledger.succeededAt) : undefined;
    if (succeededAt !== undefined && Date.now() - succeededAt > args.policy.reviewAfterDays * DAY_MS)
      return `requested more than ${args.policy.reviewAfterDays} days after the payment`;
    return undefined;
  };

  const moveStatus = () => {
    const next = statusAfterRefunds(ledger?.capturedAmount ?? 0, refundedAmount(refunds()), paymentStatus);
    if (next === paymentStatus || !isValidTransition(paymentStatus, next)) return false;
    paymentStatus = next;
    upsertSearchAttributes([{ key: PaymentStatusKey, value: next }]);
    return true;
  };

  const finishRefund = async (work: RefundWork, outcome: RefundOutcome) => {
    const { refund } = work;
    work.stuck = undefined;
    refund.completedAt = now();
    if (outcome.channelRefundId) refund.channelRefundId = outcome.channelRefundId;
    if (outcome.status === 'SUCCEEDED') {
      refund.status = 'succeeded';
      delete refund.failureReason;
    } else {
      refund.status = 'failed';
      refund.failureReason = outcome.reason ?? 'declined by the channel';
    }
    const fullyRefunded = moveStatus() && paymentStatus === 'refunded';
    showAttention();
    await persist(work, `refund.${refund.status}`, refund.refundId);
    await tellPlatform(refund.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed', refund);
    if (fullyRefunded) await tellPlatform('payment.refunded', refund);
  };

  const markStuck = async (work: RefundWork, why: string) => {
    if (work.stuck === 'refund_failing' && work.refund.failureReason === why) return;
    work.stuck = 'refund_failing';
    work.refund.failureReason = why;
    showAttention();
    await persist(work, 'refund.attention', `${work.refund.refundId}: ${why}`);
  };

  /** Waits until the channel confirms or denies a refund it accepted. */
  const awaitSettlement = async (work: RefundWork, first: RefundOutcome): Promise<RefundOutcome> => {
    let outcome = first;
    let queries = 0;
    const schedule = timing.queryScheduleMs.length > 0 ? timing.queryScheduleMs : [60_000];
    while (outcome.status === 'PROCESSING') {
      if (outcome.reason === 'ABNORMAL') {
        await markStuck(work, 'the channel reports the refund ABNORMAL (the learner’s account could not take it)');
      } else if (queries >= schedule.length) {
        await markStuck(work, `the channel has not confirmed the refund after ${queries} queries`);
      }
      const wait = schedule[Math.min(queries, schedule.length - 1)] as number;
      const summary = `next query of refund ${work.refund.refundId}`;
      const woken = () => work.notice !== undefined || work.requeryRequested;
      if (patched(PATCHES.steadyTimers)) {
        const due = steadyTimer(wait, summary);
        await condition(() => due() || woken());
      } else {
        await condition(woken, wait, { summary });
      }
      const notice = work.notice;
      if (notice) {
        work.notice = undefined;
        outcome = {
          status: notice.status,
          ...(notice.channelRefundId ? { channelRefundId: notice.channelRefundId } : {}),
          ...(notice.reason ? { reason: notice.reason } : {}),
        };
        continue;
      }
      work.requeryRequested = false;
      queries += 1;
      try {
        outcome = await queryChannelRefund.executeWithOptions(
          { ...activityPresets.refundQuery, summary: `ask the channel about refund ${work.refund.refundId}` },
          [{ channel: ledger?.channel ?? 'alipay', paymentId, refundId: work.refund.refundId }],
        );
      } catch (err) {
        if (isCancellation(err)) throw err;
        await markStuck(work, `the channel did not answer a refund query: ${describe(err)}`);
      }
    }
    return outcome;
  };

  /** One refund at the channel, from `processing` to `succeeded` or `failed`. */
  const processRefund = async (work: RefundWork) => {
    const { refund } = work;
    for (;;) {
      let outcome: RefundOutcome;
      try {
        outcome = await startChannelRefund.executeWithOptions(
          {
            ...activityPresets.refund,
            summary: `refund ${refund.amount} ${refund.currency} at the channel (${refund.refundId})`,
          },
          [
            {
              channel: ledger?.channel ?? 'alipay',
              paymentId,
              refundId: refund.refundId,
              amount: refund.amount,
              totalAmount: ledger?.capturedAmount ?? refund.amount,
              currency: refund.currency,
              reason: refund.reason,
            },
          ],
        );
      } catch (err) {
        if (isCancellation(err)) throw err;
        if (failureType(err) === PaymentErrorCode.ChannelRejected) {
          await finishRefund(work, { status: 'FAILED', reason: describe(err) });
          return;
        }
        await markStuck(work, `the channel did not take the refund: ${describe(err)}. Send retryNow to try again.`);
        work.retryRequested = false;
        work.waitingForRetry = true;
        await condition(() => work.retryRequested);
        work.waitingForRetry = false;
        continue;
      }
      outcome = await awaitSettlement(work, outcome);
      await finishRefund(work, outcome);
      return;
    }
  };

  const startProcessing = (work: RefundWork) => {
    running += 1;
    void processRefund(work)
      .catch((err: unknown) => {
        if (isCancellation(err)) return;
        log.error('refund processing stopped on an unexpected failure', {
          paymentId,
          refundId: work.refund.refundId,
          error: describe(err),
        });
      })
      .finally(() => {
        running -= 1;
      });
  };

  const loaded = () => ledger !== undefined;
  const sealed = (kind: 'refund-request' | 'refund-notification' | 'staff-nudge', message: { seal?: string }) =>
    verifyMessageSeal({ kind, workflowId, message });

  setHandler(getRefundLedgerQuery, view);

  setHandler(
    requestRefundUpdate,
    async (args) => {
      await condition(loaded);
      if (!(await sealed('refund-request', args))) {
        throw refusal(PaymentErrorCode.MessageNotSealed, 'refund requests come through the API only');
      }
      const earlier = args.requestKey === undefined ? undefined : byRequestKey.get(args.requestKey);
      if (earlier) return { ...earlier.refund };
      if (!ledger?.found) throw refusal(PaymentErrorCode.PaymentNotFound, `no payment ${paymentId}`);
      if (!isRefundable()) {
        throw refusal(
          PaymentErrorCode.PaymentNotRefundable,
          `payment ${paymentId} is ${paymentStatus}; only succeeded or partially refunded payments can be refunded`,
        );
      }
      const balance = ledger.capturedAmount - heldAmount(refunds());
      if (args.amount > balance) {
        throw refusal(
          PaymentErrorCode.RefundExceedsRefundable,
          `${args.amount} is more than the refundable balance of ${balance} ${ledger.currency}`,
        );
      }
      if (args.items !== undefined && args.items.length > 0) {
        const violation = itemRefundViolation(new Map(ledger.paidByCourse ?? []), refunds(), args.items);
        if (violation !== undefined) throw refusal(PaymentErrorCode.RefundExceedsRefundable, violation);
      }
      const review = reviewReason(args);
      const settlementAmount =
        ledger.fx === undefined ? undefined : refundSettlementAmount(ledger.fx, heldAmount(refunds()), args.amount);
      const refund: RefundView = {
        refundId: `rfd_${uuid4().replace(/-/g, '')}`,
        paymentId,
        amount: args.amount,
        currency: ledger.currency,
        status: review ? 'pending_review' : 'processing',
        reason: args.reason,
        ...(args.metadata ? { metadata: args.metadata } : {}),
        ...(args.items !== undefined && args.items.length > 0 ? { items: args.items.map((i) => ({ ...i })) } : {}),
        ...(settlementAmount === undefined ? {} : { settlementAmount }),
        requestedAt: now(),
        requestedBy: args.requestedBy,
        ...(review ? { reviewReason: review } : {}),
      };
      const work: RefundWork = {
        refund,
        retryRequested: false,
        requeryRequested: false,
        notice: undefined,
        stuck: review ? 'refund_review' : undefined,
        waitingForRetry: false,
      };
      works.push(work);
      if (args.requestKey !== undefined) byRequestKey.set(args.requestKey, work);
      showAttention();
      await persist(work, 'refund.requested', `${refund.refundId}: ${refund.amount} ${refund.currency}`);
      if (args.requestedBy.kind === 'staff') {
        await audit(
          'refund.request',
          args.requestedBy.operator,
          args.requestedBy.role,
          'api',
          refund,
          args.reason,
          null,
          { amount: refund.amount, status: refund.status },
        );
      }
      if (!review) startProcessing(work);
      return { ...refund };
    },
    {
      validator: (args: RequestRefundArgs) => {
        requireMessage(args, 'a sealed refund request');
        if (!Number.isSafeInteger(args.amount) || args.amount <= 0) {
          throw refusal(PaymentErrorCode.RefundExceedsRefundable, 'amount must be a positive integer of minor units');
        }
      },
    },
  );

  const decide = (approve: boolean) => async (args: RefundDecisionArgs) => {
    await condition(loaded);
    const action = approve ? 'approveRefund' : 'rejectRefund';
    const claims = await readStaffTicket({
      ticket: args.ticket,
      operator: args.operator,
      action,
      target: args.refundId,
    });
    if (!claims || !DECIDING_ROLES.includes(claims.role)) {
      throw refusal(
        PaymentErrorCode.StaffTicketInvalid,
        `a ${action} needs a valid staff ticket of a finance or admin member for ${args.operator} and refund ${args.refundId}; get one from POST /staff/v1/refunds/${args.refundId}/ticket`,
      );
    }
    const work = find(args.refundId);
    checkDecidable(work, args);
    const refund = (work as RefundWork).refund;
    const before = { status: refund.status };
    refund.status = approve ? 'processing' : 'rejected';
    refund.decidedAt = now();
    refund.decision = { operator: claims.operator, role: claims.role, reason: args.reason, via: claims.via };
    if (!approve) refund.completedAt = refund.decidedAt;
    (work as RefundWork).stuck = undefined;
    showAttention();
    await audit(
      approve ? 'refund.approve' : 'refund.reject',
      claims.operator,
      claims.role,
      claims.via,
      refund,
      args.reason,
      before,
      { status: refund.status },
    );
    await persist(work as RefundWork, approve ? 'refund.approved' : 'refund.rejected', refund.refundId);
    if (approve) startProcessing(work as RefundWork);
    else {
      running += 1;
      void tellPlatform('refund.rejected', { ...refund }).finally(() => {
        running -= 1;
      });
    }
    return { ...refund };
  };

  /** Throws unless the refund waits for a decision that this operator may take. */
  function checkDecidable(work: RefundWork | undefined, args: RefundDecisionArgs): void {
    if (!work) throw refusal(PaymentErrorCode.RefundNotFound, `payment ${paymentId} has no refund ${args.refundId}`);
    if (work.refund.status !== 'pending_review') {
      throw refusal(
        PaymentErrorCode.RefundNotPendingReview,
        `refund ${args.refundId} is ${work.refund.status}, not waiting for review`,
      );
    }
    const by = work.refund.requestedBy;
    if (by.kind === 'staff' && by.operator === args.operator) {
      throw refusal(PaymentErrorCode.FourEyesRequired, `${args.operator} requested this refund and cannot decide it`);
    }
  }

  const decisionValidator = (args: RefundDecisionArgs) => {
    requireMessage(args, '{ refundId, operator, reason, ticket }');
    if (!loaded()) return;
    checkDecidable(find(args.refundId), args);
  };
  setHandler(approveRefundUpdate, decide(true), { validator: decisionValidator });
  setHandler(rejectRefundUpdate, decide(false), { validator: decisionValidator });

  setHandler(
    refundNotificationUpdate,
    async (notice) => {
      await condition(loaded);
      if (!(await sealed('refund-notification', notice))) {
        throw refusal(PaymentErrorCode.MessageNotSealed, 'refund notifications come through the API only');
      }
      const work = find(notice.refundId);
      if (!work)
        throw refusal(PaymentErrorCode.RefundNotFound, `payment ${paymentId} has no refund ${notice.refundId}`);
      if (notice.amount !== work.refund.amount || notice.currency !== work.refund.currency) {
        throw refusal(
          PaymentErrorCode.CallbackMismatch,
          `the notification says ${notice.amount} ${notice.currency}, the refund is ${work.refund.amount} ${work.refund.currency}`,
        );
      }
      if (work.refund.status !== 'processing') return 'duplicate';
      work.notice = notice;
      return 'applied';
    },
    { validator: (notice) => requireMessage(notice, 'a sealed refund notification') },
  );

  const nudge = (kind: 'retryNow' | 'requeryChannel') => async (args: StaffNudgeArgs) => {
    await condition(loaded);
    const viaApi = args.seal !== undefined && (await sealed('staff-nudge', args));
    const targets = nudgeTargets(kind, args);
    if (targets.length === 0) {
      // The validator ran before the ledger was loaded (a new run): refuse now, as it would have.
      throw refusal(PaymentErrorCode.NothingToDo, nothingToNudge(kind));
    }
    for (const work of targets) {
      if (kind === 'retryNow') work.retryRequested = true;
      else work.requeryRequested = true;
    }
    for (const work of targets) {
      await audit(
        kind === 'retryNow' ? 'refund.retry' : 'refund.requery',
        args.operator,
        viaApi ? (args.role ?? 'unknown') : 'unverified',
        viaApi ? 'api' : 'temporal-ui',
        work.refund,
        args.reason,
        { status: work.refund.status, failureReason: work.refund.failureReason ?? null },
        null,
      );
    }
    return `${kind} sent to ${targets.map((w) => w.refund.refundId).join(', ')}`;
  };
  const nudgeTargets = (kind: 'retryNow' | 'requeryChannel', args: StaffNudgeArgs) =>
    works.filter(
      (w) =>
        (args.refundId === undefined || w.refund.refundId === args.refundId) &&
        (kind === 'retryNow' ? w.waitingForRetry : w.refund.status === 'processing'),
    );
  const nothingToNudge = (kind: 'retryNow' | 'requeryChannel') =>
    kind === 'retryNow' ? 'no refund is waiting for a retry' : 'no refund is waiting for the channel';
  const nudgeValidator = (kind: 'retryNow' | 'requeryChannel') => (args: StaffNudgeArgs) => {
    requireMessage(args, '{ operator, reason, refundId? }');
    if (typeof args.operator !== 'string' || args.operator.trim() === '' || typeof args.reason !== 'string') {
      throw refusal(PaymentErrorCode.NothingToDo, 'give { operator, reason } (and refundId to pick one refund)');
    }
    if (loaded() && nudgeTargets(kind, args).length === 0) {
      throw refusal(PaymentErrorCode.NothingToDo, nothingToNudge(kind));
    }
  };
  setHandler(retryNowUpdate, nudge('retryNow'), { validator: nudgeValidator('retryNow') });
  setHandler(requeryChannelUpdate, nudge('requeryChannel'), { validator: nudgeValidator('requeryChannel') });

  ledger = await loadRefundLedger.executeWithOptions(
    { ...activityPresets.persistence, summary: 'load the payment and its refunds' },
    [{ paymentId }],
  );
  paymentStatus = ledger.status;
  for (const refund of ledger.refunds) {
    const work: RefundWork = {
      refund,
      retryRequested: false,
      requeryRequested: false,
      notice: undefined,
      stuck: refund.status === 'pending_review' ? 'refund_review' : undefined,
      waitingForRetry: false,
    };
    works.push(work);
    // A refund an earlier run left at the channel: ask again where it stands (idempotent).
    // (Refunds the saga made to compensate are the payment workflow's, not ours.)
    if (refund.status === 'processing' && refund.refundId.startsWith('rfd_')) startProcessing(work);
  }
  showAttention();

  const busy = () => running > 0 || works.some((w) => w.refund.status === 'pending_review');
  for (;;) {
    await condition(() => !busy() && allHandlersFinished());
    const woken = () => busy() || !allHandlersFinished();
    let stillIdle: boolean;
    if (patched(PATCHES.steadyTimers)) {
      const over = steadyTimer(input.idleMs, 'end when idle');
      await condition(() => over() || woken());
      stillIdle = !woken();
    } else {
      stillIdle = !(await condition(woken, input.idleMs, { summary: 'end when idle' }));
    }
    if (stillIdle) break;
  }
  await writes;
  return view();
}
