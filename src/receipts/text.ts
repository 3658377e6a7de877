/**
 * The receipt's words in English and Chinese, shared by the page, its script and the PDF. The
 * languages, and how a request picks one, are the dashboard's.
 */
import type { ItemKind, PaymentChannel } from '../../domain/payment.js';
import type { DashboardLanguage } from '../dashboard/page.js';

export type ReceiptLanguage = DashboardLanguage;

export const HTML_LANG: Record<ReceiptLanguage, string> = { en: 'en', zh: 'zh-CN' };

const en = {
  title: 'Receipt',
  switchTo: '中文',
  print: 'Print',
  pdf: 'Download PDF',
  orderId: 'Order',
  voucherId: 'Receipt no.',
  paidAt: 'Paid at',
  channel: 'Paid with',
  item: 'Item',
  quantity: 'Qty',
  unitPrice: 'Unit price',
  amount: 'Amount',
  lineDiscount: 'Discount',
  orderDiscounts: 'Order discounts',
  subtotal: 'Subtotal',
  discountTotal: 'All discounts',
  total: 'Total paid',
  fxHeading: 'Currency conversion',
  fxRate: 'Exchange rate',
  fxSettlement: 'Settled to the merchant',
  fxQuotedAt: 'Rate quoted at',
  fxSource: 'Rate source',
  voidHeading: 'Refunded: this receipt is void',
  voidBody: 'The payment was refunded in full, so this receipt no longer proves a purchase.',
  voidedAt: 'Voided at',
  verifyHeading: 'Verify this receipt',
  verifyLead:
    'This receipt is an Ed25519-signed voucher. Your browser checks the signature against the published voucher keys.',
  pdfVerifyLead:
    'This receipt is an Ed25519-signed voucher. Scan the code or open the address below: the page checks the signature against the published voucher keys.',
  verifyPending: 'Checking the signature…',
  verifyOk: 'Signature verified with key',
  verifyFailed: 'Not verified:',
  verifyUnsupported:
    'This browser cannot check Ed25519 signatures. The voucher and its keys are published for checking elsewhere.',
  verifyNoScript: 'Checking the signature needs JavaScript.',
  keyId: 'Key',
  digest: 'SHA-256',
  qrCaption: 'Scan to open and verify this receipt',
  kinds: {
    lesson: 'Lesson',
    course: 'Course',
    bundle: 'Bundle',
    membership: 'Membership',
    consultation: 'Consultation',
  },
  channels: {
    alipay: 'Alipay',
    wechatpay: 'WeChat Pay',
    unionpay: 'UnionPay',
    card: 'Card',
    paypal: 'PayPal',
  },
  failures: {
    fetch: 'the voucher or its keys could not be read.',
    unknownKey: 'no published key has this key id.',
    key: 'the published key could not be read.',
    digest: 'the SHA-256 digest does not match the voucher.',
    signature: 'the signature does not match the voucher.',
    mismatch: 'the voucher does not say what this page shows.',
  },
};

export type ReceiptText = typeof en;

const zh: ReceiptText = {
  title: '收据',
  switchTo: 'English',
  print: '打印',
  pdf: '下载 PDF',
  orderId: '订单号',
  voucherId: '收据编号',
  paidAt: '支付时间',
  channel: '支付方式',
  item: '项目',
  quantity: '数量',
  unitPrice: '单价',
  amount: '金额',
  lineDiscount: '优惠',
  orderDiscounts: '订单优惠',
  subtotal: '小计',
  discountTotal: '优惠合计',
  total: '实付金额',
  fxHeading: '货币换算',
  fxRate: '汇率',
  fxSettlement: '商户结算金额',
  fxQuotedAt: '报价时间',
  fxSource: '汇率来源',
  voidHeading: '已退款：本收据已作废',
  voidBody: '该笔付款已全额退款，本收据不再作为购买凭证。',
  voidedAt: '作废时间',
  verifyHeading: '验证本收据',
  verifyLead: '本收据是一份 Ed25519 签名的凭证。浏览器会用公开的凭证公钥核验签名。',
  pdfVerifyLead: '本收据是一份 Ed25519 签名的凭证。扫描二维码或打开下方地址，页面会用公开的凭证公钥核验签名。',
  verifyPending: '正在核验签名…',
  verifyOk: '签名已通过验证，公钥',
  verifyFailed: '验证未通过：',
  verifyUnsupported: '此浏览器无法核验 Ed25519 签名。凭证及其公钥均已公开，可在别处核验。',
  verifyNoScript: '核验签名需要启用 JavaScript。',
  keyId: '公钥',
  digest: 'SHA-256',
  qrCaption: '扫码打开并验证本收据',
  kinds: {
    lesson: '单节课',
    course: '课程',
    bundle: '课程包',
    membership: '会员',
    consultation: '咨询',
  },
  channels: {
    alipay: '支付宝',
    wechatpay: '微信支付',
    unionpay: '银联',
    card: '银行卡',
    paypal: 'PayPal',
  },
  failures: {
    fetch: '无法读取凭证或公钥。',
    unknownKey: '没有公开的公钥使用此编号。',
    key: '无法读取公开的公钥。',
    digest: 'SHA-256 摘要与凭证不符。',
    signature: '签名与凭证不符。',
    mismatch: '凭证内容与本页所示不符。',
  },
};

export const RECEIPT_TEXT: Record<ReceiptLanguage, ReceiptText> = { en, zh };

export function kindLabel(lang: ReceiptLanguage, kind: ItemKind): string {
  return RECEIPT_TEXT[lang].kinds[kind];
}

export function channelLabel(lang: ReceiptLanguage, channel: PaymentChannel): string {
  return RECEIPT_TEXT[lang].channels[channel];
}
