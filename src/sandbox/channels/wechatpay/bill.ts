import { formatMajor } from '../../../../domain/money.js';
import {
  WECHATPAY_BILL_COLUMNS,
  WECHATPAY_BILL_REFUND,
  WECHATPAY_BILL_SUCCESS,
  WECHATPAY_BILL_SUMMARY_COLUMNS,
} from '../../../channels/wechatpay/bill.js';
import type { DayBill } from '../bills.js';

const yuan = (fen: number) => formatMajor(fen, 'CNY');
/** `yyyy-MM-dd HH:mm:ss`, Beijing time. */
const beijing = (at: Date) => new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
const row = (cells: Map<string, string>) =>
  WECHATPAY_BILL_COLUMNS.map((c) => `\`${(cells.get(c) ?? '').replaceAll(',', '，')}`).join(',');

/** A day's `ALL` trade bill as WeChat Pay's download serves it (before gzip). */
export function wechatpayBillFile(bill: DayBill, merchant: { appId: string; mchId: string }): Buffer {
  const rows: string[] = [];
  let settled = 0;
  let refunded = 0;
  for (const trade of bill.trades) {
    const settledAmount = trade.effective ? trade.amount : 0;
    rows.push(
      row(
        new Map([
          ['交易时间', beijing(trade.paidAt)],
          ['公众账号ID', merchant.appId],
          ['商户号', merchant.mchId],
          ['特约商户号', '0'],
          ['微信订单号', trade.channelTradeNo],
          ['商户订单号', trade.outTradeNo],
          ['用户标识', trade.buyerId],
          ['交易类型', 'NATIVE'],
          ['交易状态', trade.effective ? WECHATPAY_BILL_SUCCESS : 'REVOKED'],
          ['付款银行', 'OTHERS'],
          ['货币种类', trade.currency],
          ['应结订单金额', yuan(settledAmount)],
          ['代金券金额', '0.00'],
          ['微信退款单号', '0'],
          ['商户退款单号', '0'],
          ['退款金额', '0.00'],
          ['充值券退款金额', '0.00'],
          ['商品名称', trade.subject],
          ['手续费', '0.00000'],
          ['费率', '0.00%'],
          ['订单金额', yuan(trade.amount)],
          ['申请退款金额', '0.00'],
        ]),
      ),
    );
    settled += settledAmount;
  }
  for (const refund of bill.refunds) {
    rows.push(
      row(
        new Map([
          ['交易时间', beijing(refund.refundedAt)],
          ['公众账号ID', merchant.appId],
          ['商户号', merchant.mchId],
          ['特约商户号', '0'],
          ['微信订单号', refund.channelTradeNo],
          ['商户订单号', refund.outTradeNo],
          ['交易类型', 'NATIVE'],
          ['交易状态', WECHATPAY_BILL_REFUND],
          ['付款银行', 'OTHERS'],
          ['货币种类', refund.currency],
          ['应结订单金额', '0.00'],
          ['代金券金额', '0.00'],
          ['微信退款单号', refund.channelRefundId],
          ['商户退款单号', refund.outRequestNo],
          ['退款金额', yuan(refund.amount)],
          ['充值券退款金额', '0.00'],
          ['退款类型', 'ORIGINAL'],
          ['退款状态', WECHATPAY_BILL_SUCCESS],
          ['商品名称', refund.subject],
          ['手续费', '0.00000'],
          ['费率', '0.00%'],
          ['订单金额', yuan(refund.orderAmount)],
          ['申请退款金额', yuan(refund.amount)],
        ]),
      ),
    );
    refunded += refund.amount;
  }
  const ordered = bill.trades.reduce((sum, t) => sum + t.amount, 0);
  const summary = [rows.length, yuan(settled), yuan(refunded), '0.00', '0.00000', yuan(ordered), yuan(refunded)];
  return Buffer.from(
    [
      WECHATPAY_BILL_COLUMNS.join(','),
      ...rows,
      WECHATPAY_BILL_SUMMARY_COLUMNS.join(','),
      summary.map((s) => `\`${s}`).join(','),
      '',
    ].join('\r\n'),
    'utf8',
  );
}
