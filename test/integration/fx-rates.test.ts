import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockQuote, rateSourceFrom } from '../../src/fx/rates.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ inProcessWorker: false });
});
afterAll(async () => {
  await stack?.stop();
});

describe('exchange rates from the sandbox process', () => {
  it('are the rate source of a configuration without FX_RATES_URL, quoted as source "sandbox"', async () => {
    expect(stack.config.FX_RATES_URL).toBeUndefined();
    const quote = await rateSourceFrom(stack.config).quote('USD', 'CNY');
    expect(quote).toEqual({ rate: '7.18', quotedAt: expect.any(String), source: 'sandbox' });
    expect(Math.abs(Date.now() - Date.parse(quote.quotedAt))).toBeLessThan(60_000);
  });

  it('are public through the API, without the control token', async () => {
    const answer = await fetch(`${stack.baseUrl}/sandbox/v1/fx/rates?base=KWD&quote=JPY`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ rate: '487.5', source: 'sandbox' });
  });

  it('lock a payment’s quote at a rate a test sets, and at the table’s again once it is deleted', async () => {
    const source = rateSourceFrom(stack.config);
    const lock = () =>
      lockQuote(source, { amount: 10_000, currency: 'EUR', settlementCurrency: 'CNY', now: new Date() });
    const set = await stack.request('PUT', '/sandbox/v1/fx/rates/EUR/CNY', { rate: '7.12345' });
    expect(set.status).toBe(200);
    // 100.00 euros at 7.12345 is 712.345 yuan: an exact half of a fen, rounded to the even 712.34.
    await expect(lock()).resolves.toMatchObject({ rate: '7.12345', settlementAmount: 71_234, source: 'sandbox' });
    const restored = await stack.request('DELETE', '/sandbox/v1/fx/rates/EUR/CNY');
    expect(restored.body).toEqual({ base: 'EUR', quote: 'CNY', rate: '7.8' });
    await expect(lock()).resolves.toMatchObject({ rate: '7.8', settlementAmount: 78_000 });
  });

  it('take no rate without the control token, and answer 400 for a currency they do not know', async () => {
    const refused = await stack.request(
      'PUT',
      '/sandbox/v1/fx/rates/EUR/CNY',
      { rate: '1' },
      { authorization: 'Bearer not-the-token' },
    );
    expect(refused.status).toBe(401);
    const unknown = await fetch(`${stack.baseUrl}/sandbox/v1/fx/rates?base=XBT&quote=CNY`);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { code: 'bad_request', param: 'base' } });
  });
});
