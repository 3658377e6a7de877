import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { PaymentErrorCode } from '../domain/errors.js';

/** Quick, idempotent MongoDB writes: a few seconds each, retried until MongoDB is back. */
const untilMongoIsBack = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
} as const;

/**
 * Named timeout and retry presets: every activity call picks one, none relies on defaults.
 * Non-retryable error types sit next to the preset that honours them.
 */
export const activityPresets = {
  /** Read-model writes: quick, idempotent upserts; retried until MongoDB is back. */
  persistence: untilMongoIsBack,
  /**
   * Opening a channel order: a few quick tries, then the saga fails over to the next channel.
   * A business refusal (`channel_rejected`) is final for that channel.
   */
  channelCreate: {
    startToCloseTimeout: '15 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumAttempts: 3,
      nonRetryableErrorTypes: [PaymentErrorCode.ChannelRejected],
    },
  },
  /**
   * Query and close: the saga cannot decide a payment's fate without the channel's answer, so
   * these retry until the channel is back (staff see the pending attempts in the Web UI).
   */
  channelCall: {
    startToCloseTimeout: '15 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: [PaymentErrorCode.ChannelRejected],
    },
  },
  /**
   * Refunds retry long (about 2 hours) before the payment goes to `manual_review`. The refund id
   * is the channel's idempotency key, so retries never refund twice.
   */
  refund: {
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '10 minutes',
      maximumAttempts: 16,
      nonRetryableErrorTypes: [PaymentErrorCode.RefundFailed, PaymentErrorCode.ChannelRejected],
    },
  },
  /**
   * Asking the channel during the payment window whether the learner paid (a check-in): two quick
   * tries at most; an unanswered check-in is skipped, the window's end asks again with `channelCall`.
   */
  channelCheckIn: {
    startToCloseTimeout: '15 seconds',
    retry: {
      initialInterval: '1 second',
      maximumAttempts: 2,
      nonRetryableErrorTypes: [PaymentErrorCode.ChannelRejected],
    },
  },
  /**
   * Asking the channel how a refund stands: a few tries, then the refunds workflow waits and asks
   * again later (and flags the refund to staff when the channel stays unreachable).
   */
  refundQuery: {
    startToCloseTimeout: '15 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumAttempts: 5,
      nonRetryableErrorTypes: [PaymentErrorCode.ChannelRejected],
    },
  },
  /** The stuck-update recovery's pass over running workflows: a few tries, the next minute's pass follows. */
  stuckUpdateRecovery: {
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 3 },
  },
  /** The minute's probe of every channel: one try (the next minute's probe follows), each channel call bounded by the channel timeout. */
  channelProbe: {
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 1 },
  },
  /**
   * A day's reconciliation: the bill download and the matching, heartbeating between steps.
   * Retried for about an hour while the channel or MongoDB is unreachable; a bill that is not
   * there yet or does not check out (`bill_not_ready`, `malformed_bill`, `bill_hash_mismatch`,
   * any other channel refusal) fails the run at once with the reason.
   */
  reconciliation: {
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 10 },
  },
  /** Voucher issuance and voiding: local signing plus an idempotent insert. */
  voucher: untilMongoIsBack,
  /** Platform webhooks: retried with backoff for up to a day, as webhook senders do. */
  webhook: {
    startToCloseTimeout: '20 seconds',
    scheduleToCloseTimeout: '24 hours',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
  },
} satisfies Record<string, ActivityOptions>;

export const localActivityPresets = {
  /** Routing decisions: pure and quick, no server round trip. */
  routing: {
    startToCloseTimeout: '5 seconds',
    // Until it answers: a payment whose route never comes would fail (a MongoDB outage, a worker
    // too busy to read the channels' health in time). Routing itself needs no outside party.
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
  },
  /** Seal and staff-ticket checks: an HMAC in the worker, no I/O. */
  messageCheck: {
    startToCloseTimeout: '5 seconds',
    retry: { maximumAttempts: 3 },
  },
  /**
   * Read-model writes and voucher issuance, run in the worker beside the workflow task: quick,
   * idempotent (upserts and inserts keyed by the payment id), retried until MongoDB is back. They
   * cost the Temporal server no task of their own; the SDK keeps a long retry alive with timers.
   */
  persistence: untilMongoIsBack,
} satisfies Record<string, LocalActivityOptions>;
