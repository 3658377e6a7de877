/**
 * Where exchange rates come from, and locking one for a payment. A payment whose currency is not
 * the settlement currency gets its quote once, at create time (`lockQuote`); every later figure is
 * converted at that quote (domain/fx.ts), so the rate source is never asked again for that payment.
 */
import { z } from 'zod';
import { convertMinor, parseRate, RATE_PATTERN, type FxQuote } from '../../domain/fx.js';
import type { Currency } from '../../domain/money.js';
import type { Config } from '../config.js';

/** A rate as a source gives it: settlement (`quote`) major units per `base` major unit. */
export interface RateQuote {
  /** A decimal string matching `RATE_PATTERN`, greater than zero ("7.1834"). */
  rate: string;
  /** ISO-8601 instant the source quoted the rate. */
  quotedAt: string;
  /** Which source gave it (`sandbox`, or a real provider's name). */
  source: string;
}

/** Gives the current rate of a currency pair; rejects with {@link RateUnavailableError} when it cannot. */
export interface RateSource {
  quote(base: Currency, quote: Currency): Promise<RateQuote>;
}

/**
 * No usable rate for a pair: the source is not configured, unreachable, slow, or answered something
 * that is not a quote. The message says what to check; it never holds the source's URL query or
 * credentials, nor the body it answered.
 */
export class RateUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RateUnavailableError';
  }
}

/** What a rate source must answer to `GET <url>?base=USD&quote=CNY`. */
export const rateAnswerSchema = z.object({
  rate: z
    .string()
    .regex(RATE_PATTERN, 'must be a decimal string such as "7.1834" (at most 12 digits before the point, 10 after)')
    .refine((rate) => parseRate(rate) !== undefined, 'must be greater than zero'),
  quotedAt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 instant' }),
  source: z
    .string()
    .regex(/^[\x21-\x7e][\x20-\x7e]{0,63}$/, 'must be 1-64 printable ASCII characters naming the provider'),
});

/** Most a rate answer may weigh; anything bigger is not a quote. */
const MAX_ANSWER_BYTES = 16 * 1024;

/**
 * A rate source over HTTP: `GET <url>?base=USD&quote=CNY` (the URL's own query parameters, an API
 * key for instance, are kept) answering JSON `{ rate, quotedAt, source }`. `timeoutMs` bounds the
 * whole exchange. No retry here: the caller decides whether to ask again. A pair of the same
 * currency is rate "1" without a request.
 */
export function createHttpRateSource(options: { url: string; timeoutMs: number }): RateSource {
  const target = describeTarget(options.url);
  return {
    async quote(base, quote) {
      if (base === quote) return { rate: '1', quotedAt: new Date().toISOString(), source: 'same-currency' };
      const pair = `${base}/${quote}`;
      const url = new URL(options.url);
      url.searchParams.set('base', base);
      url.searchParams.set('quote', quote);
      const headers: Record<string, string> = { accept: 'application/json' };
      // fetch refuses credentials in the URL (and would echo the URL in its error): send them as Basic auth.
      if (url.username || url.password) {
        const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
        headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
        url.username = '';
        url.password = '';
      }
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          headers,
          redirect: 'error',
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        text = await response.text();
      } catch (err) {
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        throw new RateUnavailableError(
          timedOut
            ? `the exchange rate source ${target} did not answer ${pair} within ${options.timeoutMs} ms; check that it is up (FX_RATES_URL)`
            : `the exchange rate source ${target} is unreachable (${causeOf(err)}); check FX_RATES_URL and that the source is up`,
        );
      }
      if (!response.ok) {
        throw new RateUnavailableError(
          `the exchange rate source ${target} answered HTTP ${response.status} for ${pair}; check FX_RATES_URL and that the source quotes this pair`,
        );
      }
      if (Buffer.byteLength(text) > MAX_ANSWER_BYTES) {
        throw new RateUnavailableError(
          `the exchange rate source ${target} answered more than ${MAX_ANSWER_BYTES} bytes for ${pair}; FX_RATES_URL must answer { rate, quotedAt, source }`,
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new RateUnavailableError(
          `the exchange rate source ${target} did not answer JSON for ${pair}; FX_RATES_URL must answer { rate, quotedAt, source }`,
        );
      }
      const parsed = rateAnswerSchema.safeParse(body);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'} ${i.message}`).join('; ');
        throw new RateUnavailableError(
          `the exchange rate source ${target} answered a malformed quote for ${pair} (${problems}); FX_RATES_URL must answer { rate, quotedAt, source }`,
        );
      }
      return parsed.data;
    },
  };
}

/** A source for when none is configured: every quote is refused with what to set. */
export function unavailableRateSource(reason: string): RateSource {
  return {
    quote(base, quote) {
      return Promise.reject(new RateUnavailableError(`no exchange rate for ${base}/${quote}: ${reason}`));
    },
  };
}

/** Where the sandbox process serves its simulated rates. */
export function sandboxRatesUrl(sandboxUrl: string): string {
  return `${sandboxUrl}/sandbox/v1/fx/rates`;
}

/**
 * The configured rate source: `FX_RATES_URL`; else, with the sandbox on, the sandbox's simulated
 * rates; else one that refuses every quote, asking for `FX_RATES_URL`. Requests time out after
 * `DEPENDENCY_TIMEOUT_MS`.
 */
export function rateSourceFrom(
  config: Pick<Config, 'FX_RATES_URL' | 'SANDBOX_ENABLED' | 'SANDBOX_URL' | 'DEPENDENCY_TIMEOUT_MS'>,
): RateSource {
  const timeoutMs = config.DEPENDENCY_TIMEOUT_MS;
  if (config.FX_RATES_URL) return createHttpRateSource({ url: config.FX_RATES_URL, timeoutMs });
  if (config.SANDBOX_ENABLED) return createHttpRateSource({ url: sandboxRatesUrl(config.SANDBOX_URL), timeoutMs });
  return unavailableRateSource(
    'set FX_RATES_URL to a rate source answering GET ?base=USD&quote=CNY with { rate, quotedAt, source }, ' +
      'or take payments only in SETTLEMENT_CURRENCY',
  );
}

/** How far in the future a quote's `quotedAt` may be (clock skew between us and the source). */
export const QUOTE_CLOCK_SKEW_MS = 5 * 60_000;
/** The oldest quote `lockQuote` takes by default: three days, so a daily rate survives a weekend. */
export const DEFAULT_MAX_QUOTE_AGE_MS = 72 * 3_600_000;

/**
 * Locks the exchange quote of a payment of `amount` minor units of `currency`: the rate from
 * `source` and the settlement amount at it, rounded half to even (`convertMinor`). `undefined` when
 * the payment is in the settlement currency already (nothing to convert, no request).
 *
 * Rejects with {@link RateUnavailableError} when the source has no rate, or its quote is dated more
 * than {@link QUOTE_CLOCK_SKEW_MS} after `now` or is older than `maxAgeMs` (default
 * {@link DEFAULT_MAX_QUOTE_AGE_MS}); throws `RangeError` when the settlement amount would not be a
 * safe integer.
 */
export async function lockQuote(
  source: RateSource,
  request: {
    amount: number;
    currency: Currency;
    settlementCurrency: Currency;
    now: Date;
    maxAgeMs?: number;
  },
): Promise<FxQuote | undefined> {
  const { amount, currency, settlementCurrency, now, maxAgeMs = DEFAULT_MAX_QUOTE_AGE_MS } = request;
  if (currency === settlementCurrency) return undefined;
  const { rate, quotedAt, source: sourceName } = await source.quote(currency, settlementCurrency);
  const age = now.getTime() - Date.parse(quotedAt);
  if (!(age >= -QUOTE_CLOCK_SKEW_MS)) {
    throw new RateUnavailableError(
      `the ${currency}/${settlementCurrency} rate from ${sourceName} is dated ${quotedAt}, in the future; check the clocks of this host and the rate source`,
    );
  }
  if (age > maxAgeMs) {
    throw new RateUnavailableError(
      `the ${currency}/${settlementCurrency} rate from ${sourceName} is dated ${quotedAt}, older than ${maxAgeMs / 3_600_000} hours; check that the rate source is updated`,
    );
  }
  return {
    rate,
    presentmentAmount: amount,
    presentmentCurrency: currency,
    settlementAmount: convertMinor(amount, currency, settlementCurrency, rate),
    settlementCurrency,
    quotedAt,
    source: sourceName,
  };
}

/** The source's origin and path, without credentials or query (which may carry an API key). */
function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(FX_RATES_URL)';
  }
}

/** The network failure's code or reason; never the error's own message, which may repeat the URL. */
function causeOf(err: unknown): string {
  const cause: unknown = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return 'the request could not be sent';
}
