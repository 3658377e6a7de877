import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RATE_PATTERN } from '../../domain/fx.js';
import { CURRENCIES } from '../../domain/money.js';
import { errorHandler, notFound } from '../../src/api/errors.js';
import {
  createHttpRateSource,
  lockQuote,
  RateUnavailableError,
  rateSourceFrom,
  type RateQuote,
  type RateSource,
} from '../../src/fx/rates.js';
import { createLogger } from '../../src/logger.js';
import { crossRate, SANDBOX_CNY_RATES, sandboxFxRoutes } from '../../src/sandbox/fx.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real loopback HTTP server whose answer each test chooses; it records the URLs it was asked. */
async function startRateServer() {
  let handler: Handler = (_req, res) => res.writeHead(500).end();
  const asked: string[] = [];
  const server: Server = createServer((req, res) => {
    asked.push(req.url ?? '');
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    asked,
    answer(next: Handler) {
      handler = next;
    },
    answerJson(status: number, body: unknown) {
      handler = (_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

const quotedAt = '2025-03-14T09:30:00.000Z';
const buildRateAnswer = (overrides: Partial<Record<keyof RateQuote, unknown>> = {}) => ({
  rate: '7.1834',
  quotedAt,
  source: 'example-fx',
  ...overrides,
});

/** A source that answers one fixed quote (example-fx's 7.1834 unless overridden) and counts the calls. */
function fixedSource(overrides: Partial<RateQuote> = {}): RateSource & { calls: number } {
  const answer: RateQuote = { rate: '7.1834', quotedAt, source: 'example-fx', ...overrides };
  return {
    calls: 0,
    quote() {
      this.calls += 1;
      return Promise.resolve(answer);
    },
  };
}

describe('the HTTP rate source', () => {
  let rates: Awaited<ReturnType<typeof startRateServer>>;
  beforeAll(async () => {
    rates = await startRateServer();
  });
  afterEach(() => {
    rates.asked.length = 0;
  });
  afterAll(() => rates.close());

  it('asks GET ?base=&quote=, keeping the URL’s own parameters, and answers the quote', async () => {
    rates.answerJson(200, buildRateAnswer());
    const source = createHttpRateSource({ url: `${rates.url}/v2/rates?key=s3cret`, timeoutMs: 2_000 });
    await expect(source.quote('USD', 'CNY')).resolves.toEqual(buildRateAnswer());
    const asked = new URL(rates.asked[0] ?? '', rates.url);
    expect(asked.pathname).toBe('/v2/rates');
    expect(Object.fromEntries(asked.searchParams)).toEqual({ key: 's3cret', base: 'USD', quote: 'CNY' });
  });

  it('sends credentials written in the URL as Basic authorization, not in the request line', async () => {
    let authorization: string | undefined;
    rates.answer((req, res) => {
      authorization = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(buildRateAnswer()));
    });
    const source = createHttpRateSource({ url: `http://fx%40user:pa55@${rates.url.slice(7)}/rates`, timeoutMs: 2_000 });
    await expect(source.quote('USD', 'CNY')).resolves.toEqual(buildRateAnswer());
    expect(authorization).toBe(`Basic ${Buffer.from('fx@user:pa55').toString('base64')}`);
    expect(rates.asked).toEqual(['/rates?base=USD&quote=CNY']);
  });

  it('answers rate "1" for a pair of one currency without asking', async () => {
    const source = createHttpRateSource({ url: rates.url, timeoutMs: 2_000 });
    await expect(source.quote('JPY', 'JPY')).resolves.toMatchObject({ rate: '1' });
    expect(rates.asked).toEqual([]);
  });

  it.each([
    ['a rate with a comma', buildRateAnswer({ rate: '7,18' }), /rate must be a decimal string/],
    ['a rate of zero', buildRateAnswer({ rate: '0.0000' }), /rate must be greater than zero/],
    ['a negative rate', buildRateAnswer({ rate: '-7.18' }), /rate must be a decimal string/],
    ['a rate as a number', buildRateAnswer({ rate: 7.18 }), /rate/],
    ['a rate with eleven decimals', buildRateAnswer({ rate: '7.18000000001' }), /rate must be a decimal string/],
    ['no quotedAt', buildRateAnswer({ quotedAt: undefined }), /quotedAt/],
    ['a quotedAt that is no instant', buildRateAnswer({ quotedAt: 'yesterday' }), /quotedAt must be an ISO-8601/],
    ['no source', buildRateAnswer({ source: '' }), /source must be/],
    ['an array', [buildRateAnswer()], /malformed quote/],
  ])('refuses %s with RateUnavailableError naming the field', async (_what, body, message) => {
    rates.answerJson(200, body);
    const source = createHttpRateSource({ url: `${rates.url}/rates?key=s3cret`, timeoutMs: 2_000 });
    const refusal = await source.quote('EUR', 'CNY').catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(RateUnavailableError);
    expect((refusal as Error).message).toMatch(message);
    expect((refusal as Error).message).toMatch(/EUR\/CNY.*FX_RATES_URL/);
    expect((refusal as Error).message).not.toContain('s3cret');
  });

  it.each([
    ['an HTML page', 200, '<html>rates</html>', /did not answer JSON/],
    ['HTTP 503', 503, '{}', /answered HTTP 503/],
    ['HTTP 404', 404, 'not found', /answered HTTP 404/],
    [
      'a body too large to be a quote',
      200,
      JSON.stringify({ ...buildRateAnswer(), pad: 'x'.repeat(20_000) }),
      /more than/,
    ],
  ])('refuses %s', async (_what, status, text, message) => {
    rates.answer((_req, res) => res.writeHead(status).end(text));
    const source = createHttpRateSource({ url: `${rates.url}/rates?key=s3cret`, timeoutMs: 2_000 });
    const refusal = await source.quote('GBP', 'CNY').catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(RateUnavailableError);
    expect((refusal as Error).message).toMatch(message);
    expect((refusal as Error).message).not.toContain('s3cret');
  });

  it('gives up after timeoutMs when the source does not answer', async () => {
    rates.answer(() => undefined);
    const source = createHttpRateSource({ url: `${rates.url}/rates`, timeoutMs: 150 });
    const started = Date.now();
    await expect(source.quote('USD', 'CNY')).rejects.toThrow(
      expect.objectContaining({
        name: 'RateUnavailableError',
        message: expect.stringMatching(/did not answer USD\/CNY within 150 ms/),
      }),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('says the source is unreachable when nothing listens there', async () => {
    const gone = await startRateServer();
    await gone.close();
    const source = createHttpRateSource({ url: `http://user:pa55@${gone.url.slice(7)}/rates`, timeoutMs: 2_000 });
    const refusal = await source.quote('USD', 'CNY').catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(RateUnavailableError);
    expect((refusal as Error).message).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect((refusal as Error).message).not.toContain('pa55');
  });
});

describe('the configured rate source', () => {
  let rates: Awaited<ReturnType<typeof startRateServer>>;
  beforeAll(async () => {
    rates = await startRateServer();
    rates.answerJson(200, buildRateAnswer());
  });
  afterAll(() => rates.close());
  const config = { FX_RATES_URL: undefined, SANDBOX_ENABLED: false, SANDBOX_URL: '', DEPENDENCY_TIMEOUT_MS: 2_000 };

  it('is FX_RATES_URL when set, even with the sandbox on', async () => {
    rates.asked.length = 0;
    const source = rateSourceFrom({ ...config, FX_RATES_URL: `${rates.url}/live`, SANDBOX_ENABLED: true });
    await source.quote('USD', 'CNY');
    expect(rates.asked).toEqual(['/live?base=USD&quote=CNY']);
  });

  it('is the sandbox’s rates when FX_RATES_URL is unset and the sandbox is on', async () => {
    rates.asked.length = 0;
    await rateSourceFrom({ ...config, SANDBOX_ENABLED: true, SANDBOX_URL: rates.url }).quote('KWD', 'JPY');
    expect(rates.asked).toEqual(['/sandbox/v1/fx/rates?base=KWD&quote=JPY']);
  });

  it('refuses every quote, asking for FX_RATES_URL, when there is neither', async () => {
    await expect(rateSourceFrom(config).quote('USD', 'CNY')).rejects.toThrow(
      expect.objectContaining({ name: 'RateUnavailableError', message: expect.stringMatching(/set FX_RATES_URL/) }),
    );
  });
});

describe('locking a payment’s quote', () => {
  const now = new Date(quotedAt);

  it('needs no quote, and asks for none, when the payment is in the settlement currency', async () => {
    const source = fixedSource();
    await expect(
      lockQuote(source, { amount: 9_900, currency: 'CNY', settlementCurrency: 'CNY', now }),
    ).resolves.toBeUndefined();
    expect(source.calls).toBe(0);
  });

  it('converts the amount at the quoted rate, half to even, and records where the rate came from', async () => {
    const source = fixedSource({ rate: '7.1834' });
    await expect(
      lockQuote(source, { amount: 1_999, currency: 'USD', settlementCurrency: 'CNY', now }),
    ).resolves.toEqual({
      rate: '7.1834',
      presentmentAmount: 1_999,
      presentmentCurrency: 'USD',
      // 19.99 × 7.1834 = 143.596166 yuan
      settlementAmount: 14_360,
      settlementCurrency: 'CNY',
      quotedAt,
      source: 'example-fx',
    });
  });

  it('converts between exponents: 1,000 yen at 0.048 yuan is 48.00 yuan', async () => {
    const source = fixedSource({ rate: '0.048' });
    const quote = await lockQuote(source, { amount: 1_000, currency: 'JPY', settlementCurrency: 'CNY', now });
    expect(quote?.settlementAmount).toBe(4_800);
  });

  it.each([
    ['dated in the future', new Date(now.getTime() + 10 * 60_000).toISOString(), /in the future/],
    ['older than three days', new Date(now.getTime() - 73 * 3_600_000).toISOString(), /older than 72 hours/],
  ])('refuses a quote %s', async (_what, at, message) => {
    const source = fixedSource({ quotedAt: at });
    await expect(lockQuote(source, { amount: 100, currency: 'USD', settlementCurrency: 'CNY', now })).rejects.toThrow(
      expect.objectContaining({ name: 'RateUnavailableError', message: expect.stringMatching(message) }),
    );
  });
});

describe('the sandbox’s rates', () => {
  it('derives every cross rate from the yuan table: a rate the pattern takes, greater than zero', () => {
    for (const base of CURRENCIES) {
      for (const quote of CURRENCIES) {
        const rate = crossRate(base, quote);
        expect(rate, `${base}/${quote}`).toMatch(RATE_PATTERN);
        expect(Number(rate), `${base}/${quote}`).toBeGreaterThan(0);
        // The opposite rate is its inverse, to the 8 decimals each is rounded to.
        const inverse = Number(crossRate(quote, base));
        expect(Math.abs(Number(rate) * inverse - 1), `${base}/${quote}`).toBeLessThan(
          1e-8 * Math.max(Number(rate), inverse) * 2,
        );
      }
    }
  });

  it.each([
    ['USD', 'CNY', '7.18'],
    ['CNY', 'CNY', '1'],
    ['JPY', 'CNY', '0.048'],
    ['USD', 'JPY', '149.58333333'],
    ['CNY', 'USD', '0.13927577'],
    ['KRW', 'KWD', '0.00022222'],
    ['KWD', 'KRW', '4500'],
    ['EUR', 'USD', '1.08635097'],
  ] as const)('quotes %s/%s at %s, rounded half to even to 8 decimals', (base, quote, rate) => {
    expect(crossRate(base, quote)).toBe(rate);
  });

  it('rounds an exact half of the 8th decimal to even', () => {
    const table = { ...SANDBOX_CNY_RATES, USD: '0.000000025', EUR: '0.000000035', GBP: '1' };
    expect(crossRate('USD', 'GBP', table)).toBe('0.00000002');
    expect(crossRate('EUR', 'GBP', table)).toBe('0.00000004');
  });

  describe('over HTTP', () => {
    const controlToken = `sct_test_${'x'.repeat(40)}`;
    let server: Server;
    let baseUrl: string;
    beforeAll(async () => {
      const app = express();
      app.use('/sandbox/v1', sandboxFxRoutes({ controlToken, bodyLimitBytes: 1_024, now: () => new Date(quotedAt) }));
      app.use(notFound);
      app.use(errorHandler(createLogger({ LOG_LEVEL: 'silent' }, 'test')));
      server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      baseUrl = `http://127.0.0.1:${address.port}`;
    });
    afterAll(() => {
      server.closeAllConnections();
      server.close();
    });
    const control = (method: string, path: string, body?: unknown, token = controlToken) =>
      fetch(`${baseUrl}/sandbox/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    it('answers the rate source with the table’s cross rate, as source "sandbox", without a token', async () => {
      const source = createHttpRateSource({ url: `${baseUrl}/sandbox/v1/fx/rates`, timeoutMs: 2_000 });
      await expect(source.quote('USD', 'JPY')).resolves.toEqual({
        rate: '149.58333333',
        quotedAt,
        source: 'sandbox',
      });
    });

    it('answers a rate set for a test until it is deleted, and leaves the opposite pair alone', async () => {
      const source = createHttpRateSource({ url: `${baseUrl}/sandbox/v1/fx/rates`, timeoutMs: 2_000 });
      const set = await control('PUT', '/fx/rates/EUR/CNY', { rate: '8.5' });
      expect(set.status).toBe(200);
      expect(await set.json()).toEqual({ base: 'EUR', quote: 'CNY', rate: '8.5' });
      await expect(source.quote('EUR', 'CNY')).resolves.toMatchObject({ rate: '8.5' });
      await expect(source.quote('CNY', 'EUR')).resolves.toMatchObject({ rate: crossRate('CNY', 'EUR') });
      const restored = await control('DELETE', '/fx/rates/EUR/CNY');
      expect(await restored.json()).toEqual({ base: 'EUR', quote: 'CNY', rate: '7.8' });
      await expect(source.quote('EUR', 'CNY')).resolves.toMatchObject({ rate: '7.8' });
    });

    it('takes a rate only with the control token', async () => {
      const refused = await control('PUT', '/fx/rates/EUR/CNY', { rate: '8.5' }, 'wrong-token');
      expect(refused.status).toBe(401);
      expect((await control('DELETE', '/fx/rates/EUR/CNY', undefined, 'wrong-token')).status).toBe(401);
    });

    it.each([
      ['GET', '/fx/rates?base=XAU&quote=CNY', undefined, 'base'],
      ['GET', '/fx/rates?base=USD', undefined, 'quote'],
      ['GET', '/fx/rates?base=USD&quote=usd', undefined, 'quote'],
      ['PUT', '/fx/rates/USD/XXX', { rate: '1' }, 'quote'],
      ['DELETE', '/fx/rates/ABC/CNY', undefined, 'base'],
    ])('answers 400 JSON to %s %s, naming the unknown currency', async (method, path, body, param) => {
      const answer = await control(method, path, body);
      expect(answer.status).toBe(400);
      expect(await answer.json()).toMatchObject({
        error: { code: 'bad_request', param, message: expect.stringContaining('must be one of CNY') },
      });
    });

    it.each([{ rate: '0' }, { rate: '-1' }, { rate: 7 }, {}, { rate: '1', extra: true }])(
      'refuses to set %j',
      async (body) => {
        const answer = await control('PUT', '/fx/rates/USD/CNY', body);
        expect(answer.status).toBe(422);
      },
    );
  });
});
