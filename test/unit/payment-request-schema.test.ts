import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import { createPaymentRequestSchema } from '../../src/api/schemas.js';
import { parseOrThrow } from '../../src/api/validation.js';
import { buildItem, buildPaymentRequest } from '../support/builders.js';

const schema = createPaymentRequestSchema({ maxAmount: 1_000_000 });

function rejection(body: unknown): ApiError {
  try {
    parseOrThrow(schema, body);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the body to be rejected');
}

describe('payment request schema', () => {
  it('accepts a valid request and fills in the default window', () => {
    const parsed = parseOrThrow(schema, buildPaymentRequest());
    expect(parsed.expiresInSeconds).toBe(900);
  });

  it.each([
    ['amount', buildPaymentRequest({ amount: 1 })],
    ['amount', buildPaymentRequest({ amount: 19_900.5 })],
    ['amount', buildPaymentRequest({ items: [buildItem({ unitAmount: 2_000_000 })] })],
    ['orderId', buildPaymentRequest({ orderId: 'has space' })],
    ['orderId', buildPaymentRequest({ orderId: 'x'.repeat(65) })],
    ['orderId', buildPaymentRequest({ orderId: 'ord\u0000' })],
    ['currency', buildPaymentRequest({ currency: 'XXX' })],
    ['items', buildPaymentRequest({ items: [], amount: 19_900 })],
    ['items.0.quantity', buildPaymentRequest({ items: [buildItem({ quantity: 0 })], amount: 19_900 })],
    ['items.0.title', buildPaymentRequest({ items: [buildItem({ title: 'bad\u0007title' })] })],
    ['channel', buildPaymentRequest({ channel: 'applepay' })],
    ['expiresInSeconds', buildPaymentRequest({ expiresInSeconds: 59 })],
    ['expiresInSeconds', buildPaymentRequest({ expiresInSeconds: 86_401 })],
    ['description', buildPaymentRequest({ description: 'line\nbreak' })],
    ['extra', buildPaymentRequest({ extra: true })],
    ['items.0.discount', buildPaymentRequest({ items: [{ ...buildItem(), discount: 1 }] })],
  ])('rejects a bad %s with 422 naming it', (param, body) => {
    const err = rejection(body);
    expect(err.status).toBe(422);
    expect(err.type).toBe('validation_error');
    expect(err.param).toBe(param);
  });

  it('reports a missing field as missing_parameter', () => {
    const { customerId: _omit, ...body } = buildPaymentRequest();
    const err = rejection(body);
    expect(err.code).toBe('missing_parameter');
    expect(err.param).toBe('customerId');
  });

  it('reports an unknown field as unknown_parameter', () => {
    expect(rejection(buildPaymentRequest({ couponCode: 'X' })).code).toBe('unknown_parameter');
  });
});
