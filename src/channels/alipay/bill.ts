import { unzipSync } from 'fflate';
import iconv from 'iconv-lite';
import { parseMajor } from '../../../domain/money.js';
import type { BillLine } from '../../../domain/reconciliation.js';
import { ChannelRejectedError } from '../types.js';
import { parseAlipayTime } from './protocol.js';

/**
 * Alipay's trade bill (`bill_type=trade`): a `csv.zip` whose files are GBK text, a detail file
 * (`<account>_<yyyyMMdd>_业务明细.csv`) and a summary (`..._业务明细(汇总).csv`). Lines starting
 * with `#` are headers and footers; values may carry trailing tabs. Amounts are yuan; a refund's
 * 商家实收 is negative. The domestic bill has no currency column: every line is CNY.
 *
 * Cross-border trades (跨境收单, priced in a foreign `trans_currency`) are not in this bill: Alipay
 * lists them in its separate cross-border settlement file, which this product does not read yet.
 * A reconciliation run of this bill leaves cross-border payments out (the adapter's `billCarries`):
 * they are not reconciled until the settlement file is read.
 */
export const ALIPAY_BILL_DETAIL_COLUMNS = [
  '支付宝交易号',
  '商户订单号',
  '业务类型',
  '商品名称',
  '创建时间',
  '完成时间',
  '门店编号',
  '门店名称',
  '操作员',
  '终端号',
  '对方账户',
  '订单金额（元）',
  '商家实收（元）',
  '支付宝红包（元）',
  '集分宝（元）',
  '支付宝优惠（元）',
  '商家优惠（元）',
  '券核销金额（元）',
  '券名称',
  '商家红包消费金额（元）',
  '卡消费金额（元）',
  '退款批次号/请求号',
  '服务费（元）',
  '分润（元）',
  '备注',
] as const;

export const ALIPAY_BILL_SUMMARY_COLUMNS = [
  '门店编号',
  '门店名称',
  '交易订单总笔数',
  '退款订单总笔数',
  '订单金额（元）',
  '商家实收（元）',
  '支付宝优惠（元）',
  '商家优惠（元）',
  '卡消费金额（元）',
  '服务费（元）',
  '分润（元）',
  '实收净额（元）',
] as const;

export const ALIPAY_BILL_PAYMENT = '交易';
export const ALIPAY_BILL_REFUND = '退款';

/** The detail file's name in the zip. */
export function alipayBillFileName(account: string, date: string, summary: boolean): string {
  return `${account}_${date.replaceAll('-', '')}_业务明细${summary ? '(汇总)' : ''}.csv`;
}

function malformed(what: string): ChannelRejectedError {
  return new ChannelRejectedError(`Alipay's bill is malformed: ${what}`, 'malformed_bill');
}

/** Signed yuan (`-10.00`) to fen. */
function fenOf(text: string, what: string): number {
  const negative = text.startsWith('-');
  const fen = parseMajor(negative ? text.slice(1) : text, 'CNY');
  if (fen === undefined) throw malformed(`${what} ${JSON.stringify(text)} is not an amount`);
  return negative ? -fen : fen;
}

/** The rows of a bill file between its `#` headers and footers, as objects by column name. */
function rowsOf(text: string, columns: readonly string[], file: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const [header, ...rows] = lines;
  const names = header?.split(',').map((c) => c.trim());
  if (names === undefined || columns.some((c) => !names.includes(c))) throw malformed(`${file} lacks its columns`);
  return rows.map((row) => {
    const cells = row.split(',').map((c) => c.trim());
    if (cells.length !== names.length)
      throw malformed(`a row of ${file} has ${cells.length} fields, not ${names.length}`);
    return Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']));
  });
}

/**
 * Reads the zip Alipay's bill URL serves into bill lines, after checking the detail against the
 * summary (line counts and the net the merchant received). Throws `ChannelRejectedError`
 * (`malformed_bill`) on anything it cannot account for.
 */
export function parseAlipayBill(zip: Uint8Array): BillLine[] {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch {
    throw malformed('not a zip file');
  }
  const names = Object.keys(files);
  const detailName = names.find((n) => n.endsWith('_业务明细.csv'));
  const summaryName = names.find((n) => n.endsWith('_业务明细(汇总).csv'));
  if (detailName === undefined || summaryName === undefined) throw malformed('the detail or summary file is missing');
  const decode = (name: string) => iconv.decode(Buffer.from(files[name] ?? new Uint8Array()), 'gbk');

  const lines: BillLine[] = [];
  let net = 0;
  for (const row of rowsOf(decode(detailName), ALIPAY_BILL_DETAIL_COLUMNS, detailName)) {
    const kind = row['业务类型'];
    if (kind !== ALIPAY_BILL_PAYMENT && kind !== ALIPAY_BILL_REFUND) continue;
    const received = fenOf(row['商家实收（元）'] ?? '', '商家实收');
    net += received;
    const at = parseAlipayTime(row['完成时间'] ?? '');
    if (at === undefined) throw malformed(`完成时间 ${JSON.stringify(row['完成时间'])} is not a time`);
    const refund = kind === ALIPAY_BILL_REFUND;
    lines.push({
      kind: refund ? 'refund' : 'payment',
      paymentId: row['商户订单号'] ?? '',
      refundNo: refund ? row['退款批次号/请求号'] || null : null,
      channelTradeNo: row['支付宝交易号'] || null,
      amount: Math.abs(received),
      currency: 'CNY',
      status: kind,
      succeeded: true,
      at: at.toISOString(),
    });
  }
  const [summary] = rowsOf(decode(summaryName), ALIPAY_BILL_SUMMARY_COLUMNS, summaryName).filter(
    (r) => r['门店编号'] === '合计',
  );
  if (summary === undefined) throw malformed('the summary has no 合计 row');
  const payments = lines.filter((l) => l.kind === 'payment').length;
  if (
    Number(summary['交易订单总笔数']) !== payments ||
    Number(summary['退款订单总笔数']) !== lines.length - payments ||
    fenOf(summary['实收净额（元）'] ?? '', '实收净额') !== net
  ) {
    throw malformed('the detail does not add up to the summary');
  }
  return lines;
}
