import { deflateSync } from 'node:zlib';
import { zipSync } from 'fflate';
import {
  UNIONPAY_BILL_CONSUME,
  UNIONPAY_BILL_FIELDS,
  UNIONPAY_BILL_REFUND,
  UNIONPAY_CURRENCY_OF_CODE,
  unionpayBillFileNames,
  type UnionpayBillField,
} from '../../../channels/unionpay/bill.js';
import { formatUnionpayTime, UNIONPAY_CNY } from '../../../channels/unionpay/protocol.js';
import type { DayBill } from '../bills.js';

const CODE_OF_CURRENCY = Object.fromEntries(Object.entries(UNIONPAY_CURRENCY_OF_CODE).map(([code, c]) => [c, code]));

function record(values: Partial<Record<UnionpayBillField, string>>): string {
  return UNIONPAY_BILL_FIELDS.map(([name, width]) => {
    const value = (values[name] ?? '').slice(0, width);
    return name === '交易金额' ? value.padStart(width, '0') : value.padEnd(width, ' ');
  }).join(' ');
}

/**
 * A day's bill as UnionPay's file transfer answers it: `fileContent`, the base64 of the deflated
 * zip of the day's ZM (succeeded) and ZME (in error) files.
 */
export function unionpayBillFileContent(bill: DayBill, merId: string): { fileName: string; fileContent: string } {
  const ok: string[] = [];
  const errors: string[] = [];
  for (const trade of bill.trades) {
    (trade.effective ? ok : errors).push(
      record({
        交易代码: UNIONPAY_BILL_CONSUME,
        系统跟踪号: trade.channelTradeNo.slice(-6),
        交易传输时间: formatUnionpayTime(trade.paidAt).slice(4),
        帐号: '6216********0018',
        交易金额: String(trade.amount),
        交易币种: CODE_OF_CURRENCY[trade.currency] ?? UNIONPAY_CNY,
        查询流水号: trade.channelTradeNo,
        商户订单号: trade.outTradeNo,
        交易类型: '01',
        交易子类: '01',
        业务类型: '000201',
        商户代码: merId,
        应答码: trade.effective ? '00' : '96',
      }),
    );
  }
  for (const refund of bill.refunds) {
    ok.push(
      record({
        交易代码: UNIONPAY_BILL_REFUND,
        系统跟踪号: refund.channelRefundId.slice(-6),
        交易传输时间: formatUnionpayTime(refund.refundedAt).slice(4),
        帐号: '6216********0018',
        交易金额: String(refund.amount),
        交易币种: CODE_OF_CURRENCY[refund.currency] ?? UNIONPAY_CNY,
        查询流水号: refund.channelRefundId,
        商户订单号: refund.outRequestNo,
        交易类型: '04',
        交易子类: '00',
        业务类型: '000201',
        原交易查询流水号: refund.channelTradeNo,
        商户代码: merId,
        原始订单号: refund.outTradeNo,
        应答码: '00',
      }),
    );
  }
  const names = unionpayBillFileNames(bill.date, merId);
  const zip = zipSync({
    [names.ok]: Buffer.from(ok.map((l) => `${l}\r\n`).join(''), 'utf8'),
    [names.errors]: Buffer.from(errors.map((l) => `${l}\r\n`).join(''), 'utf8'),
  });
  return {
    fileName: `${bill.date.replaceAll('-', '').slice(2)}_${merId}.zip`,
    fileContent: deflateSync(zip).toString('base64'),
  };
}
