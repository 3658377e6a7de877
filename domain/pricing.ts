/**
 * What a payment's amount is made of: its lines (items with their own discounts) and the order's
 * discounts. The rule the API, the workflow, the voucher and the refunds all apply:
 *
 *   amount = Σ lines (unitAmount × quantity − the line's discounts) − the order's discounts
 *
 * and no line is ever worth less than zero, before or after its share of the order's discounts.
 * Pure integer arithmetic in minor units; products that could pass 2^53 are taken in BigInt.
 */

/** A price reduction, integer minor units of the payment's currency. */
export interface Discount {
  /** The coupon or campaign code the learner used, when there is one. */
  code?: string;
  /** What the learner reads on the checkout and the receipt ("Spring sale", "Bundle price"). */
  description: string;
  amount: number;
}

/** What a line of the order needs for its price. */
export interface PricedLine {
  unitAmount: number;
  quantity: number;
  discounts?: readonly Discount[];
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
/** The exact sum, however large: a float sum past 2^53 rounds, and a rounded total could match a wrong amount. */
const exactSum = (values: readonly number[]) => values.reduce((total, value) => total + BigInt(value), 0n);

/** The line's price before discounts: `unitAmount × quantity`. */
export function lineGross(line: PricedLine): number {
  return line.unitAmount * line.quantity;
}

/** The line's price after its own discounts (may be negative for a line that breaks the rule). */
export function lineNet(line: PricedLine): number {
  return lineGross(line) - sum((line.discounts ?? []).map((d) => d.amount));
}

/** The amount a request with these lines and order discounts must carry. */
export function orderTotal(lines: readonly PricedLine[], orderDiscounts: readonly Discount[] = []): number {
  return sum(lines.map(lineNet)) - sum(orderDiscounts.map((d) => d.amount));
}

/** Every discount of the order, the lines' and the order's, in minor units. */
export function totalDiscount(lines: readonly PricedLine[], orderDiscounts: readonly Discount[] = []): number {
  return (
    sum(lines.flatMap((line) => (line.discounts ?? []).map((d) => d.amount))) + sum(orderDiscounts.map((d) => d.amount))
  );
}

/**
 * Why lines, order discounts and amount break the pricing rule, in words a platform developer can
 * act on; `undefined` when they keep it. `name(i)` names line `i` in the message.
 */
export function pricingViolation(
  lines: readonly PricedLine[],
  orderDiscounts: readonly Discount[],
  amount: number,
  name: (index: number) => string = (index) => `item ${index + 1}`,
): string | undefined {
  for (const [index, line] of lines.entries()) {
    if (!Number.isSafeInteger(lineGross(line))) return `${name(index)}: unitAmount × quantity is too large`;
    for (const discount of line.discounts ?? []) {
      if (!Number.isSafeInteger(discount.amount) || discount.amount < 1)
        return `${name(index)}: a discount must be a positive integer of minor units`;
    }
    const discounted = exactSum((line.discounts ?? []).map((d) => d.amount));
    if (discounted > BigInt(lineGross(line)))
      return `${name(index)}: its discounts (${discounted}) exceed its price (${lineGross(line)})`;
  }
  for (const discount of orderDiscounts) {
    if (!Number.isSafeInteger(discount.amount) || discount.amount < 1)
      return 'an order discount must be a positive integer of minor units';
  }
  // Exact from here on; once the rule holds, every sum the functions below take is a safe integer.
  const linesTotal = exactSum(lines.map(lineNet));
  if (linesTotal > BigInt(Number.MAX_SAFE_INTEGER))
    return `amount ${amount} cannot be checked: the items' total (${linesTotal}) is too large`;
  const orderOff = exactSum(orderDiscounts.map((d) => d.amount));
  if (orderOff > linesTotal) return `the order's discounts (${orderOff}) exceed the items' total (${linesTotal})`;
  const total = Number(linesTotal - orderOff);
  if (total !== amount) return `amount ${amount} differs from the items' total after discounts (${total})`;
  return undefined;
}

/**
 * What the learner paid for each line: the line's net price less its share of the order's
 * discounts. The shares are in proportion to the lines' net prices, rounded down, with the units
 * left over going one each to the lines with the largest remainders (the earlier line on a tie), so
 * the shares add up to the order's discounts exactly and no line goes below zero. Refunds by item
 * never return more of a line than this.
 */
export function linePaidAmounts(lines: readonly PricedLine[], orderDiscounts: readonly Discount[] = []): number[] {
  const nets = lines.map(lineNet);
  const linesTotal = sum(nets);
  const orderOff = Math.min(sum(orderDiscounts.map((d) => d.amount)), Math.max(linesTotal, 0));
  if (orderOff === 0 || linesTotal <= 0) return nets;
  const total = BigInt(linesTotal);
  const off = BigInt(orderOff);
  const shares = nets.map((net) => {
    const exact = BigInt(Math.max(net, 0)) * off;
    return { floor: Number(exact / total), remainder: exact % total };
  });
  let left = orderOff - sum(shares.map((s) => s.floor));
  const order = shares
    .map((share, index) => ({ index, remainder: share.remainder }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of order) {
    if (left === 0) break;
    shares[index]!.floor += 1;
    left -= 1;
  }
  return nets.map((net, index) => net - shares[index]!.floor);
}
