import { Router } from 'express';
import { z } from 'zod';
import { divideHalfEven, parseRate, RATE_PATTERN } from '../../domain/fx.js';
import { CURRENCIES, isCurrency, type Currency } from '../../domain/money.js';
import { jsonBody } from '../api/body.js';
import { ApiError } from '../api/errors.js';
import { parseOrThrow } from '../api/validation.js';
import { requireSandboxControlToken } from './control-token.js';

/**
 * The sandbox's mid rates: yuan per major unit of each currency. Plausible, fixed figures, so a
 * test or a demo converts the same way every day.
 */
export const SANDBOX_CNY_RATES: Readonly<Record<Currency, string>> = {
  CNY: '1',
  HKD: '0.9150',
  USD: '7.1800',
  EUR: '7.8000',
  GBP: '9.1000',
  SGD: '5.3500',
  AUD: '4.7000',
  CAD: '5.2000',
  JPY: '0.048000',
  KRW: '0.005200',
  KWD: '23.4000',
  BHD: '19.0500',
};

/** Decimals of a derived cross rate. */
export const CROSS_RATE_DECIMALS = 8;

/**
 * `quote` major units per `base` major unit from a table of yuan rates: exactly
 * `table[base] / table[quote]`, rounded half to even to {@link CROSS_RATE_DECIMALS} decimals,
 * without trailing zeros ("7.18", "0.00022222"). "1" for a pair of one currency.
 */
export function crossRate(
  base: Currency,
  quote: Currency,
  table: Readonly<Record<Currency, string>> = SANDBOX_CNY_RATES,
): string {
  if (base === quote) return '1';
  const from = parseRate(table[base]);
  const to = parseRate(table[quote]);
  if (!from || !to) throw new RangeError(`no sandbox rate for ${from ? quote : base}`);
  const scaled = divideHalfEven(
    from.units * 10n ** BigInt(to.scale + CROSS_RATE_DECIMALS),
    to.units * 10n ** BigInt(from.scale),
  );
  if (scaled === 0n) throw new RangeError(`the ${base}/${quote} rate rounds to zero`);
  const digits = scaled.toString().padStart(CROSS_RATE_DECIMALS + 1, '0');
  const whole = digits.slice(0, -CROSS_RATE_DECIMALS);
  const fraction = digits.slice(-CROSS_RATE_DECIMALS).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

const setRateSchema = z.strictObject({
  rate: z
    .string()
    .regex(RATE_PATTERN, 'must be a decimal string such as "7.1834"')
    .refine((rate) => parseRate(rate) !== undefined, 'must be greater than zero'),
});

function currencyParam(value: unknown, name: 'base' | 'quote'): Currency {
  if (typeof value === 'string' && isCurrency(value)) return value;
  throw new ApiError(
    400,
    'invalid_request_error',
    'bad_request',
    `${name}: must be one of ${CURRENCIES.join(', ')}`,
    name,
  );
}

/**
 * The sandbox's exchange rates, mounted at `/sandbox/v1`:
 * - `GET /fx/rates?base=USD&quote=CNY` → `{ rate, quotedAt, source: 'sandbox' }`: what
 *   `FX_RATES_URL` answers, with no token, so the API's rate source can read it. The rate is the
 *   one set for the pair, else the cross rate of {@link SANDBOX_CNY_RATES}; `quotedAt` is now.
 * - `PUT /fx/rates/:base/:quote { rate }` (control token): that pair answers `rate` from now on
 *   (the opposite pair is left alone); `DELETE /fx/rates/:base/:quote` restores the table's.
 *   Both answer `{ base, quote, rate }`.
 * Unknown currencies answer 400. Rates set are kept in this process's memory only.
 */
export function sandboxFxRoutes(options: { controlToken: string; bodyLimitBytes: number; now?: () => Date }): Router {
  const { controlToken, bodyLimitBytes, now = () => new Date() } = options;
  const setRates = new Map<string, string>();
  const rateOf = (base: Currency, quote: Currency) => setRates.get(`${base}/${quote}`) ?? crossRate(base, quote);
  const router = Router();

  router.get('/fx/rates', (req, res) => {
    const base = currencyParam(req.query.base, 'base');
    const quote = currencyParam(req.query.quote, 'quote');
    res.json({ rate: rateOf(base, quote), quotedAt: now().toISOString(), source: 'sandbox' });
  });

  const control = [requireSandboxControlToken(controlToken), ...jsonBody(bodyLimitBytes)];
  router.put('/fx/rates/:base/:quote', ...control, (req, res) => {
    const base = currencyParam(req.params.base, 'base');
    const quote = currencyParam(req.params.quote, 'quote');
    const { rate } = parseOrThrow(setRateSchema, req.body ?? {});
    setRates.set(`${base}/${quote}`, rate);
    res.json({ base, quote, rate });
  });

  router.delete('/fx/rates/:base/:quote', requireSandboxControlToken(controlToken), (req, res) => {
    const base = currencyParam(req.params.base, 'base');
    const quote = currencyParam(req.params.quote, 'quote');
    setRates.delete(`${base}/${quote}`);
    res.json({ base, quote, rate: rateOf(base, quote) });
  });

  return router;
}
