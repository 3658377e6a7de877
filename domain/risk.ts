/**
 * The risk check a payment passes before any channel order is opened: pure rules over what the
 * product knows of the customer and the client address (by keyed hashes, never the values), so
 * workflows, activities and tests share one decision.
 */

/** Who a risk check looks at: keyed hashes of the customer id and the client address, never the values. */
export interface RiskSubject {
  customer: string;
  /** Absent when the platform did not say where the learner is: the address rules then do not apply. */
  address?: string;
}

export const RISK_DECISIONS = ['allow', 'review', 'block'] as const;
export type RiskDecision = (typeof RISK_DECISIONS)[number];

/** The rules, from configuration; a limit of 0 turns its rule off. */
export interface RiskRules {
  /** The velocity window, in minutes. */
  windowMinutes: number;
  /** Payments one customer may start in the window (this one included) before review. */
  customerMaxPayments: number;
  /** Minor units one customer may start in the window, per currency (this one included), before review. */
  customerMaxAmount: number;
  /** Payments one client address may start in the window before review. */
  addressMaxPayments: number;
  /** Review an amount above this many times the customer's usual (the mean of their paid ones). */
  unusualAmountFactor: number;
  /** Paid payments of the customer, in this currency, before their usual amount counts. */
  usualAfterPayments: number;
  /** Block once the customer's latest payments ended unpaid this many times in a row. */
  maxFailedInARow: number;
  /** Keyed hashes of blocked customers and client addresses. */
  blockedCustomers: ReadonlySet<string>;
  blockedAddresses: ReadonlySet<string>;
}

/** What the check knows when it decides: counts over the window include this payment. */
export interface RiskFacts {
  customer: string;
  address?: string;
  amount: number;
  customerPayments: number;
  /** Minor units the customer started in the window in this payment's currency, this one included. */
  customerAmount: number;
  addressPayments: number;
  /** The customer's paid payments in this currency: how many, and their mean amount. */
  paid: { count: number; meanAmount: number };
  /** The customer's latest payments within the window that the learner left unpaid (expired, canceled) in a row. */
  failedInARow: number;
}

export interface RiskVerdict {
  decision: RiskDecision;
  /** Why, in words staff can act on; no personal data (hashes are not shown either). */
  reasons: string[];
}

/** The decision: `block` wins over `review`, which wins over `allow`. */
export function assessRisk(facts: RiskFacts, rules: RiskRules): RiskVerdict {
  const block: string[] = [];
  const review: string[] = [];
  if (rules.blockedCustomers.has(facts.customer)) block.push('the customer is on the blocklist');
  if (facts.address !== undefined && rules.blockedAddresses.has(facts.address))
    block.push('the client address is on the blocklist');
  if (rules.maxFailedInARow > 0 && facts.failedInARow >= rules.maxFailedInARow) {
    block.push(`the customer's last ${facts.failedInARow} payments ended unpaid`);
  }
  const window = `in ${rules.windowMinutes} min`;
  if (rules.customerMaxPayments > 0 && facts.customerPayments > rules.customerMaxPayments) {
    review.push(`${facts.customerPayments} payments by the customer ${window} (limit ${rules.customerMaxPayments})`);
  }
  if (rules.customerMaxAmount > 0 && facts.customerAmount > rules.customerMaxAmount) {
    review.push(`${facts.customerAmount} minor units by the customer ${window} (limit ${rules.customerMaxAmount})`);
  }
  if (rules.addressMaxPayments > 0 && facts.addressPayments > rules.addressMaxPayments) {
    review.push(
      `${facts.addressPayments} payments from the client address ${window} (limit ${rules.addressMaxPayments})`,
    );
  }
  if (
    rules.unusualAmountFactor > 0 &&
    facts.paid.count >= rules.usualAfterPayments &&
    facts.amount > facts.paid.meanAmount * rules.unusualAmountFactor
  ) {
    review.push(
      `${facts.amount} is more than ${rules.unusualAmountFactor} times the customer's usual ${Math.round(facts.paid.meanAmount)}`,
    );
  }
  if (block.length > 0) return { decision: 'block', reasons: block };
  if (review.length > 0) return { decision: 'review', reasons: review };
  return { decision: 'allow', reasons: [] };
}

/** Whether any rule is on: with none, the check costs nothing. */
export function riskRulesOn(rules: RiskRules): boolean {
  return (
    rules.customerMaxPayments > 0 ||
    rules.customerMaxAmount > 0 ||
    rules.addressMaxPayments > 0 ||
    rules.unusualAmountFactor > 0 ||
    rules.maxFailedInARow > 0 ||
    rules.blockedCustomers.size > 0 ||
    rules.blockedAddresses.size > 0
  );
}
