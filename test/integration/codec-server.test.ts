import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPaymentRequest } from '../support/builders.js';
import { startStack, type TestStack } from '../support/stack.js';

let stack: TestStack;
let encrypted: { metadata: Record<string, string>; data: string };
const customerId = 'learner-for-codec-7';

beforeAll(async () => {
  stack = await startStack({ env: { CODEC_ALLOW_LOOPBACK: 'false' } });
  const created = await stack.request('POST', '/v1/payments', buildPaymentRequest({ customerId }));
  const history = await stack.temporal.client.workflow.getHandle(created.body.paymentId).fetchHistory();
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!input) throw new Error('no workflow input in the history');
  encrypted = {
    metadata: Object.fromEntries(
      Object.entries(input.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(input.data ?? []).toString('base64'),
  };
});
afterAll(async () => {
  await stack?.stop();
});

const decode = (headers: Record<string, string>) =>
  fetch(`${stack.baseUrl}/codec/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ payloads: [encrypted] }),
  });

describe('the codec server for the Temporal Web UI', () => {
  it('decrypts history payloads for a caller with the token', async () => {
    const res = await decode({ authorization: `Bearer ${stack.keyring.codecServerToken}` });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const [payload] = body.payloads;
    expect(Buffer.from(payload?.metadata.encoding ?? '', 'base64').toString()).toBe('json/plain');
    expect(Buffer.from(payload?.data ?? '', 'base64').toString()).toContain(customerId);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer cst_not-the-token-not-the-token-not-the' }],
  ])('refuses a caller with %s, with the JSON error shape', async (_what, headers) => {
    const res = await decode(headers);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'authentication_error', code: 'codec_unauthorized' });
  });

  it('admits the Web UI by CORS and no other origin', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.baseUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const ui = await preflight('http://127.0.0.1:8233');
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
