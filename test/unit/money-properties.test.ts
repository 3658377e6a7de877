import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convertMinor, RATE_PATTERN, refundSettlementAmount, type FxQuote } from '../../domain/fx.js';
import {
  CURRENCIES,
  CURRENCY_EXPONENTS,
  formatMajor,
  minorPerMajor,
  parseMajor,
  type Currency,
} from '../../domain/money.js';
import { linePaidAmounts, lineNet, orderTotal, pricingViolation, type Discount } from '../../domain/pricing.js';
import { createPaymentRequestSchema } from '../../src/api/schemas.js';

/** ISO 4217 minor units of the supported currencies, as the standard's list gives them. */
const ISO_4217_MINOR_UNITS = {
  AUD: 2,
  BHD: 3,
  CAD: 2,
  CNY: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  SGD: 2,
  USD: 2,
};

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** A whole number from `min` to `max` (beyond fast-check's 32-bit `integer`). */
const wholeNumber = (min: number, max: number) => fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
const currency = fc.constantFrom(...CURRENCIES);
const safeAmount = wholeNumber(0, Number.MAX_SAFE_INTEGER);

/** A rate string as RATE_PATTERN takes it: up to `wholeDigits` digits before the point, up to 10 after, not zero. */
const rate = (wholeDigits = 12) =>
  fc
    .record({
      whole: fc.bigInt({ min: 0n, max: 10n ** BigInt(wholeDigits) - 1n }),
      fraction: fc.option(fc.stringMatching(/^\d{1,10}$/), { nil: undefined }),
    })
    .map(({ whole, fraction }) => (fraction === undefined ? `${whole}` : `${whole}.${fraction}`))
    .filter((text) => /[1-9]/.test(text));

function gcd(a: bigint, b: bigint): bigint {
  return b === 0n ? a : gcd(b, a % b);
}

/**
 * The converted amount by another road: the exact rational value in the target's minor units,
 * reduced, then rounded to the nearest integer, an exact half to the even one.
 */
function exactConversion(amount: number, from: Currency, to: Currency, rateText: string): bigint {
  const [whole = '0', fraction = ''] = rateText.split('.');
  let numerator = BigInt(amount) * BigInt(`${whole}${fraction}`);
  let denominator = 10n ** BigInt(fraction.length);
  const shift = CURRENCY_EXPONENTS[to] - CURRENCY_EXPONENTS[from];
  if (shift > 0) numerator *= 10n ** BigInt(shift);
  if (shift < 0) denominator *= 10n ** BigInt(-shift);
  const divisor = gcd(numerator, denominator);
  numerator /= divisor;
  denominator /= divisor;
  const below = numerator / denominator;
  const twiceRest = 2n * (numerator - below * denominator);
  if (twiceRest < denominator) return below;
  if (twiceRest > denominator) return below + 1n;
  return below % 2n === 0n ? below : below + 1n;
}

describe('the currency table', () => {
  it('holds the ISO 4217 minor unit of every supported currency, and no other currency', () => {
    expect(CURRENCY_EXPONENTS).toEqual(ISO_4217_MINOR_UNITS);
    for (const code of CURRENCIES) expect(minorPerMajor(code)).toBe(10 ** ISO_4217_MINOR_UNITS[code]);
  });

  it('formats any amount of any currency so that parsing it gives the amount back', () => {
    fc.assert(
      fc.property(currency, safeAmount, (code, minor) => {
        expect(parseMajor(formatMajor(minor, code), code)).toBe(minor);
      }),
      { numRuns: 1_000 },
    );
  });

  it('parses any exact amount in canonical form so that formatting it gives the same text', () => {
    fc.assert(
      fc.property(currency, fc.stringMatching(/^(0|[1-9]\d{0,11})$/), fc.nat(999), (code, whole, cents) => {
        const exponent = CURRENCY_EXPONENTS[code];
        const fraction = String(cents % 10 ** exponent).padStart(exponent, '0');
        const text = exponent === 0 ? whole : `${whole}.${fraction}`;
        const minor = parseMajor(text, code);
        expect(minor).toBeDefined();
        expect(formatMajor(minor!, code)).toBe(text);
      }),
    );
  });

  it('refuses more decimals than the currency has', () => {
    fc.assert(
      fc.property(currency, fc.nat(10 ** 6), fc.stringMatching(/^\d{1,6}$/), (code, whole, digits) => {
        const fraction = digits.padEnd(CURRENCY_EXPONENTS[code] + 1, '0');
        expect(parseMajor(`${whole}.${fraction}`, code)).toBeUndefined();
      }),
    );
  });
});

describe('converting at a quote', () => {
  it('is tried with rates of the pattern rate sources are held to', () => {
    fc.assert(
      fc.property(rate(), (text) => {
        expect(text).toMatch(RATE_PATTERN);
      }),
    );
  });

  it('agrees with the exact rational value rounded half to even, and throws only when it is not a safe integer', () => {
    fc.assert(
      fc.property(
        currency,
        currency,
        fc.oneof(wholeNumber(0, 10_000_000_000), safeAmount),
        fc.oneof(rate(3), rate()),
        (from, to, amount, rateText) => {
          const expected = exactConversion(amount, from, to, rateText);
          if (expected > MAX_SAFE) {
            expect(() => convertMinor(amount, from, to, rateText)).toThrow(RangeError);
          } else {
            expect(convertMinor(amount, from, to, rateText)).toBe(Number(expected));
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('never gives less for a larger amount', () => {
    fc.assert(
      fc.property(
        currency,
        currency,
        wholeNumber(0, 100_000_000),
        wholeNumber(0, 100_000_000),
        rate(4),
        (from, to, a, b, rateText) => {
          const [smaller, larger] = a <= b ? [a, b] : [b, a];
          expect(convertMinor(smaller, from, to, rateText)).toBeLessThanOrEqual(
            convertMinor(larger, from, to, rateText),
          );
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('leaves the amount as it is at rate 1 between currencies of one exponent', () => {
    const pairs = CURRENCIES.flatMap((from) =>
      CURRENCIES.filter((to) => CURRENCY_EXPONENTS[to] === CURRENCY_EXPONENTS[from]).map((to) => [from, to] as const),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...pairs),
        safeAmount,
        fc.constantFrom('1', '1.0', '1.0000000000'),
        ([from, to], amount, one) => {
          expect(convertMinor(amount, from, to, one)).toBe(amount);
        },
      ),
    );
  });

  it.each([
    // 1 yen at 0.0005 dinar is half a fils; 1.5 and 2.5 fils go to 2, 3.5 to 4.
    ['JPY', 'KWD', 1, '0.0005', 0],
    ['JPY', 'KWD', 1, '0.0015', 2],
    ['JPY', 'KWD', 1, '0.0025', 2],
    ['JPY', 'KWD', 1, '0.0035', 4],
    ['JPY', 'KWD', 5, '0.0005', 2],
    // 1 fils at 500 yen per dinar is half a yen.
    ['KWD', 'JPY', 1, '500', 0],
    ['KWD', 'JPY', 1, '1500', 2],
    ['KWD', 'JPY', 1, '2500', 2],
    ['KWD', 'JPY', 3, '500', 2],
    // 1 cent at 50 yen per dollar is half a yen.
    ['USD', 'JPY', 1, '50', 0],
    ['USD', 'JPY', 1, '150', 2],
    ['USD', 'JPY', 1, '250', 2],
    ['USD', 'JPY', 7, '50', 4],
    ['USD', 'CNY', 1, '0.5', 0],
    ['USD', 'CNY', 3, '0.5', 2],
    ['USD', 'CNY', 5, '0.5', 2],
    // Just above and below a half is no tie.
    ['USD', 'JPY', 1, '250.0000000001', 3],
    ['USD', 'JPY', 1, '249.9999999999', 2],
  ] as const)(
    'converts %s → %s: %i minor units at %s is %i, an exact half going to the even neighbour',
    (from, to, amount, rateText, expected) => {
      expect(convertMinor(amount, from, to, rateText)).toBe(expected);
    },
  );
});

describe('the settlement shares of refunds', () => {
  /** A payment's locked quote, its settlement amount converted as `lockQuote` does. */
  const quote = fc
    .record({
      presentmentCurrency: currency,
      settlementCurrency: currency,
      presentmentAmount: fc.oneof(wholeNumber(1, 1_000), wholeNumber(1, 100_000_000)),
      rate: rate(4),
    })
    .map(
      (q): FxQuote => ({
        ...q,
        settlementAmount: convertMinor(q.presentmentAmount, q.presentmentCurrency, q.settlementCurrency, q.rate),
        quotedAt: '2025-03-14T09:30:00.000Z',
        source: 'sandbox',
      }),
    );
  /** The quote and the amounts of refunds (at least one, at most 21) that together refund all of it. */
  const refundedInFull = quote.chain((q) =>
    fc
      .uniqueArray(q.presentmentAmount > 1 ? wholeNumber(1, q.presentmentAmount - 1) : fc.constant(0), {
        maxLength: q.presentmentAmount > 1 ? 20 : 0,
      })
      .map((cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), q.presentmentAmount];
        return { quote: q, refunds: points.slice(1).map((point, i) => point - points[i]!) };
      }),
  );

  it('add up to the settlement amount exactly, each at least zero and within one unit of its own conversion', () => {
    fc.assert(
      fc.property(refundedInFull, ({ quote: q, refunds }) => {
        let refundedBefore = 0;
        let settled = 0;
        for (const amount of refunds) {
          const share = refundSettlementAmount(q, refundedBefore, amount);
          expect(share).toBeGreaterThanOrEqual(0);
          expect(Number.isSafeInteger(share)).toBe(true);
          const alone = convertMinor(amount, q.presentmentCurrency, q.settlementCurrency, q.rate);
          expect(Math.abs(share - alone)).toBeLessThanOrEqual(1);
          refundedBefore += amount;
          settled += share;
        }
        expect(settled).toBe(q.settlementAmount);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the pricing rule', () => {
  interface Line {
    unitAmount: number;
    quantity: number;
    discounts: Discount[];
  }

  /** Discounts of at least one unit each that add up to at most `limit`. */
  const discountsWithin = (limit: number): fc.Arbitrary<Discount[]> =>
    limit < 1
      ? fc.constant([])
      : fc.array(wholeNumber(1, limit), { maxLength: 4 }).map((amounts) => {
          let left = limit;
          const kept: Discount[] = [];
          for (const amount of amounts) {
            if (amount > left) continue;
            left -= amount;
            kept.push({ description: `Discount ${kept.length + 1}`, amount });
          }
          return kept;
        });

  const line: fc.Arbitrary<Line> = fc
    .record({
      unitAmount: fc.oneof(wholeNumber(0, 100_000), wholeNumber(0, 1_000_000_000)),
      quantity: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 1_000 })),
    })
    .chain((l) => discountsWithin(l.unitAmount * l.quantity).map((discounts) => ({ ...l, discounts })));

  /** Lines and order discounts that keep the rule, and the amount computed apart from domain/pricing.ts. */
  const validOrder = fc.array(line, { minLength: 1, maxLength: 12 }).chain((lines) => {
    const sumOf = (discounts: Discount[]) => discounts.reduce((total, d) => total + BigInt(d.amount), 0n);
    const linesTotal = lines.reduce(
      (total, l) => total + BigInt(l.unitAmount) * BigInt(l.quantity) - sumOf(l.discounts),
      0n,
    );
    return discountsWithin(Number(linesTotal)).map((orderDiscounts) => ({
      lines,
      orderDiscounts,
      amount: Number(linesTotal - sumOf(orderDiscounts)),
    }));
  });

  const schema = createPaymentRequestSchema({ maxAmount: Number.MAX_SAFE_INTEGER });
  const requestOf = (lines: Line[], orderDiscounts: Discount[], amount: number, code: Currency = 'CNY') => ({
    orderId: 'ord-1001',
    customerId: 'cust-1001',
    currency: code,
    amount,
    items: lines.map((l, i) => ({
      courseId: `course-${i + 1}`,
      title: `Course ${i + 1}`,
      unitAmount: l.unitAmount,
      quantity: l.quantity,
      ...(l.discounts.length > 0 ? { discounts: l.discounts } : {}),
    })),
    ...(orderDiscounts.length > 0 ? { discounts: orderDiscounts } : {}),
  });

  it('finds no violation in lines and order discounts that keep it, and totals them to the amount', () => {
    fc.assert(
      fc.property(validOrder, ({ lines, orderDiscounts, amount }) => {
        expect(pricingViolation(lines, orderDiscounts, amount)).toBeUndefined();
        expect(orderTotal(lines, orderDiscounts)).toBe(amount);
      }),
      { numRuns: 500 },
    );
  });

  it('shares the order discounts out so the lines add up to the amount, each between zero and its net price', () => {
    fc.assert(
      fc.property(validOrder, ({ lines, orderDiscounts, amount }) => {
        const paid = linePaidAmounts(lines, orderDiscounts);
        expect(paid).toHaveLength(lines.length);
        expect(paid.reduce((total, share) => total + share, 0)).toBe(amount);
        const nets = lines.map(lineNet);
        const linesTotal = BigInt(nets.reduce((total, net) => total + net, 0));
        const off = BigInt(orderDiscounts.reduce((total, d) => total + d.amount, 0));
        for (const [i, share] of paid.entries()) {
          const net = nets[i]!;
          expect(Number.isSafeInteger(share)).toBe(true);
          expect(share).toBeGreaterThanOrEqual(0);
          expect(share).toBeLessThanOrEqual(net);
          // The line's part of the order discounts is its proportional part, rounded down or up.
          if (linesTotal > 0n) {
            const gap = BigInt(net - share) * linesTotal - BigInt(net) * off;
            expect(gap > -linesTotal && gap < linesTotal).toBe(true);
          }
        }
        expect(linePaidAmounts(structuredClone(lines), structuredClone(orderDiscounts))).toEqual(paid);
      }),
      { numRuns: 500 },
    );
  });

  it('lets the API schema accept every request that keeps the rule', () => {
    fc.assert(
      fc.property(
        validOrder.filter((o) => o.amount >= 1),
        currency,
        ({ lines, orderDiscounts, amount }, code) => {
          const parsed = schema.safeParse(requestOf(lines, orderDiscounts, amount, code));
          expect(parsed.error?.issues).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  /** Lines and order discounts with figures up to 2^53, where float sums round, and an amount at or next to their exact total. */
  const hugeOrder = fc
    .record({
      lines: fc.array(
        fc.record({
          unitAmount: fc.oneof(
            wholeNumber(Number.MAX_SAFE_INTEGER - 1_000, Number.MAX_SAFE_INTEGER),
            wholeNumber(0, Number.MAX_SAFE_INTEGER),
            wholeNumber(0, 1_000),
          ),
          quantity: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 3 })),
          discounts: fc.array(
            fc
              .oneof(wholeNumber(1, 1_000), wholeNumber(1, Number.MAX_SAFE_INTEGER))
              .map((amount) => ({ description: 'Sale', amount })),
            { maxLength: 3 },
          ),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      orderDiscounts: fc.array(
        fc
          .oneof(
            wholeNumber(Number.MAX_SAFE_INTEGER - 1_000, Number.MAX_SAFE_INTEGER),
            wholeNumber(1, Number.MAX_SAFE_INTEGER),
          )
          .map((amount) => ({ description: 'Bundle', amount })),
        { maxLength: 3 },
      ),
      delta: fc.constantFrom(0, 0, 0, -2, -1, 1, 2),
    })
    .map(({ lines, orderDiscounts, delta }) => {
      const exactSum = (discounts: Discount[]) => discounts.reduce((total, d) => total + BigInt(d.amount), 0n);
      const nets = lines.map((l) => BigInt(l.unitAmount) * BigInt(l.quantity) - exactSum(l.discounts));
      const exactTotal = nets.reduce((total, net) => total + net, 0n) - exactSum(orderDiscounts);
      return { lines, orderDiscounts, nets, exactTotal, amount: Number(exactTotal) + delta };
    });

  it('accepts no amount but the exact total, however large the figures, and then shares it out exactly', () => {
    let accepted = 0;
    fc.assert(
      fc.property(hugeOrder, ({ lines, orderDiscounts, nets, exactTotal, amount }) => {
        if (pricingViolation(lines, orderDiscounts, amount) !== undefined) return;
        accepted += 1;
        expect(nets.every((net) => net >= 0n)).toBe(true);
        expect(exactTotal >= 0n).toBe(true);
        expect(BigInt(amount)).toBe(exactTotal);
        expect(orderTotal(lines, orderDiscounts)).toBe(amount);
        const paid = linePaidAmounts(lines, orderDiscounts);
        expect(paid.reduce((total, share) => total + BigInt(share), 0n)).toBe(exactTotal);
        paid.forEach((share, i) => {
          expect(share).toBeGreaterThanOrEqual(0);
          expect(BigInt(share) <= nets[i]!).toBe(true);
        });
      }),
      { numRuns: 3_000 },
    );
    // Most such orders break the rule; enough keep it for the property to say something.
    expect(accepted).toBeGreaterThan(20);
  });

  it('refuses a total past 2^53 that order discounts bring back down, rather than round it', () => {
    const most = Number.MAX_SAFE_INTEGER;
    const lines = [
      { unitAmount: most, quantity: 1 },
      { unitAmount: most, quantity: 1 },
      { unitAmount: 1, quantity: 1 },
    ];
    const orderDiscounts = [
      { description: 'Bundle', amount: most },
      { description: 'Bundle', amount: most - 1_000 },
    ];
    // Exactly 1,001; float sums make it 1,002.
    expect(pricingViolation(lines, orderDiscounts, 1_002)).toMatch(/too large/);
    expect(pricingViolation(lines, orderDiscounts, 1_001)).toMatch(/too large/);
  });

  /** A valid order broken one way, with what pricingViolation must say and where the schema must point. */
  const brokenOrder = fc.oneof(
    // A line whose discounts exceed its price.
    validOrder.chain((order) =>
      fc.record({ index: fc.nat(order.lines.length - 1), over: wholeNumber(1, 1_000_000) }).map(({ index, over }) => {
        const lines = order.lines.map((l, i) =>
          i === index
            ? { ...l, discounts: [...l.discounts, { description: 'Too generous', amount: lineNet(l) + over }] }
            : l,
        );
        return {
          ...order,
          lines,
          amount: Math.max(order.amount, 1),
          violation: new RegExp(`^item ${index + 1}: its discounts \\(\\d+\\) exceed its price \\(\\d+\\)$`),
          path: ['items', index, 'discounts'],
        };
      }),
    ),
    // Order discounts above what the lines add up to.
    validOrder.chain((order) =>
      wholeNumber(1, 1_000_000).map((over) => ({
        ...order,
        orderDiscounts: [...order.orderDiscounts, { description: 'Too generous', amount: order.amount + over }],
        amount: Math.max(order.amount, 1),
        violation: /^the order's discounts \(\d+\) exceed the items' total \(\d+\)$/,
        path: ['discounts'],
      })),
    ),
    // An amount that is not the total.
    validOrder.chain((order) =>
      fc
        .integer({ min: -1_000_000, max: 1_000_000 })
        .filter((delta) => delta !== 0 && order.amount + delta >= 1)
        .map((delta) => ({
          ...order,
          amount: order.amount + delta,
          violation: new RegExp(
            `^amount ${order.amount + delta} differs from the items' total after discounts \\(${order.amount}\\)$`,
          ),
          path: ['amount'],
        })),
    ),
  );

  it('reports a line discounted below zero, order discounts above the lines, and a wrong amount', () => {
    fc.assert(
      fc.property(brokenOrder, ({ lines, orderDiscounts, amount, violation }) => {
        expect(pricingViolation(lines, orderDiscounts, amount)).toMatch(violation);
      }),
      { numRuns: 500 },
    );
  });

  it('lets the API schema refuse each such request with one custom issue where the fault is', () => {
    fc.assert(
      fc.property(brokenOrder, ({ lines, orderDiscounts, amount, path }) => {
        const parsed = schema.safeParse(requestOf(lines, orderDiscounts, amount));
        expect(parsed.success).toBe(false);
        expect(parsed.error?.issues).toEqual([expect.objectContaining({ code: 'custom', path })]);
      }),
      { numRuns: 300 },
    );
  });
});
