import { generateKeyPairSync } from 'node:crypto';
import express, { type Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aes, Formatter, Rsa, Wechatpay } from 'wechatpay-axios-plugin';
import { testPaymentId, uniqueId } from '../../support/builders.js';
import { startChannelSandbox, type ChannelSandbox } from '../../support/channel-sandbox.js';

/**
 * WeChat Pay's sandbox against `wechatpay-axios-plugin`, a maintained WeChat Pay API v3 client, as
 * an independent peer: its requests (signed its own way) are accepted, the sandbox's answers pass
 * its response verifier, and the sandbox's notifications verify and decrypt with its `Rsa` and
 * `Aes` helpers.
 */
/** The plugin's chain of URL segments, as plain calls (its own typings name each endpoint's shape). */
type Call = (data?: unknown, config?: unknown) => Promise<{ status: number; data: Record<string, unknown> }>;
interface Chain {
  [segment: string]: Chain & { get: Call; post: Call };
}

let sandbox: ChannelSandbox;
let app: Express;
let baseUrl: string;
let keyring: ChannelSandbox['keyring'];
let simulators: ChannelSandbox['simulators'];
const notifications: { headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  sandbox = await startChannelSandbox('wxsdk');
  ({ app, baseUrl, keyring, simulators } = sandbox);
  app.post('/notify', express.text({ type: () => true }), (req, res) => {
    notifications.push({ headers: req.headers as Record<string, string>, body: String(req.body) });
    res.status(204).end();
  });
});

afterAll(async () => {
  await sandbox?.close();
});

describe('WeChat Pay’s sandbox against wechatpay-axios-plugin', () => {
  it('takes an order the plugin signs, answers what its verifier accepts, and notifies what its helpers verify and decrypt', async () => {
    const { wechatpay } = keyring;
    const platform = wechatpay.platformKeys[0]!;
    const client = new Wechatpay({
      mchid: wechatpay.mchId,
      serial: wechatpay.merchantSerialNo,
      privateKey: wechatpay.merchantPrivateKey,
      certs: { [platform.serial]: platform.publicKey },
      baseURL: `${baseUrl}/sandbox/wechatpay/`,
    }) as unknown as Chain;
    const paymentId = testPaymentId(uniqueId('wx'));

    const created = await client.v3!.pay!.transactions!.native!.post({
      appid: wechatpay.appId,
      mchid: wechatpay.mchId,
      description: 'TypeScript from zero',
      out_trade_no: paymentId,
      time_expire: new Date(Date.now() + 15 * 60_000).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
      notify_url: `${baseUrl}/notify`,
      amount: { total: 19_900, currency: 'CNY' },
    });
    expect(created.status).toBe(200);
    expect(created.data.code_url).toMatch(/^http/);

    // The verifier does check: trusting another platform key, the same answer is refused.
    const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const misled = new Wechatpay({
      mchid: wechatpay.mchId,
      serial: wechatpay.merchantSerialNo,
      privateKey: wechatpay.merchantPrivateKey,
      certs: { [platform.serial]: strangerKey },
      baseURL: `${baseUrl}/sandbox/wechatpay/`,
    }) as unknown as Chain;
    await expect(
      misled.v3!.pay!.transactions!.outTradeNo!.$out_trade_no$!.get({
        params: { mchid: wechatpay.mchId },
        out_trade_no: paymentId,
      }),
    ).rejects.toThrow();

    const queried = await client.v3!.pay!.transactions!.outTradeNo!.$out_trade_no$!.get({
      params: { mchid: wechatpay.mchId },
      out_trade_no: paymentId,
    });
    expect(queried.data).toMatchObject({ out_trade_no: paymentId, trade_state: 'NOTPAY' });

    await simulators.wechatpay.pay(paymentId, { outcome: 'success', notifications: 1, tamperAmount: false });
    expect(notifications).toHaveLength(1);
    const [{ headers, body }] = notifications as [{ headers: Record<string, string>; body: string }];
    const signed = Formatter.response(headers['wechatpay-timestamp']!, headers['wechatpay-nonce']!, body);
    expect(headers['wechatpay-serial']).toBe(platform.serial);
    expect(Rsa.verify(signed, headers['wechatpay-signature']!, platform.publicKey)).toBe(true);
    const { resource } = JSON.parse(body) as {
      resource: { ciphertext: string; nonce: string; associated_data: string };
    };
    const transaction = JSON.parse(
      Aes.AesGcm.decrypt(resource.ciphertext, wechatpay.apiV3Key, resource.nonce, resource.associated_data),
    ) as Record<string, unknown>;
    expect(transaction).toMatchObject({
      out_trade_no: paymentId,
      trade_state: 'SUCCESS',
      mchid: wechatpay.mchId,
      amount: expect.objectContaining({ total: 19_900, currency: 'CNY' }),
    });
  });
});
