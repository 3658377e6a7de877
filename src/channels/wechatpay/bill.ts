import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parseMajor } from '../../../domain/money.js';
import type { BillLine } from '../../../domain/reconciliation.js';
import { ChannelRejectedError } from '../types.js';

/**
 * WeChat Pay's trade bill (`GET /v3/bill/tradebill`, `bill_type=ALL`): UTF-8 CSV, a header row,
 * one row per payment and per refund with a backtick before each field (so spreadsheets keep
 * numbers as text), then a summary header and a summary row. Amounts are yuan. A refund row has
 * `交易状态 REFUND` and its own 退款 columns; `hash_value` is the SHA-1 of the unzipped file.
 */
export const WECHATPAY_BILL_COLUMNS = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '申请退款金额',
  '费率备注',
] as const;

export const WECHATPAY_BILL_SUMMARY_COLUMNS = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
] as const;

/** `交易状态` of a payment that took effect, and of a refund row. */
export const WECHATPAY_BILL_SUCCESS = 'SUCCESS';
export const WECHATPAY_BILL_REFUND = 'REFUND';

/** SHA-1 (hex) of a bill file's bytes, as `hash_value` carries it. */
export function wechatpayBillHash(file: Uint8Array): string {
  return createHash('sha1').update(file).digest('hex');
}

function malformed(what: string): ChannelRejectedError {
  return new ChannelRejectedError(`WeChat Pay's bill is malformed: ${what}`, 'malformed_bill');
}

/** The fields of a bill row: comma-separated, each after its backtick. */
function fieldsOf(row: string): string[] {
  return row.split(',').map((f) => (f.startsWith('`') ? f.slice(1) : f).trim());
}

function fenOf(text: string | undefined, what: string): number {
  const fen = parseMajor(text ?? '', 'CNY');
  if (fen === undefined) throw malformed(`${what} ${JSON.stringify(text)} is not an amount`);
  return fen;
}

/**
 * Checks a downloaded bill against the `hash_value` the signed answer gave (the download itself
 * is not signed), gunzips it and reads its rows into bill lines, checking the summary row's
 * count and totals.
 */
export function parseWechatpayBill(gzipped: Uint8Array, hashType: string, hashValue: string): BillLine[] {
  let file: Buffer;
  try {
    file = gunzipSync(gzipped);
  } catch {
    throw malformed('not gzip');
  }
  if (hashType !== 'SHA1' || wechatpayBillHash(file) !== hashValue.toLowerCase()) {
    throw new ChannelRejectedError(
      "WeChat Pay's bill does not match the hash of the signed answer",
      'bill_hash_mismatch',
    );
  }
  const rows = file
    .toString('utf8')
    .split(/\r?\n/)
    .filter((r) => r.trim() !== '');
  const [header, ...rest] = rows;
  const summaryAt = rest.findIndex((r) => r.startsWith(WECHATPAY_BILL_SUMMARY_COLUMNS[0]));
  if (header?.split(',')[0] !== WECHATPAY_BILL_COLUMNS[0] || summaryAt < 0) {
    throw malformed('its header or summary is missing');
  }
  const names = header.split(',');
  const lines: BillLine[] = [];
  let settled = 0;
  let refunded = 0;
  for (const row of rest.slice(0, summaryAt)) {
    const cells = fieldsOf(row);
    if (cells.length !== names.length) throw malformed(`a row has ${cells.length} fields, not ${names.length}`);
    const field = (name: (typeof WECHATPAY_BILL_COLUMNS)[number]) => cells[names.indexOf(name)] ?? '';
    const at = new Date(`${field('交易时间').replace(' ', 'T')}+08:00`);
    if (Number.isNaN(at.getTime())) throw malformed(`交易时间 ${JSON.stringify(field('交易时间'))} is not a time`);
    const status = field('交易状态');
    const common = {
      paymentId: field('商户订单号'),
      channelTradeNo: field('微信订单号') || null,
      currency: field('货币种类'),
      at: at.toISOString(),
    };
    if (status === WECHATPAY_BILL_REFUND) {
      const amount = fenOf(field('退款金额'), '退款金额');
      refunded += amount;
      const refundStatus = field('退款状态');
      lines.push({
        ...common,
        kind: 'refund',
        refundNo: field('商户退款单号') || null,
        amount,
        status: refundStatus,
        succeeded: refundStatus === WECHATPAY_BILL_SUCCESS,
      });
    } else {
      const amount = fenOf(field('应结订单金额'), '应结订单金额');
      settled += amount;
      lines.push({
        ...common,
        kind: 'payment',
        refundNo: null,
        amount,
        status,
        succeeded: status === WECHATPAY_BILL_SUCCESS,
      });
    }
  }
  const summary = fieldsOf(rest[summaryAt + 1] ?? '');
  if (
    Number(summary[0]) !== lines.length ||
    fenOf(summary[1], '应结订单总金额') !== settled ||
    fenOf(summary[2], '退款总金额') !== refunded
  ) {
    throw malformed('its rows do not add up to its summary');
  }
  return lines;
}
