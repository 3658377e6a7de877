import { describe, expect, it } from 'vitest';
import { assessRisk, riskRulesOn, type RiskFacts, type RiskRules } from '../../domain/risk.js';

const off: RiskRules = {
  windowMinutes: 60,
  customerMaxPayments: 0,
  customerMaxAmount: 0,
  addressMaxPayments: 0,
  unusualAmountFactor: 0,
  usualAfterPayments: 3,
  maxFailedInARow: 0,
  blockedCustomers: new Set(),
  blockedAddresses: new Set(),
};

const facts = (overrides: Partial<RiskFacts> = {}): RiskFacts => ({
  customer: 'c'.repeat(64),
  address: 'a'.repeat(64),
  amount: 10_000,
  customerPayments: 1,
  customerAmount: 10_000,
  addressPayments: 1,
  paid: { count: 0, meanAmount: 0 },
  failedInARow: 0,
  ...overrides,
});

describe('the risk check', () => {
  it('allows everything with every rule off, and says the rules are off', () => {
    expect(riskRulesOn(off)).toBe(false);
    expect(
      assessRisk(facts({ customerPayments: 999, addressPayments: 999, failedInARow: 99, amount: 10 ** 9 }), off),
    ).toEqual({ decision: 'allow', reasons: [] });
  });

  it.each([
    [
      'payments by the customer',
      { customerMaxPayments: 3 },
      { customerPayments: 4 },
      /4 payments by the customer in 60 min \(limit 3\)/,
    ],
    [
      'amount by the customer',
      { customerMaxAmount: 50_000 },
      { customerAmount: 50_001 },
      /50001 minor units by the customer/,
    ],
    [
      'payments from the address',
      { addressMaxPayments: 10 },
      { addressPayments: 11 },
      /11 payments from the client address/,
    ],
    [
      'an unusual amount',
      { unusualAmountFactor: 5 },
      { amount: 50_001, paid: { count: 3, meanAmount: 10_000 } },
      /50001 is more than 5 times the customer's usual 10000/,
    ],
  ] as const)('holds for review on %s, and not at the limit', (_what, rules, over, reason) => {
    const on = { ...off, ...rules };
    expect(riskRulesOn(on)).toBe(true);
    const verdict = assessRisk(facts(over), on);
    expect(verdict.decision).toBe('review');
    expect(verdict.reasons.join()).toMatch(reason);
    const atLimit = Object.fromEntries(
      Object.entries(over).map(([k, v]) => [k, typeof v === 'number' ? v - 1 : v]),
    ) as Partial<RiskFacts>;
    expect(assessRisk(facts(atLimit), on).decision).toBe('allow');
  });

  it('judges an amount unusual only after three paid payments', () => {
    const on = { ...off, unusualAmountFactor: 5 };
    expect(assessRisk(facts({ amount: 90_000, paid: { count: 2, meanAmount: 10_000 } }), on).decision).toBe('allow');
  });

  it('blocks a blocklisted customer or address, and failures in a row; a block wins over a review', () => {
    const on = {
      ...off,
      customerMaxPayments: 1,
      maxFailedInARow: 3,
      blockedCustomers: new Set(['c'.repeat(64)]),
      blockedAddresses: new Set(['b'.repeat(64)]),
    };
    expect(assessRisk(facts({ customerPayments: 5 }), on)).toEqual({
      decision: 'block',
      reasons: ['the customer is on the blocklist'],
    });
    expect(assessRisk(facts({ customer: 'd'.repeat(64), address: 'b'.repeat(64) }), on).reasons).toEqual([
      'the client address is on the blocklist',
    ]);
    expect(assessRisk(facts({ customer: 'd'.repeat(64), failedInARow: 3 }), on)).toEqual({
      decision: 'block',
      reasons: ["the customer's last 3 payments ended unpaid"],
    });
    expect(assessRisk(facts({ customer: 'd'.repeat(64), failedInARow: 2 }), on).decision).toBe('allow');
  });
});
