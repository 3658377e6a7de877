import type { Connection } from 'mongoose';
import type { SandboxKeyring } from '../../crypto/keyring.js';
import type { Logger } from '../../logger.js';
import type { PaymentChannel } from '../../../domain/payment.js';
import { ALIPAY_RESEND_SCHEDULE_MS, alipayProtocol } from './alipay/protocol.js';
import { cashierFormTokens } from './cashier-form.js';
import { notificationKey, sandboxChannelModels, type SandboxChannelModels } from './models.js';
import { createNotifier, type OutgoingNotification } from './notifier.js';
import { isDuplicateKeyError } from '../../db/errors.js';
import { createOrderBook, createOutages, createRefundBehaviours } from './order-book.js';
import { createBillBook } from './bills.js';
import { createChannelSimulator, type ChannelProtocol } from './simulator.js';
import type { ChannelSimulator } from './types.js';
import { CARD_RESEND_SCHEDULE_MS, cardProtocol } from './card/protocol.js';
import { PAYPAL_RESEND_SCHEDULE_MS, paypalProtocol } from './paypal/protocol.js';
import { UNIONPAY_RESEND_SCHEDULE_MS, unionpayProtocol } from './unionpay/protocol.js';
import { WECHATPAY_RESEND_SCHEDULE_MS, wechatpayProtocol } from './wechatpay/protocol.js';

export { CashierRefusedError } from './simulator.js';

/** Books a notification the merchant acknowledged, once per event (the first acknowledgement stays). */
async function recordAcknowledged(
  ready: Promise<SandboxChannelModels>,
  channel: PaymentChannel,
  notification: OutgoingNotification,
  at: Date,
): Promise<void> {
  const { event } = notification;
  if (!event) return;
  const models = await ready;
  const outRequestNo = event.kind === 'refund' ? event.outRequestNo : null;
  try {
    await models.notifications.create({
      _id: notificationKey(channel, notification.outTradeNo, event.kind, outRequestNo),
      channel,
      outTradeNo: notification.outTradeNo,
      kind: event.kind,
      outRequestNo,
      acknowledgedAt: at,
    });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
}

export interface ChannelSimulatorDeps {
  /** The process's mongoose connection; the sandbox keeps its books in `sandbox_channel_*` collections. */
  connection: Connection;
  /** Must hold the providers' private keys (`alipay.alipayPrivateKey`, `wechatpay.platformKeys[0].privateKey`). */
  keyring: Pick<SandboxKeyring, 'alipay' | 'wechatpay' | 'unionpay' | 'card' | 'paypal'>;
  /** Base URL at which payers reach the API; Alipay's `qr_code` and WeChat Pay's `code_url` point under it. */
  publicBaseUrl: string;
  /**
   * Where the merchant reaches the simulated PayPal (`PAYPAL_API_URL`): its links and webhook
   * certificate URLs point there. Default: `<publicBaseUrl>/sandbox/paypal`.
   */
  paypalApiUrl?: string;
  /** Multiplies the providers' delays: notification resends, refund processing (0.01: four minutes become 2.4 s). */
  timeScale: number;
  /**
   * The secret the cashier pages' form tokens are signed under; the same in every API process, so
   * a page served by one sandbox process is paid at another.
   */
  formSecret: string;
  logger: Logger;
}

/**
 * One simulator per channel, each with a router to mount at `/sandbox/<channel>`. Starts creating
 * the sandbox collections' unique indexes at once; every simulator operation waits for them, since
 * idempotency of orders and refunds rests on them. Call `close()` on each at shutdown to stop
 * pending notification resends.
 */
export function createChannelSimulators(deps: ChannelSimulatorDeps): Record<PaymentChannel, ChannelSimulator> {
  const { connection, keyring, publicBaseUrl, timeScale, logger } = deps;
  const formTokens = cashierFormTokens(deps.formSecret);
  const { alipayPrivateKey } = keyring.alipay;
  const platformKey = keyring.wechatpay.platformKeys[0];
  if (alipayPrivateKey === undefined) {
    throw new Error(
      'the Alipay sandbox needs keyring.alipay.alipayPrivateKey (a generated development keyring has it)',
    );
  }
  if (platformKey?.privateKey === undefined) {
    throw new Error(
      'the WeChat Pay sandbox needs keyring.wechatpay.platformKeys[0].privateKey (a generated development keyring has it)',
    );
  }
  const unionpay = keyring.unionpay;
  if (unionpay?.signingPrivateKey === undefined || unionpay.signingCertificate === undefined) {
    throw new Error(
      'the UnionPay sandbox needs keyring.unionpay.signingPrivateKey and signingCertificate (a generated development keyring has them)',
    );
  }
  const card = keyring.card;
  if (card === undefined) {
    throw new Error('the card sandbox needs keyring.card (a generated development keyring has it)');
  }
  const paypal = keyring.paypal;
  if (paypal?.signingPrivateKey === undefined || paypal.signingCertificates === undefined) {
    throw new Error(
      'the PayPal sandbox needs keyring.paypal.signingPrivateKey and signingCertificates (a generated development keyring has them)',
    );
  }
  const models = sandboxChannelModels(connection);
  models.catch((err: unknown) => {
    logger.error(
      { err: err instanceof Error ? err.message : String(err) },
      'sandbox channel indexes could not be created',
    );
  });

  const simulate = (protocol: ChannelProtocol, resendScheduleMs: readonly number[]): ChannelSimulator => {
    const book = createOrderBook(models, protocol.channel);
    return createChannelSimulator({
      protocol,
      book,
      bills: createBillBook(models, {
        channel: protocol.channel,
        book,
        newChannelTradeNo: (at) => protocol.newChannelTradeNo(at),
        newBuyerId: () => protocol.newBuyerId(),
        orderNoOf: (paymentId) => protocol.orderNoOf?.(paymentId) ?? paymentId,
        merchant: protocol.merchant,
        currency: protocol.merchant.currency,
        cannotShow: protocol.billCannotShow ?? [],
      }),
      outages: createOutages(models, protocol.channel),
      refundBehaviours: createRefundBehaviours(models, protocol.channel),
      notifier: createNotifier({
        channel: protocol.channel,
        resendScheduleMs,
        timeScale,
        logger,
        onAcknowledged: (notification, at) => recordAcknowledged(models, protocol.channel, notification, at),
      }),
      formTokens,
      timeScale,
      logger,
    });
  };

  return {
    alipay: simulate(alipayProtocol({ ...keyring.alipay, alipayPrivateKey }, publicBaseUrl), ALIPAY_RESEND_SCHEDULE_MS),
    wechatpay: simulate(
      wechatpayProtocol(
        { ...keyring.wechatpay, platformKey: { serial: platformKey.serial, privateKey: platformKey.privateKey } },
        publicBaseUrl,
      ),
      WECHATPAY_RESEND_SCHEDULE_MS,
    ),
    unionpay: simulate(
      unionpayProtocol(
        {
          merId: unionpay.merId,
          merchantCertificate: unionpay.merchantCertificate,
          signingCertificate: unionpay.signingCertificate,
          signingPrivateKey: unionpay.signingPrivateKey,
        },
        publicBaseUrl,
      ),
      UNIONPAY_RESEND_SCHEDULE_MS,
    ),
    card: simulate(cardProtocol(card, publicBaseUrl), CARD_RESEND_SCHEDULE_MS),
    paypal: simulate(
      paypalProtocol(
        {
          clientId: paypal.clientId,
          clientSecret: paypal.clientSecret,
          webhookId: paypal.webhookId,
          signingPrivateKey: paypal.signingPrivateKey,
          signingCertificates: paypal.signingCertificates,
        },
        publicBaseUrl,
        deps.paypalApiUrl ?? `${publicBaseUrl.replace(/\/+$/, '')}/sandbox/paypal`,
      ),
      PAYPAL_RESEND_SCHEDULE_MS,
    ),
  };
}
