import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAlipayTime } from '../../../src/channels/alipay/protocol.js';
import { FieldCipher } from '../../../src/crypto/field-cipher.js';
import { signAlipayNotification } from '../../../src/sandbox/channels/alipay/protocol.js';
import {
  buildWechatpayNotificationBody,
  encryptWechatpayResource,
  signWechatpayBody,
} from '../../../src/sandbox/channels/wechatpay/protocol.js';
import { formatMajor } from '../../../domain/money.js';
import { buildPaymentRequest, uniqueId } from '../../support/builders.js';
import { payAtChannel, pollUntil, waitForStatus } from '../../support/payments.js';
import { startStack, type TestStack } from '../../support/stack.js';

/**
 * `/v1/callbacks/*` is the one door nobody authenticates at: whatever comes through it must not
 * fill the disk, tell a forger what to fix, or replay a payment.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const WECHATPAY_FAILURE = '{"code":"FAIL","message":"失败"}';

async function createPayment(channel: 'alipay' | 'wechatpay', s: TestStack = stack) {
  const res = await s.request('POST', '/v1/payments', buildPaymentRequest({ channel }));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { paymentId: string; amount: number };
}

async function postCallback(
  s: TestStack,
  channel: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${s.baseUrl}/v1/callbacks/${channel}`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

/** An Alipay notification of `paymentId` signed with Alipay's (sandbox) key: a genuine one. */
function alipayNotification(paymentId: string, amount: number, overrides: Record<string, string> = {}): string {
  return signAlipayNotification(
    {
      notify_time: formatAlipayTime(new Date()),
      notify_type: 'trade_status_sync',
      notify_id: uniqueId('notify'),
      app_id: stack.keyring.alipay.appId,
      charset: 'utf-8',
      version: '1.0',
      trade_no: `2026120222001${String(Date.now()).slice(-15).padStart(15, '0')}`,
      out_trade_no: paymentId,
      trade_status: 'TRADE_SUCCESS',
      total_amount: formatMajor(amount, 'CNY'),
      seller_id: stack.keyring.alipay.sellerId,
      ...overrides,
    },
    stack.keyring.alipay.alipayPrivateKey!,
  );
}

/** A WeChat Pay TRANSACTION.SUCCESS notification of `paymentId`, encrypted and signed as WeChat Pay does. */
function wechatpayNotification(paymentId: string, total: number): { body: string; headers: Record<string, string> } {
  const { wechatpay } = stack.keyring;
  const transaction = {
    appid: wechatpay.appId,
    mchid: wechatpay.mchId,
    out_trade_no: paymentId,
    transaction_id: `42000${String(Date.now()).padStart(23, '0')}`,
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    success_time: new Date().toISOString(),
    amount: { total, payer_total: total, currency: 'CNY', payer_currency: 'CNY' },
  };
  const body = buildWechatpayNotificationBody(
    encryptWechatpayResource(JSON.stringify(transaction), wechatpay.apiV3Key),
  );
  const key = wechatpay.platformKeys[0]!;
  return {
    body,
    headers: {
      'content-type': 'application/json',
      ...signWechatpayBody(body, { serial: key.serial, privateKey: key.privateKey! }),
    },
  };
}

describe('what is kept of a callback that fails verification', () => {
  it('is its SHA-256, its length and a short encrypted prefix, never the whole body, and it expires', async () => {
    const marker = uniqueId('tail');
    const body = Buffer.from(JSON.stringify({ id: uniqueId('forged'), padding: 'x'.repeat(10_000), marker }), 'utf8');
    const answer = await postCallback(stack, 'wechatpay', body.toString('utf8'), {
      'content-type': 'application/json',
      'wechatpay-serial': 'PUB_KEY_ID_FORGED',
      'wechatpay-signature': Buffer.alloc(256, 1).toString('base64'),
      'wechatpay-timestamp': String(Math.floor(Date.now() / 1000)),
      'wechatpay-nonce': 'N'.repeat(32),
    });
    expect(answer.status).toBe(400);

    const sha256 = createHash('sha256').update(body).digest('hex');
    const raw = stack.database.connection.db!.collection('callbacks');
    const record = await raw.findOne({ bodySha256: sha256 });
    expect(record).toMatchObject({ verified: false, outcome: 'rejected', bodyBytes: body.length, rawBody: null });
    const stored = JSON.stringify(record);
    expect(stored).not.toContain(marker);
    expect(stored.length).toBeLessThan(4_000);
    const prefix = new FieldCipher(stack.keyring.atRest).decrypt(String(record?.bodyPrefix));
    expect(body.toString('utf8').startsWith(prefix)).toBe(true);
    expect(Buffer.byteLength(prefix)).toBeLessThanOrEqual(256);
    const retentionMs = stack.config.CALLBACK_REJECTED_RETENTION_DAYS * 86_400_000;
    expect((record?.expiresAt as Date).getTime() - (record?.receivedAt as Date).getTime()).toBe(retentionMs);
  });

  it('is swept by api-housekeeping after its retention, while verified callbacks stay', async () => {
    const payment = await createPayment('alipay');
    await payAtChannel(stack, payment.paymentId);
    await waitForStatus(stack, payment.paymentId, 'succeeded');
    const forged = (n: number) =>
      postCallback(stack, 'alipay', `out_trade_no=${payment.paymentId}&sign_type=RSA2&sign=AAAA&n=${n}`, {
        'content-type': 'application/x-www-form-urlencoded',
      });
    await forged(1);
    await forged(2);
    const { callbacks } = stack.database.models;
    const rejected = await callbacks.find({ outTradeNo: payment.paymentId, verified: false }).sort({ _id: 1 }).lean();
    expect(rejected).toHaveLength(2);
    // The first rejected one, and the verified one, were received long ago.
    const longAgo = new Date(Date.now() - (stack.config.CALLBACK_REJECTED_RETENTION_DAYS + 1) * 86_400_000);
    await callbacks.updateOne(
      { _id: rejected[0]!._id },
      { $set: { receivedAt: longAgo, expiresAt: new Date(longAgo.getTime() + 7 * 86_400_000) } },
    );
    await callbacks.updateOne({ outTradeNo: payment.paymentId, verified: true }, { $set: { receivedAt: longAgo } });

    const result = await stack.temporal.client.workflow.execute('apiHousekeepingWorkflow', {
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      workflowId: uniqueId('housekeeping'),
    });
    expect(result).toMatchObject({ rejectedCallbacks: expect.any(Number) });
    const left = await callbacks.find({ outTradeNo: payment.paymentId }).sort({ _id: 1 }).lean();
    expect(left.map((c) => String(c._id))).not.toContain(String(rejected[0]!._id));
    expect(left.map((c) => String(c._id))).toContain(String(rejected[1]!._id));
    expect(left.filter((c) => c.verified && c.outcome === 'applied')).toHaveLength(1);
  });
});

describe("WeChat Pay's failure answer", () => {
  it('is the same generic FAIL for an unknown serial, a bad signature and a wrong amount; the reason is only recorded', async () => {
    const payment = await createPayment('wechatpay');
    const genuine = wechatpayNotification(payment.paymentId, payment.amount);
    const unknownSerial = { ...genuine.headers, 'Wechatpay-Serial': 'PUB_KEY_ID_0000UNKNOWN' };
    const badSignature = { ...genuine.headers, 'Wechatpay-Signature': Buffer.alloc(256, 7).toString('base64') };
    const wrongAmount = wechatpayNotification(payment.paymentId, 1);

    const answers = [
      await postCallback(stack, 'wechatpay', genuine.body, unknownSerial),
      await postCallback(stack, 'wechatpay', genuine.body, badSignature),
      await postCallback(stack, 'wechatpay', wrongAmount.body, wrongAmount.headers),
    ];
    for (const answer of answers) {
      expect(answer).toEqual({ status: 400, text: WECHATPAY_FAILURE });
      expect(answer.text).not.toContain(String(payment.amount));
    }
    const reasons = await pollUntil(
      () => stack.database.models.callbacks.distinct('reason', { channel: 'wechatpay', outTradeNo: payment.paymentId }),
      (found) => found.some((r) => /amount 1 differs/.test(String(r))),
    );
    expect(reasons).toHaveLength(1);
    const forged = await stack.database.models.callbacks
      .find({
        channel: 'wechatpay',
        verified: false,
        bodySha256: createHash('sha256').update(genuine.body).digest('hex'),
      })
      .lean();
    expect(forged.map((c) => c.reason).sort()).toEqual(['bad_signature', 'unknown_serial']);
    expect((await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body.status).toBe('awaiting_payment');
  });

  it('refuses an over-long signature header before reading the body, and records nothing', async () => {
    const payment = await createPayment('wechatpay');
    const genuine = wechatpayNotification(payment.paymentId, payment.amount);
    const before = await stack.database.models.callbacks.countDocuments({});
    const answer = await postCallback(stack, 'wechatpay', genuine.body, {
      ...genuine.headers,
      'Wechatpay-Signature': 'A'.repeat(12_000),
    });
    expect(answer).toEqual({ status: 400, text: WECHATPAY_FAILURE });
    expect(await stack.database.models.callbacks.countDocuments({})).toBe(before);
  });
});

describe('Alipay notify_time', () => {
  it('refuses a genuine notification sent long ago: it is a replay, not a resend', async () => {
    const payment = await createPayment('alipay');
    const answer = await postCallback(
      stack,
      'alipay',
      alipayNotification(payment.paymentId, payment.amount, { notify_time: '2001-01-01 00:00:00' }),
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    expect(answer).toEqual({ status: 400, text: 'fail' });
    const record = await stack.database.models.callbacks.findOne({ outTradeNo: payment.paymentId }).lean();
    expect(record).toMatchObject({ verified: false, outcome: 'rejected', reason: 'stale_notify_time' });
    expect((await stack.request('GET', `/v1/payments/${payment.paymentId}`)).body.status).toBe('awaiting_payment');
  });

  it("takes Alipay's last resend, 25 hours after the first delivery", async () => {
    const payment = await createPayment('alipay');
    const sentAt = new Date(Date.now() - 25 * 3_600_000);
    const answer = await postCallback(
      stack,
      'alipay',
      alipayNotification(payment.paymentId, payment.amount, { notify_time: formatAlipayTime(sentAt) }),
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    expect(answer).toEqual({ status: 200, text: 'success' });
    const record = await stack.database.models.callbacks.findOne({ outTradeNo: payment.paymentId }).lean();
    expect(record).toMatchObject({ verified: true, outcome: 'applied' });
  });
});

describe('a genuine notification delivered again', () => {
  it('after the payment workflow closed, is acknowledged and recorded as a duplicate, not applied again', async () => {
    const payment = await createPayment('alipay');
    await payAtChannel(stack, payment.paymentId);
    await waitForStatus(stack, payment.paymentId, 'succeeded');
    await pollUntil(
      async () => (await stack.temporal.client.workflow.getHandle(payment.paymentId).describe()).status.name,
      (status) => status === 'COMPLETED',
    );
    const { callbacks } = stack.database.models;
    const first = await callbacks.findOne({ outTradeNo: payment.paymentId, outcome: 'applied' }).lean();
    expect(first).not.toBeNull();
    const body = new FieldCipher(stack.keyring.atRest).decrypt(String(first!.rawBody));

    const replay = await postCallback(stack, 'alipay', body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(replay).toEqual({ status: 200, text: 'success' });
    const outcomes = (await callbacks.find({ outTradeNo: payment.paymentId }).sort({ _id: 1 }).lean()).map(
      (c) => c.outcome,
    );
    expect(outcomes).toEqual(['applied', 'duplicate']);
  });

  it('five times at once, is recorded applied once and duplicate four times', async () => {
    const payment = await createPayment('wechatpay');
    await payAtChannel(stack, payment.paymentId, { notifications: 5 });
    await waitForStatus(stack, payment.paymentId, 'succeeded');
    const outcomes = await pollUntil(
      async () =>
        (await stack.database.models.callbacks.find({ outTradeNo: payment.paymentId }).lean()).map((c) => c.outcome),
      (found) => found.length === 5 && !found.includes('pending'),
    );
    expect(outcomes.sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
  });
});

describe('where callbacks come from and how many', () => {
  const LIMIT = 8;
  let guarded: TestStack;
  beforeAll(async () => {
    guarded = await startStack({
      env: {
        // Requests come through a proxy on loopback that names the client in X-Forwarded-For.
        API_TRUST_PROXY: 'loopback',
        CALLBACK_ALLOWED_CIDRS: '127.0.0.0/8,::1,198.51.100.0/24',
        CALLBACK_RATE_LIMIT_PER_MINUTE: String(LIMIT),
      },
    });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  /** Waits for a fresh one-minute window when the current one is about to end. */
  async function freshWindow(): Promise<void> {
    const left = 60 - (Math.floor(Date.now() / 1000) % 60);
    if (left < 15) await new Promise((r) => setTimeout(r, left * 1000 + 200));
  }

  it('refuses a callback from outside the allowed ranges with the channel failure, before storing anything', async () => {
    const before = await guarded.database.models.callbacks.countDocuments({});
    const outside = { 'x-forwarded-for': '203.0.113.9', 'content-type': 'application/x-www-form-urlencoded' };
    expect(await postCallback(guarded, 'alipay', 'out_trade_no=x&sign=AAAA', outside)).toEqual({
      status: 403,
      text: 'fail',
    });
    expect(await postCallback(guarded, 'wechatpay', '{}', { ...outside, 'content-type': 'application/json' })).toEqual({
      status: 403,
      text: WECHATPAY_FAILURE,
    });
    expect(await guarded.database.models.callbacks.countDocuments({})).toBe(before);
    // ...while one from inside the ranges is read and recorded (here: refused as unsigned).
    const inside = await postCallback(guarded, 'alipay', 'out_trade_no=x&sign=AAAA', {
      ...outside,
      'x-forwarded-for': '198.51.100.20',
    });
    expect(inside).toEqual({ status: 400, text: 'fail' });
    expect(await guarded.database.models.callbacks.countDocuments({})).toBe(before + 1);
  });

  it('answers a flood from one address with 429 in the channel format once its minute is spent, and stores no more', async () => {
    await freshWindow();
    const tag = uniqueId('flood');
    const flood = [];
    for (let i = 0; i < LIMIT + 12; i++) {
      flood.push(
        await postCallback(guarded, 'alipay', `out_trade_no=${tag}&sign_type=RSA2&sign=AAAA&i=${i}`, {
          'x-forwarded-for': '198.51.100.77',
          'content-type': 'application/x-www-form-urlencoded',
        }),
      );
    }
    expect(flood.slice(0, LIMIT).map((a) => a.status)).toEqual(Array(LIMIT).fill(400));
    expect(flood.slice(LIMIT)).toEqual(Array(12).fill({ status: 429, text: 'fail' }));
    expect(await guarded.database.models.callbacks.countDocuments({ outTradeNo: tag })).toBe(LIMIT);
    // Another address has a budget of its own.
    const other = await postCallback(guarded, 'alipay', `out_trade_no=${tag}&sign_type=RSA2&sign=AAAA`, {
      'x-forwarded-for': '198.51.100.78',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(other.status).toBe(400);
  });
});
