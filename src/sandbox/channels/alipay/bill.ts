import { zipSync } from 'fflate';
import iconv from 'iconv-lite';
import { formatMajor } from '../../../../domain/money.js';
import {
  ALIPAY_BILL_DETAIL_COLUMNS,
  ALIPAY_BILL_PAYMENT,
  ALIPAY_BILL_REFUND,
  ALIPAY_BILL_SUMMARY_COLUMNS,
  alipayBillFileName,
} from '../../../channels/alipay/bill.js';
import { formatAlipayTime } from '../../../channels/alipay/protocol.js';
import type { DayBill } from '../bills.js';

const yuan = (fen: number) => (fen < 0 ? `-${formatMajor(-fen, 'CNY')}` : formatMajor(fen, 'CNY'));
/** Alipay's files pad identifiers and names with a tab so spreadsheets keep them as text. */
const text = (value: string) => `${value.replaceAll(',', '，')}\t`;
/** `2026年12月01日 00:00:00`, Beijing time. */
const chineseTime = (at: Date) => {
  const t = formatAlipayTime(at);
  return `${t.slice(0, 4)}年${t.slice(5, 7)}月${t.slice(8, 10)}日 ${t.slice(11)}`;
};

/**
 * The `csv.zip` of a day's trade bill in GBK, as `alipay.data.dataservice.bill.downloadurl.query`'s
 * URL serves it: the detail (one line per paid trade and per refund) and its summary.
 */
export function alipayBillZip(bill: DayBill, account: string, from: Date, to: Date, now = new Date()): Uint8Array {
  const period = `#起始日期：[${chineseTime(from)}]   终止日期：[${chineseTime(to)}]`;
  const rows: string[] = [];
  let paid = 0;
  let refunded = 0;
  let ordered = 0;
  for (const trade of bill.trades) {
    // A revoked trade is not in Alipay's trade bill at all; the sandbox lists only what took effect.
    const cells = new Map<string, string>([
      ['支付宝交易号', text(trade.channelTradeNo)],
      ['商户订单号', text(trade.outTradeNo)],
      ['业务类型', ALIPAY_BILL_PAYMENT],
      ['商品名称', text(trade.subject)],
      ['创建时间', formatAlipayTime(trade.createdAt)],
      ['完成时间', formatAlipayTime(trade.paidAt)],
      ['对方账户', text(trade.buyerId)],
      ['订单金额（元）', yuan(trade.amount)],
      ['商家实收（元）', yuan(trade.amount)],
    ]);
    rows.push(ALIPAY_BILL_DETAIL_COLUMNS.map((c) => cells.get(c) ?? (c.endsWith('（元）') ? '0.00' : '')).join(','));
    paid += trade.amount;
    ordered += trade.amount;
  }
  for (const refund of bill.refunds) {
    const cells = new Map<string, string>([
      ['支付宝交易号', text(refund.channelTradeNo)],
      ['商户订单号', text(refund.outTradeNo)],
      ['业务类型', ALIPAY_BILL_REFUND],
      ['商品名称', text(refund.subject)],
      ['创建时间', formatAlipayTime(refund.refundedAt)],
      ['完成时间', formatAlipayTime(refund.refundedAt)],
      ['订单金额（元）', yuan(refund.orderAmount)],
      ['商家实收（元）', yuan(-refund.amount)],
      ['退款批次号/请求号', text(refund.outRequestNo)],
    ]);
    rows.push(ALIPAY_BILL_DETAIL_COLUMNS.map((c) => cells.get(c) ?? (c.endsWith('（元）') ? '0.00' : '')).join(','));
    refunded += refund.amount;
  }
  const exported = `#导出时间：[${chineseTime(now)}]`;
  const detail = [
    '#支付宝业务明细查询',
    `#账号：[${account}]`,
    period,
    '#-----------------------------------------业务明细列表----------------------------------------',
    ALIPAY_BILL_DETAIL_COLUMNS.join(','),
    ...rows,
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${bill.trades.length}笔，商家实收共${yuan(paid)}元，商家优惠共0.00元，服务费共0.00元，分润共0.00元`,
    `#退款合计：${bill.refunds.length}笔，商家实收共${yuan(-refunded)}元，商家优惠共0.00元，服务费共0.00元，分润共0.00元`,
    exported,
  ].join('\r\n');
  const totals = [bill.trades.length, bill.refunds.length, yuan(ordered), yuan(paid - refunded)];
  const summary = [
    '#支付宝业务汇总查询',
    `#账号：[${account}]`,
    period,
    '#-----------------------------------------业务汇总列表----------------------------------------',
    ALIPAY_BILL_SUMMARY_COLUMNS.join(','),
    [
      '合计',
      '',
      totals[0],
      totals[1],
      totals[2],
      yuan(paid - refunded),
      '0.00',
      '0.00',
      '0.00',
      '0.00',
      '0.00',
      totals[3],
    ].join(','),
    '#-----------------------------------------业务汇总列表结束------------------------------------',
    exported,
  ].join('\r\n');
  return zipSync({
    [alipayBillFileName(account, bill.date, false)]: iconv.encode(detail, 'gbk'),
    [alipayBillFileName(account, bill.date, true)]: iconv.encode(summary, 'gbk'),
  });
}
