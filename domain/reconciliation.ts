/**
 * Daily reconciliation: a channel's bill for a day against what this system recorded. Pure rules
 * only; the download, the reads and the storage live in the activities.
 */
import type { PaymentChannel } from './payment.js';

/** What went wrong between the two sides. */
export const RECONCILIATION_EXCEPTION_KINDS = [
  /** The channel took (or refunded) money the system has no success for. */
  'missing_here',
  /** The system recorded a success the channel's bill does not carry. */
  'missing_at_channel',
  'amount_mismatch',
  /** Both sides know the transaction but disagree whether it took effect. */
  'status_mismatch',
  'currency_mismatch',
] as const;
export type ReconciliationExceptionKind = (typeof RECONCILIATION_EXCEPTION_KINDS)[number];

export const RECONCILIATION_STATUSES = ['running', 'completed', 'failed'] as const;
export type ReconciliationStatus = (typeof RECONCILIATION_STATUSES)[number];

/** How a staff member resolves an exception (see {@link actionsFor}). */
export const RESOLUTION_ACTIONS = [
  /** Ask the channel and let the payment's saga take the payment it finds. */
  'adopt',
  /** Give the money back through the saga (a late-payment refund, or a refund on request). */
  'refund',
  /** Nothing to move: the difference is understood; the reason says why. */
  'explain',
] as const;
export type ResolutionAction = (typeof RESOLUTION_ACTIONS)[number];

export type TransactionKind = 'payment' | 'refund';

/** Payment statuses in which the system holds the charge as taken (refunds come off it later). */
export const CHARGED_PAYMENT_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'partially_refunded', 'refunded']);

/** One line of a channel's bill, parsed from the channel's own format. Amounts in minor units. */
export interface BillLine {
  kind: TransactionKind;
  /** Our payment id (the channel's order number mapped back). */
  paymentId: string;
  /**
   * The refund's number at the channel, on refund lines: our refund id as sent
   * (`out_request_no` / `out_refund_no`), or what the channel's adapter makes of it (UnionPay:
   * the refund's own `orderId`).
   */
  refundNo: string | null;
  channelTradeNo: string | null;
  amount: number;
  /** ISO-4217 as the bill says it (may be a currency this system does not take). */
  currency: string;
  /** The channel's word for the line's state (`SUCCESS`, `REVOKED`, `00`, ...). */
  status: string;
  /** Whether the line says the money moved (charged, or refunded). */
  succeeded: boolean;
  /** ISO-8601, when the channel says it happened. */
  at: string;
}

/** A day's bill: the lines and, where the channel sends one, its own summary. */
export interface ChannelBill {
  channel: PaymentChannel;
  /** `YYYY-MM-DD`, the channel's (Beijing) day. */
  date: string;
  lines: BillLine[];
}

/** What this system recorded about a payment or refund the bill names, or that it holds for the day. */
export interface SystemTransaction {
  kind: TransactionKind;
  paymentId: string;
  refundId: string | null;
  /** The refund's number at the channel (see {@link BillLine.refundNo}). */
  refundNo: string | null;
  amount: number;
  currency: string;
  /** The system's status word (`succeeded`, `expired`, `processing`, ...). */
  status: string;
  /** Whether the system holds the money as moved (payment charged, refund made). */
  succeeded: boolean;
  /** Whether it happened in the reconciled day: only those can be `missing_at_channel`. */
  inDay: boolean;
}

/** One side's values of a transaction. */
export interface SideValues {
  status: string;
  amount: number;
  currency: string;
}

export interface ReconciliationFinding {
  kind: ReconciliationExceptionKind;
  transaction: TransactionKind;
  paymentId: string;
  /** Our refund id, when the system knows the refund. */
  refundId: string | null;
  /** The refund's number at the channel. */
  refundNo: string | null;
  channelTradeNo: string | null;
  /** This system's values; null when it has no record. */
  here: SideValues | null;
  /** The bill's values; null when the bill has no line. */
  atChannel: SideValues | null;
}

/** Matched count and amounts, per currency (never summed across currencies). */
export interface MatchedTotals {
  count: number;
  amounts: { currency: string; amount: number }[];
}

export interface ReconciliationOutcome {
  billLines: number;
  matched: { payments: MatchedTotals; refunds: MatchedTotals };
  exceptions: ReconciliationFinding[];
}

const keyOf = (t: { kind: TransactionKind; paymentId: string; refundNo: string | null }): string =>
  t.kind === 'payment' ? `p:${t.paymentId}` : `r:${t.refundNo ?? ''}`;

function addTo(totals: MatchedTotals, currency: string, amount: number): void {
  totals.count += 1;
  const found = totals.amounts.find((a) => a.currency === currency);
  if (found) found.amount += amount;
  else totals.amounts.push({ currency, amount });
}

/**
 * Matches every bill line to the system's record by the channel's order and refund numbers
 * (payment id, refund id), and every success the system holds for the day to a bill line. Each
 * transaction yields at most one finding, the first that applies: missing, then status, then
 * currency, then amount. A line both sides hold as not effective (a closed order) agrees.
 */
export function reconcile(lines: readonly BillLine[], system: readonly SystemTransaction[]): ReconciliationOutcome {
  const recorded = new Map(system.map((t) => [keyOf(t), t]));
  const seen = new Set<string>();
  const matched = { payments: { count: 0, amounts: [] }, refunds: { count: 0, amounts: [] } } as {
    payments: MatchedTotals;
    refunds: MatchedTotals;
  };
  const exceptions: ReconciliationFinding[] = [];
  const sideOf = (t: SideValues): SideValues => ({ status: t.status, amount: t.amount, currency: t.currency });

  for (const line of lines) {
    const key = keyOf(line);
    const here = seen.has(key) ? undefined : recorded.get(key);
    seen.add(key);
    const finding = (kind: ReconciliationExceptionKind): ReconciliationFinding => ({
      kind,
      transaction: line.kind,
      paymentId: line.paymentId,
      refundId: here?.refundId ?? null,
      refundNo: line.refundNo,
      channelTradeNo: line.channelTradeNo,
      here: here ? sideOf(here) : null,
      atChannel: sideOf(line),
    });
    if (here === undefined || (line.succeeded && !here.succeeded)) {
      if (line.succeeded) exceptions.push(finding('missing_here'));
      continue;
    }
    if (!line.succeeded) {
      if (here.succeeded) exceptions.push(finding('status_mismatch'));
      continue;
    }
    if (line.currency !== here.currency) exceptions.push(finding('currency_mismatch'));
    else if (line.amount !== here.amount) exceptions.push(finding('amount_mismatch'));
    else addTo(line.kind === 'payment' ? matched.payments : matched.refunds, line.currency, line.amount);
  }

  for (const t of system) {
    if (!t.inDay || !t.succeeded || seen.has(keyOf(t))) continue;
    exceptions.push({
      kind: 'missing_at_channel',
      transaction: t.kind,
      paymentId: t.paymentId,
      refundId: t.refundId,
      refundNo: t.refundNo,
      channelTradeNo: null,
      here: sideOf(t),
      atChannel: null,
    });
  }
  return { billLines: lines.length, matched, exceptions };
}

/**
 * The actions that resolve a finding, given the status of its payment here (undefined: none).
 * A charge the system never took: `adopt` while its payment still waits for the money (the saga
 * asks the channel and takes it), `refund` once the payment expired or was canceled (the saga's
 * late-payment refund); otherwise it can only be explained. The rest: explain the difference, or
 * open a refund on request (reviewed like any) where the payment can still be refunded.
 */
export function actionsFor(
  finding: Pick<ReconciliationFinding, 'kind' | 'transaction'>,
  paymentStatus: string | undefined,
): ResolutionAction[] {
  if (finding.kind === 'missing_here' && finding.transaction === 'payment') {
    if (paymentStatus === 'processing' || paymentStatus === 'awaiting_payment') return ['adopt', 'explain'];
    if (paymentStatus === 'expired' || paymentStatus === 'canceled') return ['refund', 'explain'];
    return ['explain'];
  }
  if (finding.kind !== 'missing_here' && (paymentStatus === 'succeeded' || paymentStatus === 'partially_refunded')) {
    return ['explain', 'refund'];
  }
  return ['explain'];
}

/** `YYYY-MM-DD` of `at` in the channel's day, `offsetMinutes` ahead of UTC (Beijing: 480). */
export function dayOf(at: Date, offsetMinutes: number): string {
  return new Date(at.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 10);
}

/** The instants `[start, end)` of day `date` (`YYYY-MM-DD`) at `offsetMinutes` ahead of UTC. */
export function dayBounds(date: string, offsetMinutes: number): { start: Date; end: Date } {
  const start = new Date(Date.parse(`${date}T00:00:00Z`) - offsetMinutes * 60_000);
  return { start, end: new Date(start.getTime() + 86_400_000) };
}

/** Whether `text` is a real calendar date `YYYY-MM-DD`. */
export function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const parsed = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === text;
}

/** The channels' day: bills are cut at midnight Beijing time. */
export const BILL_UTC_OFFSET_MINUTES = 480;
